"""`autotask-agent edit attach TICKET FILE [--title T]`: attach a photo or a file to a ticket.

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
