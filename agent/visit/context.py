"""What the window and the command line show of a ticket's visit beside its fields: the parts used
(charges, each with its pending state), the product list parts are picked from, and the ticket's
company with all its contacts and devices. Read from the cache, so it works offline.

Every function runs inside a store read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.security.errors import SealedPayloadError
from agent.store.models import CachedEntity, OverlayValue, VisitIndex
from agent.sync import localview
from agent.sync.context_pull import CHARGES, CONTACTS, DEVICES, PRODUCTS


@dataclass(frozen=True)
class ChargeLine:
    """One part used on a ticket. `key` is its Autotask id, or `~` and a temporary id while
    it waits to be created."""

    key: str
    ticket_id: int
    name: str
    product_id: int | None
    quantity: float
    unit_price: float | None
    billable: bool
    pending: bool = False
    deleted: bool = False  # its deletion waits to be sent
    pending_fields: tuple[str, ...] = ()
    conflicts: dict[str, int] = field(default_factory=dict)  # field -> conflict id

    @property
    def amount(self) -> float | None:
        return None if self.unit_price is None else round(self.quantity * self.unit_price, 2)


@dataclass(frozen=True)
class ProductInfo:
    id: int
    name: str
    sku: str
    unit_price: float | None


@dataclass(frozen=True)
class ContactInfo:
    id: int
    name: str
    title: str
    phone: str
    mobile: str
    email: str
    active: bool
    ticket_contact: bool  # the contact named on the ticket


@dataclass(frozen=True)
class DeviceInfo:
    id: int
    name: str
    serial: str
    location: str
    product: str


@dataclass(frozen=True)
class TicketContext:
    ticket_id: int
    company_id: int | None
    company: str
    phone: str
    address: str
    contacts: tuple[ContactInfo, ...] = ()
    devices: tuple[DeviceInfo, ...] = ()


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def charges(ticket_id: int) -> list[ChargeLine]:
    """The ticket's charges: the server's with pending changes on top, then those waiting to
    be created, in the order they were made."""
    keys: list[str] = []
    for row in CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where(CachedEntity.entity_type == CHARGES):
        try:
            if row.data.get("ticketID") == ticket_id:
                keys.append(str(row.entity_id))
        except SealedPayloadError:
            continue
    for o in OverlayValue.select(OverlayValue.entity_key).where(
        (OverlayValue.entity_type == CHARGES)
        & (OverlayValue.field == "ticketID")
        & OverlayValue.entity_key.startswith("~")
    ):
        keys.append(o.entity_key)
    lines = []
    for key in dict.fromkeys(keys):
        try:
            v = localview.view(CHARGES, key)
        except SealedPayloadError:
            continue
        if v is None or v.values.get("ticketID") != ticket_id:
            continue
        d = v.values
        product = d.get("productID")
        lines.append(
            ChargeLine(
                key=key,
                ticket_id=ticket_id,
                name=str(d.get("name") or ""),
                product_id=product if isinstance(product, int) else None,
                quantity=_number(d.get("unitQuantity")) or 0.0,
                unit_price=_number(d.get("unitPrice")),
                billable=d.get("isBillableToCompany") is not False,
                pending=bool(v.pending) or v.deleted_locally,
                deleted=v.deleted_locally,
                pending_fields=tuple(sorted(v.pending)),
                conflicts=dict(v.conflicts),
            )
        )
    # Server ids in order, then the ones not created yet (their temporary ids carry no order).
    return sorted(lines, key=lambda c: (c.key.startswith("~"), _order(c.key)))


def _order(key: str) -> int:
    return int(key) if key.isdigit() else 0


def products() -> list[ProductInfo]:
    """The cached active products, by name."""
    out = []
    for row in CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where(CachedEntity.entity_type == PRODUCTS):
        try:
            d = row.data
        except SealedPayloadError:
            continue
        if d.get("isActive") is False:
            continue
        out.append(
            ProductInfo(
                int(row.entity_id),
                str(d.get("name") or f"product #{row.entity_id}"),
                str(d.get("sku") or ""),
                _number(d.get("unitPrice")),
            )
        )
    return sorted(out, key=lambda p: (p.name.casefold(), p.id))


def product(product_id: int) -> dict[str, Any] | None:
    try:
        return localview.cached(PRODUCTS, product_id)
    except SealedPayloadError:
        return None


def _children(entity: str, company_id: int) -> list[tuple[int, dict[str, Any]]]:
    ids = [
        int(r.entity_id)
        for r in VisitIndex.select(VisitIndex.entity_id).where(
            (VisitIndex.entity_type == entity) & (VisitIndex.parent_id == company_id)
        )
    ]
    out = []
    for entity_id in ids:
        try:
            record = localview.cached(entity, entity_id)
        except SealedPayloadError:
            continue
        if record is not None:
            out.append((entity_id, record))
    return out


def _text(*parts: Any, sep: str = " ") -> str:
    return sep.join(str(p) for p in parts if p not in (None, ""))


def ticket_context(ticket_id: int) -> TicketContext | None:
    """The ticket's company with its contacts (the ticket's own first) and its devices."""
    ticket = localview.view("Tickets", str(ticket_id))
    if ticket is None:
        return None
    company_id = ticket.values.get("companyID")
    contact_id = ticket.values.get("contactID")
    if not isinstance(company_id, int) or isinstance(company_id, bool):
        return TicketContext(ticket_id, None, "", "", "")
    company = localview.cached("Companies", company_id) or {}
    contacts = [
        ContactInfo(
            id=i,
            name=_text(c.get("firstName"), c.get("lastName")) or f"contact #{i}",
            title=str(c.get("title") or ""),
            phone=_text(c.get("phone"), f"ext. {c['extension']}" if c.get("extension") else ""),
            mobile=str(c.get("mobilePhone") or ""),
            email=str(c.get("emailAddress") or ""),
            active=c.get("isActive") not in (False, 0),
            ticket_contact=i == contact_id,
        )
        for i, c in _children(CONTACTS, company_id)
    ]
    if isinstance(contact_id, int) and all(c.id != contact_id for c in contacts):
        own = localview.cached(CONTACTS, contact_id)  # cached by the ticket pull alone
        if own is not None:
            contacts.append(
                ContactInfo(
                    contact_id,
                    _text(own.get("firstName"), own.get("lastName")),
                    str(own.get("title") or ""),
                    str(own.get("phone") or ""),
                    str(own.get("mobilePhone") or ""),
                    str(own.get("emailAddress") or ""),
                    own.get("isActive") not in (False, 0),
                    True,
                )
            )
    contacts.sort(key=lambda c: (not c.ticket_contact, not c.active, c.name.casefold(), c.id))
    devices = []
    for i, d in _children(DEVICES, company_id):
        if d.get("isActive") is False:
            continue
        made = product(d["productID"]) if isinstance(d.get("productID"), int) else None
        devices.append(
            DeviceInfo(
                id=i,
                name=str(d.get("referenceTitle") or f"device #{i}"),
                serial=str(d.get("serialNumber") or ""),
                location=str(d.get("location") or ""),
                product=str((made or {}).get("name") or ""),
            )
        )
    devices.sort(key=lambda d: (d.name.casefold(), d.id))
    return TicketContext(
        ticket_id=ticket_id,
        company_id=company_id,
        company=str(company.get("companyName") or f"company #{company_id}"),
        phone=str(company.get("phone") or ""),
        address=_text(company.get("address1"), company.get("city"), sep=", "),
        contacts=tuple(contacts),
        devices=tuple(devices),
    )
