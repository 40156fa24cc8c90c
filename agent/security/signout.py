"""Signing out and wiping a profile: credentials, data key, local records and, if asked, the
backups and corrupt copies kept beside the database. Only with an explicit confirmation.

The data key is not merely deleted but replaced: the profile stays open and usable, and every
copy of the old ciphertext (free pages, the WAL, backups, copies someone made) can no longer be
opened by anyone, because the only key that opened it is gone.

Only this database's own keyring entries (those of its keyring id) are cleared or replaced:
another data folder with the same profile name keeps its key and credentials. Entries an earlier
version named after the profile are left for the folders that may still need them (see
`agent.security.identity`). Without a keyring there is nothing in it to forget.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from agent.credentials import NoKeyringError
from agent.profile import KEYED, Profile
from agent.security import fingerprints
from agent.security.encryption import Protection
from agent.security.errors import WipeNotConfirmedError
from agent.store.models import AuditEvent
from agent.store.wipe import wipe_local_data

log = logging.getLogger(__name__)


@dataclass
class WipeReport:
    credentials_removed: bool = False
    data_key_replaced: bool = False
    audit_removed: bool = False
    files_removed: list[Path] = field(default_factory=list)


def leftover_copies(database: Path) -> list[Path]:
    """Migration backups and moved-aside corrupt copies of `database` (with their -wal/-shm)."""
    folder = database.parent
    if not folder.is_dir():
        return []
    prefix = database.name + "."
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.name.startswith(prefix)
        and (".corrupt-" in p.name or p.name.endswith(".bak"))
    )


def sign_out_and_wipe(
    profile: Profile,
    *,
    confirmed: bool,
    keep_audit: bool = False,
    remove_backups: bool = False,
) -> WipeReport:
    """Forget the credentials, every cached and queued record (the audit trail too unless
    `keep_audit`), replace the data key, and delete leftover copies when `remove_backups`.

    The caller (the window) asks the technician first; without `confirmed=True` nothing
    happens and `WipeNotConfirmedError` is raised."""
    if not confirmed:
        raise WipeNotConfirmedError()
    report = WipeReport()
    with contextlib.suppress(NoKeyringError):  # without a keyring, none were kept
        profile.credentials.clear()
    report.credentials_removed = True
    wipe_local_data(profile.store)
    chain = profile.audit_chain
    if not keep_audit and chain is None:
        profile.store.write(lambda: AuditEvent.delete().execute())
    at_rest = profile.at_rest
    if at_rest.enabled:
        at_rest.rotate()  # rewrites what is left (nothing sealed, normally) under a new key
        report.data_key_replaced = True
    elif profile.protection is Protection.OFF:  # a usable keyring may hold an old key
        at_rest.vault.forget_all()
        at_rest.vault.record_encryption(False)  # the user's choice outlives the old key
        report.data_key_replaced = True
    if profile.protection in KEYED:  # the outbox is empty: a new key costs nothing
        fingerprints.renew(profile.store, profile.vault)
    if chain is not None and not keep_audit:
        chain.restart()  # its key and anchor go with it; a new trail starts, keyed anew
    elif chain is not None:
        chain.keep()  # the kept trail stays verifiable (its entries may have been forgotten)
    report.audit_removed = not keep_audit
    profile.store.vacuum()
    if remove_backups:
        for path in leftover_copies(profile.paths.database):
            path.unlink(missing_ok=True)
            report.files_removed.append(path)
    log.warning(
        "local data wiped for profile %s (%d leftover files removed)",
        profile.paths.profile,
        len(report.files_removed),
    )
    return report
