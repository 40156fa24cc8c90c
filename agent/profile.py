"""Opening one profile: its folders, log file, database, settings and credential store together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from agent import logs
from agent.credentials import CredentialStore
from agent.paths import AgentPaths, resolve
from agent.settings import Settings, SettingsRepository
from agent.store.connection import Durability, RecoveryNotice, Store

log = logging.getLogger(__name__)


@dataclass
class Profile:
    paths: AgentPaths
    store: Store
    settings_repo: SettingsRepository
    credentials: CredentialStore

    @property
    def settings(self) -> Settings:
        return self.settings_repo.load()

    @property
    def recovery(self) -> RecoveryNotice | None:
        return self.store.recovery

    def close(self) -> None:
        self.store.close()


def open_profile(
    data_dir: str | Path | None = None,
    name: str = "default",
    *,
    console_log: bool = False,
    busy_timeout_ms: int = 5000,
) -> Profile:
    """Open (creating if needed) the profile; raises a StoreError with a clear message if it
    cannot. A damaged database is moved aside and reported through `Profile.recovery`."""
    paths = resolve(data_dir, name).ensure()
    logs.configure(paths.log_file, console=console_log)
    store = Store(paths.database, busy_timeout_ms=busy_timeout_ms)
    repo = SettingsRepository(store)
    settings = repo.load()
    store.set_durability(Durability(settings.durability))
    logging.getLogger().setLevel(settings.log_level)
    if store.recovery is not None:
        log.error("%s", store.recovery.message)
    log.info("profile %s opened at %s (schema %s)", name, paths.database, store.schema_version())
    return Profile(paths, store, repo, CredentialStore(name))
