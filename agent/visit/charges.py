"""Capturing the parts used on a ticket (`TicketCharges`) the way time entries are captured: a
charge added, changed or deleted in one local transaction with its overlay, its outbox
operation and its audit event; a change of one still waiting to be created folds into it.

A part is a cached product (its name and unit price are the product's unless given) or a name
typed freely. The charge type and status are the tenant's defaults, read with the charge
picklists: a charge cannot be captured before those were downloaded once.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agent.api.validation import EditRejected, Problem
from agent.queue.operation import NewOperation, entity_key
from agent.store.models import OpKind, Priority
from agent.sync import localview
from agent.sync.capture import Capture, Captured
from agent.sync.context_pull import CHARGE_DEFAULTS, CHARGES, DEFAULTED
from agent.sync.merge import same
from agent.visit import context

NAME_MAX = 100  # TicketCharges.name, as the API limits it
QUANTITY_MAX = 1_000_000.0
PRICE_MAX = 1_000_000_000.0
EDITABLE = ("productID", "name", "unitQuantity", "unitPrice", "isBillableToCompany")


def _problem(field: str, message: str) -> EditRejected:
    return EditRejected([Problem(field, message)])


def _amount(field: str, value: Any, *, low: float, high: float, above: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _problem(field, f"must be a number (got {value!r})")
    if (value <= low if above else value < low) or value > high:
        least = f"more than {low:g}" if above else f"at least {low:g}"
        raise _problem(field, f"must be {least} and at most {high:,.0f} (got {value:g})")
    return float(value)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _problem("name", "a part needs a name (or a product)")
    name = " ".join(value.split())
    if len(name) > NAME_MAX:
        raise _problem("name", f"at most {NAME_MAX} characters (got {len(name)})")
    return name


def _product(product_id: Any) -> dict[str, Any]:
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        raise _problem("productID", f"a product is its id (got {product_id!r})")
    found = context.product(product_id)
    if found is None or found.get("isActive") is False:
        raise _problem("productID", f"product {product_id} is not in the product list")
    return found


def checked(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The charge fields of `changes`, each checked; a product brings its name and price
    where they are not given."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise _problem(unknown[0], "is not a field of a part that can be changed here")
    out: dict[str, Any] = {}
    if changes.get("productID") is not None:
        made = _product(changes["productID"])
        out["productID"] = int(changes["productID"])
        out["name"] = _name(changes.get("name") or made.get("name"))
        price = changes.get("unitPrice", made.get("unitPrice"))
        if price is not None:
            out["unitPrice"] = price
        if isinstance(made.get("unitCost"), int | float):
            out["unitCost"] = float(made["unitCost"])
    elif "name" in changes:
        out["name"] = _name(changes["name"])
    if "unitQuantity" in changes:
        out["unitQuantity"] = _amount(
            "unitQuantity", changes["unitQuantity"], low=0.0, high=QUANTITY_MAX, above=True
        )
    if changes.get("unitPrice") is not None or "unitPrice" in out:
        out["unitPrice"] = _amount(
            "unitPrice",
            out.get("unitPrice", changes.get("unitPrice")),
            low=0.0,
            high=PRICE_MAX,
            above=False,
        )
    if "isBillableToCompany" in changes:
        billable = changes["isBillableToCompany"]
        if not isinstance(billable, bool):
            raise _problem("isBillableToCompany", "is yes or no")
        out["isBillableToCompany"] = billable
    return out


class ChargeCapture(Capture):
    def _ticket(self, ticket_id: int) -> None:
        ticket = localview.view("Tickets", str(ticket_id))
        if ticket is None or not ticket.server:
            raise _problem("ticket", f"ticket {ticket_id} is not in your list")
        if ticket.deleted_on_server:
            raise _problem("ticket", f"ticket {ticket_id} was deleted in Autotask")

    def _defaults(self) -> dict[str, int]:
        stored = localview.cached(CHARGE_DEFAULTS, 0) or {}
        lists = localview.picklists(CHARGES)
        out = {}
        for name in DEFAULTED:
            value = stored.get(name)
            if not isinstance(value, int) or value not in lists.get(name, {}):
                raise _problem(
                    name, "the charge lists have not been downloaded yet: sync once online"
                )
            out[name] = value
        return out

    def add_charge(
        self,
        ticket_id: int,
        *,
        quantity: float,
        product_id: int | None = None,
        name: str | None = None,
        unit_price: float | None = None,
        billable: bool = True,
    ) -> Captured:
        """A part used on the ticket: a product from the list, or a name typed freely."""
        given: dict[str, Any] = {"unitQuantity": quantity, "isBillableToCompany": billable}
        if product_id is not None:
            given["productID"] = product_id
        if name is not None:
            given["name"] = name
        if unit_price is not None:
            given["unitPrice"] = unit_price

        def run() -> Captured:
            self._ticket(ticket_id)
            fields = checked(given)
            if "name" not in fields:
                raise _problem("name", "a part needs a name (or a product)")
            fields = {
                "ticketID": ticket_id,
                **fields,
                **self._defaults(),
                "datePurchased": charge_time(self.clock.now()),
            }
            temp = uuid.uuid4().hex
            new = NewOperation(
                OpKind.CREATE,
                CHARGES,
                fields=fields,
                temp_id=temp,
                parent_id=ticket_id,
                priority=Priority.NORMAL,
            )
            return self._queue(
                new,
                entity_key(None, temp),
                fields,
                "edit_captured",
                {"kind": "create", "fields": fields},
            )

        return self.store.write(run, durable=True)

    def _target(self, key: str) -> tuple[int | None, str | None, dict[str, Any], dict[str, Any]]:
        current = localview.view(CHARGES, key) if key else None
        if current is None or current.deleted_locally:
            raise _problem("charge", f"part {key} is not on any ticket of yours")
        if current.deleted_on_server:
            raise _problem("charge", f"part {key} was deleted in Autotask")
        if key.startswith("~"):
            return None, key[1:], current.values, current.server
        return int(key), None, current.values, current.server

    def update_charge(self, key: str, changes: Mapping[str, Any]) -> Captured:
        def run() -> Captured:
            target_id, temp_id, values, server = self._target(key)
            fields = checked(changes)
            effective = {f: v for f, v in fields.items() if not same(v, values.get(f))}
            if not effective:
                return Captured(None, key, unchanged=True)
            target = (target_id, temp_id, values.get("ticketID"))
            return self._queue_update(CHARGES, key, target, effective, server)

        return self.store.write(run, durable=True)

    def delete_charge(self, key: str) -> Captured:
        def run() -> Captured:
            target_id, temp_id, values, _ = self._target(key)
            target = (target_id, temp_id, values.get("ticketID"))
            return self._queue_delete(CHARGES, key, target, values)

        return self.store.write(run, durable=True)


def charge_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
