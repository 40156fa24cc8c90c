"""`autotask-agent edit timer start|stop|status`: the stopwatch on the command line.

`stop` stops the running timer and leaves it as a draft; `--log` logs it as a time entry (with
`--summary`), `--discard` throws it away. With `--log` or `--discard` and no timer running, it
takes the stopped one waiting to be logged; a plain `stop` with none running is refused (exit
status 2), naming the stopped ones that wait. A timer that ran more than ten hours is logged
only with `--confirm-long`; refused, it stays a draft, so nothing typed or timed is lost.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.api.validation import EditRejected, Problem
from agent.cli_args import moment, record_id, text
from agent.visit.timer import Keep
from agent.visit.timer_draft import LONG_RUN_S, TimerDraft, TimerView, duration_text

if TYPE_CHECKING:
    from agent.api.facade import Agent


def add_parser(esub: Any) -> None:
    timer = esub.add_parser("timer", help="start or stop a timer on a ticket; log what it timed")
    tsub = timer.add_subparsers(dest="timer_command", required=True)
    start = tsub.add_parser("start", help="start a timer on a ticket")
    start.add_argument("ticket_id", type=record_id)
    start.add_argument(
        "--switch", action="store_true", help="stop the timer running on another ticket first"
    )
    stop = tsub.add_parser("stop", help="stop the timer; log it or discard it")
    what = stop.add_mutually_exclusive_group()
    what.add_argument("--log", action="store_true", help="log it as a time entry")
    what.add_argument("--discard", action="store_true", help="throw it away")
    stop.add_argument(
        "--confirm-long", action="store_true", help="log a timer that ran more than 10 hours"
    )
    stop.add_argument("--summary", type=text, help="what you did (required with --log)")
    stop.add_argument("--role", type=record_id, help="role (default: your last time entry's)")
    stop.add_argument("--work-type", type=record_id, help="work type (billing code)")
    stop.add_argument("--start", type=moment, help="a corrected start, e.g. 2026-01-05T09:00:00Z")
    stop.add_argument("--end", type=moment, help="a corrected end, e.g. 2026-01-05T10:30:00Z")
    stop.add_argument("--draft", type=record_id, help="which stopped timer (see timer status)")
    status = tsub.add_parser("status", help="the running timer and those waiting to be logged")
    status.add_argument("--json", action="store_true")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.astimezone()  # no zone given: this computer's


def _local(instant: float) -> str:
    return datetime.fromtimestamp(instant).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def _ticket(view: TimerView | TimerDraft) -> str:
    return f"ticket {view.ticket_number or view.ticket_id} (id {view.ticket_id})"


def _set_back(d: TimerDraft) -> str:
    """A draft whose end is not known: the clock was set back while it ran."""
    read = d.started_at - (d.clock_set_back or 0.0)
    return (
        f"the computer's clock read {_local(read)} when it was stopped, before the timer's "
        "start: it was set back while the timer ran, so the end is not known; give the real "
        "end with --end when you log it"
    )


def _draft_line(d: TimerDraft) -> str:
    line = (
        f"stopped timer #{d.id} on {_ticket(d)}: {_local(d.started_at)} to "
        f"{_local(d.stopped_at)} ({duration_text(d.seconds)})"
    )
    if d.needs_end:
        return f"{line} -- end not known: {_set_back(d)}"
    return line + (" -- more than 10 hours: log it with --confirm-long" if d.long else "")


def _refuse(message: str) -> EditRejected:
    return EditRejected([Problem("timer", message)])


async def _status(agent: Agent, as_json: bool) -> int:
    state = await agent.timer()
    now = agent.clock.now().timestamp()
    if as_json:
        running = state.running
        print(
            json.dumps(
                {
                    "running": None
                    if running is None
                    else {
                        "ticket_id": running.ticket_id,
                        "ticket_number": running.ticket_number,
                        "started_at": running.started_at,
                        "elapsed_s": running.elapsed(now),
                    },
                    "drafts": [
                        {
                            "id": d.id,
                            "ticket_id": d.ticket_id,
                            "ticket_number": d.ticket_number,
                            "started_at": d.started_at,
                            "stopped_at": d.stopped_at,
                            "role_id": d.role_id,
                            "work_type_id": d.billing_code_id,
                            "long": d.long,
                            "clock_set_back": d.clock_set_back,
                        }
                        for d in state.drafts
                    ],
                },
                indent=2,
            )
        )
        return 0
    if state.running is None:
        print("no timer is running")
    else:
        r = state.running
        elapsed = duration_text(r.elapsed(now))
        print(f"running on {_ticket(r)} since {_local(r.started_at)} ({elapsed})")
    for d in state.drafts:
        print(_draft_line(d))
    return 0


async def _stop(agent: Agent, args: argparse.Namespace) -> int:
    if args.log and not (args.summary or "").strip():
        raise EditRejected(
            [Problem("summaryNotes", "is required to log the timer: give --summary")]
        )
    state = await agent.timer()
    if state.running is not None and args.draft is None:
        draft = await agent.stop_timer()
        print(_draft_line(draft).replace("stopped timer", "stopped: timer", 1))
    elif args.draft is None and not (args.log or args.discard):
        waiting = "".join(
            f"; stopped timer #{d.id} waits: log it with edit timer stop --log --summary TEXT "
            f"--draft {d.id} (or throw it away with --discard)"
            for d in state.drafts
        )
        raise _refuse(
            "no timer is running"
            + (waiting if state.drafts else " and none is waiting to be logged")
        )
    else:
        chosen = [d for d in state.drafts if args.draft in (None, d.id)]
        if not chosen:
            raise _refuse(
                f"there is no stopped timer #{args.draft}"
                if args.draft is not None
                else "no timer is running and none is waiting to be logged"
            )
        if len(chosen) > 1:
            ids = ", ".join(f"#{d.id}" for d in chosen)
            raise _refuse(f"several stopped timers wait ({ids}); choose one with --draft")
        draft = chosen[0]
    if args.discard:
        await agent.discard_timer(draft.id)
        print(f"discarded timer #{draft.id}; nothing is logged")
        return 0
    if not args.log:
        print(
            f"log it with: edit timer stop --log --summary TEXT --draft {draft.id}"
            + (" --end TIME" if draft.needs_end else "")
            + (" --confirm-long" if draft.long else "")
            + f"   (or throw it away: edit timer stop --discard --draft {draft.id})"
        )
        return 0
    start, end = _when(args.start), _when(args.end)
    if draft.needs_end and end is None:
        raise _refuse(f"timer #{draft.id} is kept: {_set_back(draft)}")
    begin = start.timestamp() if start else draft.started_at
    finish = end.timestamp() if end else draft.stopped_at
    if finish - begin > LONG_RUN_S and not args.confirm_long:
        raise _refuse(
            f"timer #{draft.id} ran {duration_text(finish - begin)}, more than 10 hours; it is "
            "kept: check the end (--end), then log it with --confirm-long"
        )
    result = await agent.log_timer(
        draft.id,
        summary=args.summary,
        role_id=Keep.DRAFT if args.role is None else args.role,
        billing_code_id=Keep.DRAFT if args.work_type is None else args.work_type,
        start=start,
        end=end,
        confirm_long=args.confirm_long,
    )
    print(f"queued as operation #{result.op_id} ({result.key})")
    return 0


def cmd_timer(args: argparse.Namespace) -> int:
    from agent.cli_agent import run_agent

    async def body(agent: Agent) -> int:
        if args.timer_command == "start":
            running = (await agent.timer()).running
            if running is not None and running.ticket_id != args.ticket_id and not args.switch:
                raise _refuse(
                    f"a timer is already running on {_ticket(running)} since "
                    f"{_local(running.started_at)}; stop it first (edit timer stop), or start "
                    "this one with --switch"
                )
            view = await agent.start_timer(args.ticket_id, switch=args.switch)
            print(f"running on {_ticket(view)} since {_local(view.started_at)}")
            return 0
        if args.timer_command == "stop":
            return await _stop(agent, args)
        return await _status(agent, args.json)

    return run_agent(args, body)
