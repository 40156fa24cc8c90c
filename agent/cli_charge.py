"""`autotask-agent edit charge ...` (parts used on a ticket) and `autotask-agent ticket context
TICKET` (the company's contacts and devices), on the command line (`ticket files` is
`agent.cli_attach`'s, `ticket checklist` `agent.cli_visit`'s).

`edit charge TICKET --product ID | --name TEXT --quantity N [--unit-price X]
[--billable | --no-billable]` adds a part; `edit charge --edit KEY ...` changes one and
`edit charge --delete KEY` deletes one (KEY: its id, or `~` and the temporary id of one not sent
yet). `ticket context` and `ticket charges` read the cache, so they work offline.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from typing import TYPE_CHECKING, Any

from agent.cli_args import record_id, text, text_for, time_entry_key

if TYPE_CHECKING:
    from agent.api.facade import Agent
    from agent.visit.context import ChargeLine, TicketContext


def amount(value: str) -> float:
    """A quantity or a price, written plainly (`2`, `1.5`)."""
    if not re.fullmatch(r"\s*-?[0-9]*\.?[0-9]+\s*", value) or not math.isfinite(float(value)):
        raise argparse.ArgumentTypeError(f"give a number like 2 or 1.5 (got {text_for(value)})")
    return float(value)


def charge_key(value: str) -> str:
    try:
        return time_entry_key(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"a part is its id (a number) or ~ and its temporary id (got {text_for(value)})"
        ) from None


def add_edit_parser(esub: Any) -> None:
    charge = esub.add_parser("charge", help="add, change or delete a part used on a ticket")
    charge.add_argument("ticket_id", type=record_id, nargs="?", help="the ticket (to add a part)")
    which = charge.add_mutually_exclusive_group()
    which.add_argument("--edit", type=charge_key, metavar="KEY", help="change this part")
    which.add_argument("--delete", type=charge_key, metavar="KEY", help="delete this part")
    what = charge.add_mutually_exclusive_group()
    what.add_argument("--product", type=record_id, help="a product of the product list")
    what.add_argument("--name", type=text, help="a part named freely")
    charge.add_argument("--quantity", type=amount)
    charge.add_argument("--unit-price", type=amount, dest="unit_price")
    charge.add_argument(
        "--billable", action=argparse.BooleanOptionalAction, default=None, help="(default: yes)"
    )


def add_parsers(sub: Any) -> None:
    ticket = sub.add_parser("ticket", help="what the cache holds about one ticket")
    tsub = ticket.add_subparsers(dest="ticket_command", required=True)
    for name, why in (
        ("context", "the company's contacts (phone, e-mail) and devices"),
        ("charges", "the parts used on the ticket"),
        ("files", "the files attached on this computer and how far each upload is"),
        ("checklist", "the ticket's checklist items, done or not"),
    ):
        p = tsub.add_parser(name, help=why)
        p.add_argument("ticket_id", type=record_id)
        p.add_argument("--json", action="store_true")


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.product is not None:
        out["productID"] = args.product
    if args.name is not None:
        out["name"] = args.name
    if args.quantity is not None:
        out["unitQuantity"] = args.quantity
    if args.unit_price is not None:
        out["unitPrice"] = args.unit_price
    if args.billable is not None:
        out["isBillableToCompany"] = args.billable
    return out


def _usage(message: str) -> Exception:
    from agent.api.validation import EditRejected, Problem

    return EditRejected([Problem("charge", message)])


def cmd_edit_charge(args: argparse.Namespace) -> int:
    from agent.cli_agent import run_agent

    key = args.edit or args.delete
    if key is not None and args.ticket_id is not None:
        raise _usage("give a ticket to add a part, or --edit/--delete KEY, not both")
    if args.delete is not None and _changes(args):
        raise _usage("--delete takes no other option")
    if key is None and args.ticket_id is None:
        raise _usage("give the ticket to add a part to, or --edit/--delete KEY")
    if args.edit is not None and not _changes(args):
        raise _usage("say what to change (--product, --name, --quantity, ...)")
    if key is None and args.quantity is None:
        raise _usage("--quantity is needed to add a part")
    if key is None and args.product is None and args.name is None:
        raise _usage("--product or --name is needed to add a part")

    async def body(agent: Agent) -> int:
        if args.delete is not None:
            result = await agent.delete_charge(args.delete)
        elif args.edit is not None:
            result = await agent.update_charge(args.edit, **_changes(args))
        else:
            result = await agent.add_charge(
                args.ticket_id,
                quantity=args.quantity,
                product_id=args.product,
                name=args.name,
                unit_price=args.unit_price,
                billable=True if args.billable is None else args.billable,
            )
        if result.unchanged:
            print("nothing changed")
        else:
            print(f"queued as operation #{result.op_id} ({result.key})")
        return 0

    return run_agent(args, body)


def _charge_line(c: ChargeLine) -> str:
    price = "?" if c.unit_price is None else f"{c.unit_price:.2f}"
    state = []
    if c.deleted:
        state.append("deletion waiting to be sent")
    elif c.pending:
        state.append("waiting to be sent")
    state += [f"conflict #{i} on {f}" for f, i in sorted(c.conflicts.items())]
    billable = "billable" if c.billable else "not billable"
    tail = f" [{', '.join(state)}]" if state else ""
    return f"{c.key}  {c.quantity:g} x {c.name} at {price} ({billable}){tail}"


def _context_lines(ctx: TicketContext) -> list[str]:
    lines = [ctx.company or "no company", *(x for x in (ctx.address, ctx.phone) if x)]
    lines.append(f"contacts ({len(ctx.contacts)}):")
    for c in ctx.contacts:
        reach = " · ".join(x for x in (c.phone, c.mobile, c.email) if x) or "no phone or e-mail"
        mark = " (the ticket's contact)" if c.ticket_contact else ""
        lines.append(f"  {c.name}{mark}{', ' + c.title if c.title else ''}: {reach}")
    lines.append(f"devices ({len(ctx.devices)}):")
    for d in ctx.devices:
        about = " · ".join(
            x for x in (f"serial {d.serial}" if d.serial else "", d.location, d.product) if x
        )
        lines.append(f"  {d.name}: {about}")
    return lines


def cmd_ticket(args: argparse.Namespace) -> int:
    from agent.api.validation import EditRejected, Problem
    from agent.cli_agent import _jsonable, print_items, run_agent

    if args.ticket_command == "files":
        from agent.cli_attach import cmd_files

        return cmd_files(args)
    if args.ticket_command == "checklist":
        from agent.cli_visit import cmd_checklist

        return cmd_checklist(args)

    async def body(agent: Agent) -> int:
        if args.ticket_command == "charges":
            charges = await agent.charges(args.ticket_id)
            return print_items(charges, _charge_line, "no parts used", as_json=args.json)
        ctx = await agent.ticket_context(args.ticket_id)
        if ctx is None:
            raise EditRejected([Problem("ticket", f"ticket {args.ticket_id} is not in your list")])
        if args.json:
            print(json.dumps(_jsonable(ctx), indent=2))
        else:
            print("\n".join(_context_lines(ctx)))
        return 0

    return run_agent(args, body)
