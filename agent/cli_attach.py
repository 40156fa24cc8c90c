"""`autotask-agent edit attach TICKET FILE [--title T]`: attach a photo or a file to a ticket;
`autotask-agent ticket files TICKET [--json]`: the files attached on this computer and their
uploads' state.

The file is checked, sealed into the profile and queued like every other edit (pending at
once, uploaded by the next sync after the edits). A file over the API's limit per attachment is
refused with the reason; the window offers to make a photo smaller, the command line does not
change the file it was given.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from agent.cli_args import record_id, text

if TYPE_CHECKING:
    from agent.api.facade import Agent
    from agent.visit.attachments import AttachmentView

EDITS = frozenset({"attach"})


def add_edit_parser(esub: Any) -> None:
    attach = esub.add_parser("attach", help="attach a photo or a file to a ticket")
    attach.add_argument("ticket_id", type=record_id)
    attach.add_argument("file", help="the file to attach (at most 6 MB)")
    attach.add_argument("--title", type=text, help="its title in Autotask (default: file name)")


def cmd_attach(args: argparse.Namespace) -> int:
    from agent.cli_agent import run_agent

    async def body(agent: Agent) -> int:
        result = await agent.attach_file(args.ticket_id, args.file, title=args.title)
        print(f"queued as operation #{result.op_id} ({result.key}); uploaded by the next sync")
        return 0

    return run_agent(args, body)


def _file_line(view: AttachmentView) -> str:
    from agent.api.words import size_text

    size = size_text(view.size)
    state = view.state.value
    if view.progress is not None:
        state += f" ({view.progress.percent} %)"
    elif view.detail and view.state.value != "sent":
        state += f": {view.detail}"
    where = f"  Autotask id {view.server_id}" if view.server_id is not None else ""
    return f"#{view.id}  {view.title} ({view.name}, {size})  {state}{where}"


def cmd_files(args: argparse.Namespace) -> int:
    from agent.cli_agent import print_items, run_agent

    async def body(agent: Agent) -> int:
        views = await agent.attachments(args.ticket_id)
        return print_items(views, _file_line, "no files attached here", as_json=args.json)

    return run_agent(args, body)
