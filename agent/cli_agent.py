"""Script subcommands that work through the agent facade: sync, queue, conflicts, audit, edit,
diagnostics. Each opens the profile, does one thing, prints text or JSON, and closes."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agent import cli_attach, cli_charge, cli_timer, cli_visit
from agent.cli_args import (
    count,
    day,
    hours,
    json_or_text,
    list_value,
    moment,
    path,
    record_id,
    text,
    time_entry_key,
)
from agent.store.models import OpState

if TYPE_CHECKING:  # imported when a command runs: `--help` and the window need none of it
    from agent.api.facade import Agent
    from agent.sync.engine import SyncReport


T = TypeVar("T")


def add_parsers(sub: Any) -> None:
    sync = sub.add_parser("sync", help="run one sync round now and report")
    sync.add_argument("--json", action="store_true")

    queue = sub.add_parser("queue", help="the outbox")
    qsub = queue.add_subparsers(dest="queue_command", required=True)
    qlist = qsub.add_parser("list", help="list operations")
    qlist.add_argument("--state", choices=[s.value for s in OpState])
    qlist.add_argument("--limit", type=count, default=50)
    qlist.add_argument("--json", action="store_true")
    for verb in ("retry", "discard"):
        p = qsub.add_parser(verb, help=f"{verb} one operation")
        p.add_argument("op_id", type=record_id)

    conflicts = sub.add_parser("conflicts", help="list or resolve conflicts")
    csub = conflicts.add_subparsers(dest="conflicts_command", required=True)
    clist = csub.add_parser("list", help="open conflicts with base, mine and theirs")
    clist.add_argument("--json", action="store_true")
    resolve = csub.add_parser("resolve", help="resolve one conflict or all of them")
    resolve.add_argument("conflict_id", type=record_id, nargs="?")
    how = resolve.add_mutually_exclusive_group(required=True)
    how.add_argument("--mine", action="store_true", help="keep my value")
    how.add_argument("--theirs", action="store_true", help="keep the server's value")
    how.add_argument("--value", type=json_or_text, help="use this value (JSON or text)")
    resolve.add_argument("--all", action="store_true", help="apply --mine/--theirs to all")

    audit = sub.add_parser("audit", help="verify or export the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    asub.add_parser("verify", help="check the hash chain")
    export = asub.add_parser("export", help="write the trail to a file")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", type=path, required=True)

    edit = sub.add_parser("edit", help="capture a change (queued; sent by the next sync)")
    esub = edit.add_subparsers(dest="edit_command", required=True)
    ticket = esub.add_parser("ticket", help="change ticket fields")
    ticket.add_argument("ticket_id", type=record_id)
    for name, kind in (
        ("status", list_value),
        ("priority", list_value),
        ("title", text),
        ("description", text),
        ("due", moment),
        ("queue", list_value),
    ):
        ticket.add_argument(f"--{name}", type=kind)
    ticket.add_argument("--assign", nargs=2, type=record_id, metavar=("RESOURCE", "ROLE"))
    note = esub.add_parser("note", help="add a note to a ticket")
    note.add_argument("ticket_id", type=record_id)
    note.add_argument("--text", type=text, required=True)
    note.add_argument("--title", type=text)
    note.add_argument("--type", type=list_value, required=True, dest="note_type")
    note.add_argument("--publish", type=list_value, required=True)
    time = esub.add_parser("time", help="log time on a ticket")
    time.add_argument("ticket_id", type=record_id)
    time.add_argument("--date", type=day, required=True, help="date worked, e.g. 2026-01-05")
    time.add_argument("--hours", type=hours, help="hours worked, e.g. 1.5")
    time.add_argument("--start", type=moment, help="e.g. 2026-01-05T09:00:00Z")
    time.add_argument("--end", type=moment, help="e.g. 2026-01-05T10:30:00Z")
    time.add_argument("--summary", type=text, required=True)
    time.add_argument("--role", type=record_id, required=True)
    tdel = esub.add_parser("time-delete", help="delete a time entry")
    tdel.add_argument("key", type=time_entry_key, help="its id, or ~ and a temporary id")
    cli_timer.add_parser(esub)
    cli_visit.add_edit_parsers(esub)
    cli_charge.add_edit_parser(esub)
    cli_attach.add_edit_parser(esub)
    cli_visit.add_parsers(sub)
    cli_charge.add_parsers(sub)

    diag = sub.add_parser("diagnostics", help="write a support zip (no secrets)")
    diag.add_argument("--output", type=path, default="field-sync-diagnostics.zip")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def print_items(items: Sequence[T], line: Callable[[T], str], empty: str, *, as_json: bool) -> int:
    """Print `items` as JSON or one `line` each (`empty` when there are none); 0 to exit with."""
    if as_json:
        print(json.dumps(_jsonable(list(items)), indent=2))
    else:
        print("\n".join(line(item) for item in items) or empty)
    return 0


def run_agent(args: argparse.Namespace, body: Callable[[Agent], Awaitable[int]]) -> int:
    """Open the agent on the command line's profile, run `body` with it, and close it."""
    from agent.api.facade import Agent, AgentOptions

    async def main() -> int:
        if args.demo:
            agent = await Agent.open_demo(args.data_dir, dispatcher=False)
        else:
            agent = await Agent.open(
                AgentOptions(
                    data_dir=args.data_dir,
                    profile=args.profile or "default",
                    allow_unencrypted=args.allow_unencrypted,
                )
            )
        try:
            return await body(agent)
        finally:
            await agent.close()

    # Failures (a refused edit, an unknown conflict, a full disk) reach `cli.main`, which
    # reports each in one line.
    return asyncio.run(main())


def sync_line(report: SyncReport) -> str:
    """One round in one line: what was sent, the records from Autotask skipped in it, and what
    stopped (or, for a pull that read the rest, which kinds of record it could not read)."""
    push = report.push
    line = (
        f"sent {push.sent}, succeeded {push.succeeded}, conflicts {push.conflicts}, "
        f"failed {push.failed}, API calls {report.api_calls}"
    )
    if push.uploads:
        line += f", file uploads started {push.uploads} (`queue list` shows how far each is)"
    if report.screened:
        skipped = sum(p.skipped for p in report.screened)
        kept = len(report.screened) - skipped
        line += (
            f"; from Autotask {skipped} record(s) skipped, {kept} kept with a field left out "
            f"(last: {report.screened[-1].reason})"
        )
    partial = report.pull is not None and report.pull_error is not None
    if report.error and not (partial and report.error == f"pull: {report.pull_error}"):
        line += f"; stopped: {report.error}"
    if partial:  # the rest of the pull was read
        line += f"; not pulled: {report.pull_error}"
    return line


def cmd_sync(args: argparse.Namespace) -> int:
    async def body(agent: Agent) -> int:
        if agent.engine is None:
            why = agent.sign_in_problem or "not signed in to Autotask (use the window, or --demo)"
            print(f"error: {why}", file=sys.stderr)
            return 2
        report = await agent.sync_now()
        if report is None:
            print("Working offline: nothing was sent.")
            return 0
        data = _jsonable(report)
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            print(sync_line(report))
        return 1 if report.error else 0

    return run_agent(args, body)


def cmd_queue(args: argparse.Namespace) -> int:
    async def body(agent: Agent) -> int:
        if args.queue_command == "retry":
            await agent.retry_now(args.op_id)
            return 0
        if args.queue_command == "discard":
            await agent.discard(args.op_id, "discarded from the command line")
            return 0
        states = frozenset({OpState(args.state)}) if args.state else None
        page = await agent.queue_page(states=states, limit=args.limit)
        if args.json:
            print(json.dumps(_jsonable(page), indent=2))
            return 0
        shown = len(page.items)
        more = f", the first {shown} shown (--limit for more)" if shown < page.total else ""
        print(f"{page.total} operation(s){more}")
        for item in page.items:
            error = f"  [{item.last_error}]" if item.last_error else ""
            print(f"#{item.id:<6} {item.state:<9} {item.priority:<10} {item.description}{error}")
        return 0

    return run_agent(args, body)


def cmd_conflicts(args: argparse.Namespace) -> int:
    async def body(agent: Agent) -> int:
        if args.conflicts_command == "list":
            items = await agent.conflicts()
            if args.json:
                print(json.dumps(_jsonable(items), indent=2))
            for c in [] if args.json else items:
                what = (
                    "deleted here, changed in Autotask (--mine deletes it anyway)"
                    if c.kind == "changed"
                    else f"field {c.field}"
                )
                print(
                    f"#{c.id} {c.entity_type} {c.entity_id} ({c.label}) {what}: "
                    f"base={c.base!r} mine={c.mine!r} theirs={c.theirs!r}"
                )
            return 0
        if args.all:
            if args.value is not None:
                print("error: --all takes --mine or --theirs", file=sys.stderr)
                return 2
            done = await agent.resolve_all("mine" if args.mine else "theirs")
            print(f"resolved {len(done)} conflict(s)")
            return 0
        if args.conflict_id is None:
            print("error: give a conflict id, or --all", file=sys.stderr)
            return 2
        if args.value is not None:
            await agent.resolve_conflict(args.conflict_id, "value", args.value)
        else:
            await agent.resolve_conflict(args.conflict_id, "mine" if args.mine else "theirs")
        print(f"resolved conflict #{args.conflict_id}")
        return 0

    return run_agent(args, body)


def cmd_audit(args: argparse.Namespace) -> int:
    async def body(agent: Agent) -> int:
        if args.audit_command == "verify":
            report = await agent.verify_audit()
            if report.ok:
                print(f"audit chain ok: {report.summary}")
                for note in report.notes:
                    print(f"  note: {note}")
                return 0
            print(f"audit chain BROKEN, {report.summary}")
            return 1
        count = await agent.export_audit(Path(args.output), args.format)
        print(f"wrote {count} event(s) to {args.output}")
        return 0

    return run_agent(args, body)


def cmd_edit(args: argparse.Namespace) -> int:
    if args.edit_command == "timer":
        return cli_timer.cmd_timer(args)
    if args.edit_command in cli_visit.EDITS:
        return cli_visit.cmd_edit_visit(args)
    if args.edit_command == "charge":
        return cli_charge.cmd_edit_charge(args)
    if args.edit_command in cli_attach.EDITS:
        return cli_attach.cmd_attach(args)

    async def body(agent: Agent) -> int:
        c = args.edit_command
        if c == "ticket":
            changes: dict[str, Any] = {
                k: v
                for k, v in {
                    "status": args.status,
                    "priority": args.priority,
                    "title": args.title,
                    "description": args.description,
                    "dueDateTime": args.due,
                    "queueID": args.queue,
                }.items()
                if v is not None
            }
            if args.assign:
                changes["assignedResourceID"], changes["assignedResourceRoleID"] = args.assign
            result = await agent.update_ticket(args.ticket_id, **changes)
        elif c == "note":
            result = await agent.add_note(
                args.ticket_id,
                args.text,
                title=args.title,
                note_type=args.note_type,
                publish=args.publish,
            )
        elif c == "time":
            entry = {
                "ticketID": args.ticket_id,
                "dateWorked": f"{args.date}T00:00:00Z",
                "hoursWorked": args.hours,
                "startDateTime": args.start,
                "endDateTime": args.end,
                "summaryNotes": args.summary,
                "roleID": args.role,
            }
            result = await agent.log_time(**{k: v for k, v in entry.items() if v is not None})
        else:
            result = await agent.delete_time_entry(args.key)
        if result.unchanged:
            print("nothing changed")
        else:
            print(f"queued as operation #{result.op_id} ({result.key})")
        return 0

    return run_agent(args, body)


def cmd_diagnostics(args: argparse.Namespace) -> int:
    from agent.monitor.diagnostics import run_cli
    from agent.profile import open_profile

    profile = open_profile(
        args.data_dir,
        args.profile or ("demo" if args.demo else "default"),
        demo=args.demo,
        allow_unencrypted=args.allow_unencrypted,
    )
    try:
        path = run_cli(profile, Path(args.output))
    finally:
        profile.close()
    print(f"wrote {path}")
    return 0


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    "sync": cmd_sync,
    "queue": cmd_queue,
    "conflicts": cmd_conflicts,
    "audit": cmd_audit,
    "edit": cmd_edit,
    "diagnostics": cmd_diagnostics,
    **cli_visit.COMMANDS,
    "ticket": cli_charge.cmd_ticket,
}
