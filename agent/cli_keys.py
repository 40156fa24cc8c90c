"""`autotask-agent keys ...`: the user's explicit actions on the profile's data key, through the
facade. `rotate` re-encrypts everything under a new key; `encrypt` / `decrypt` switch encryption
at rest (decrypting only with `--yes-store-in-clear`); `forget-legacy` deletes the keyring entries
an earlier version named after the profile (see `agent.security.identity`), only with `--yes`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.cli_agent import run_agent

if TYPE_CHECKING:
    from agent.api.facade import Agent


def add_parsers(sub: Any) -> None:
    keys = sub.add_parser("keys", help="the data key: rotate it, switch encryption at rest")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser("rotate", help="re-encrypt the local data under a new data key")
    ksub.add_parser("encrypt", help="encrypt the local data (the default)")
    decrypt = ksub.add_parser("decrypt", help="keep the local data unencrypted on this computer")
    decrypt.add_argument(
        "--yes-store-in-clear",
        action="store_true",
        help="confirm: tickets, notes and queued changes are then stored unencrypted",
    )
    legacy = ksub.add_parser(
        "forget-legacy",
        help="delete the keyring entries earlier versions named after this profile",
    )
    legacy.add_argument(
        "--yes",
        action="store_true",
        help="confirm: every data folder of this profile name has been opened since the update",
    )


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_keys(args: argparse.Namespace) -> int:
    command = args.keys_command
    if command == "decrypt" and not args.yes_store_in_clear:
        return _refuse(
            "decrypting stores this profile's tickets, notes and queued changes unencrypted on "
            "this computer; add --yes-store-in-clear to confirm. Nothing was changed."
        )
    if command == "forget-legacy" and not args.yes:
        return _refuse(
            "another data folder of this profile name that has not been opened since the "
            "update needs those entries to open its data; once every such folder has been "
            "opened, add --yes to delete them. Nothing was changed."
        )

    async def body(agent: Agent) -> int:
        if command == "rotate":
            changed = await agent.rotate_data_key()
            print(f"data key replaced: {changed} stored value(s) re-encrypted")
        elif command in ("encrypt", "decrypt"):
            state = await agent.set_encryption(command == "encrypt", store_in_clear=True)
            print(state.describe())
        else:
            removed = await agent.forget_legacy_keyring_entries()
            print(
                f"deleted {len(removed)} legacy keyring entr{'y' if len(removed) == 1 else 'ies'}"
            )
        return 0

    return run_agent(args, body)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {"keys": cmd_keys}
