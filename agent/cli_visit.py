"""`autotask-agent today`, `ticket checklist TICKET`, `edit checklist TICKET ITEM --done|--undone`
and `edit servicecall ID --complete|--incomplete`: the technician's schedule and a visit's
changes on the command line.

`today` reads the cache (it works offline; `sync` refreshes it). The edits are captured like
every other edit: pending at once, sent by the next sync, merged with the dispatcher's changes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.cli_args import count, record_id

if TYPE_CHECKING:
    from agent.api.facade import Agent
    from agent.api.types import EditResult
    from agent.visit.schedule import ChecklistLine, VisitEntry

MAX_DAYS = 14


def add_parsers(sub: Any) -> None:
    today = sub.add_parser("today", help="your service calls and appointments (from the cache)")
    today.add_argument(
        "--days", type=count, default=1, help=f"today and the next days (1 to {MAX_DAYS})"
    )
    today.add_argument("--json", action="store_true")


def add_edit_parsers(esub: Any) -> None:
    check = esub.add_parser("checklist", help="tick or untick a ticket's checklist item")
    check.add_argument("ticket_id", type=record_id)
    check.add_argument("item_id", type=record_id)
    how = check.add_mutually_exclusive_group(required=True)
    how.add_argument("--done", action="store_true", help="mark the item done")
    how.add_argument("--undone", action="store_true", help="mark the item not done")
    call = esub.add_parser("servicecall", help="mark a service call complete")
    call.add_argument("call_id", type=record_id)
    state = call.add_mutually_exclusive_group(required=True)
    state.add_argument("--complete", action="store_true")
    state.add_argument("--incomplete", action="store_true")


def _local(instant: float | None) -> str:
    if instant is None:
        return "?"
    return datetime.fromtimestamp(instant).astimezone().strftime("%a %d %b %H:%M")


def _line(e: VisitEntry) -> str:
    until = datetime.fromtimestamp(e.ends_at).astimezone().strftime("%H:%M") if e.ends_at else "?"
    head = f"{_local(e.starts_at)}-{until}  "
    if e.kind == "appointment":
        return head + f"appointment #{e.id}: {e.title}"
    state = "complete" if e.complete else "open"
    if e.pending:
        state += ", waiting to be sent"
    if e.conflict_id is not None:
        state += f", conflict #{e.conflict_id}"
    where = " · ".join(x for x in (e.company, e.location) if x)
    tickets = ", ".join(f"{t.number or t.id} (id {t.id})" for t in e.tickets)
    return (
        head
        + f"service call #{e.id} [{state}] {where}: {e.title}"
        + (f"\n    tickets: {tickets}" if tickets else "")
    )


def cmd_today(args: argparse.Namespace) -> int:
    from agent.api.validation import EditRejected, Problem
    from agent.cli_agent import print_items, run_agent

    if not 1 <= args.days <= MAX_DAYS:
        raise EditRejected([Problem("days", f"must be between 1 and {MAX_DAYS}")])
    empty = "nothing scheduled" + (" today" if args.days == 1 else "")

    async def body(agent: Agent) -> int:
        entries = await agent.today(days=args.days)
        return print_items(entries, _line, empty, as_json=args.json)

    return run_agent(args, body)


def _item(line: ChecklistLine) -> str:
    mark = "[x]" if line.done else "[ ]"
    notes = []
    if line.important:
        notes.append("important")
    if line.done and line.completed_by:
        notes.append(f"done by {line.completed_by}")
    if line.pending:
        notes.append("waiting to be sent")
    if line.conflict_id is not None:
        notes.append(f"conflict #{line.conflict_id}")
    tail = f" ({', '.join(notes)})" if notes else ""
    return f"{mark} #{line.id} {line.name}{tail}"


def cmd_checklist(args: argparse.Namespace) -> int:
    from agent.cli_agent import print_items, run_agent

    async def body(agent: Agent) -> int:
        lines = await agent.checklist(args.ticket_id)
        return print_items(lines, _item, "no checklist on this ticket", as_json=args.json)

    return run_agent(args, body)


def _report(result: EditResult) -> int:
    if result.unchanged:
        print("nothing changed")
    else:
        print(f"queued as operation #{result.op_id} ({result.key})")
    return 0


def cmd_edit_visit(args: argparse.Namespace) -> int:
    from agent.cli_agent import run_agent

    async def body(agent: Agent) -> int:
        if args.edit_command == "checklist":
            return _report(
                await agent.set_checklist_item(args.ticket_id, args.item_id, bool(args.done))
            )
        return _report(await agent.complete_service_call(args.call_id, bool(args.complete)))

    return run_agent(args, body)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {"today": cmd_today}
EDITS = frozenset({"checklist", "servicecall"})
