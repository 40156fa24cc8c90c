"""Typed settings with defaults, kept in the profile's database (one row per changed setting).

Hand-written over a dataclass rather than pydantic: a dozen scalar fields need only type, range and
choice checks, and this keeps the frozen application small and the error messages ours.

Each change made through the program is an audit event (`setting_changed`: the setting, its value
before and after), in the same transaction. The audit retention is also kept outside the database
(`retention_anchor`, beside the audit key: see `agent.store.audit_retention`), first, so that the
table alone never decides how long the audit trail is kept.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from agent.clock import SYSTEM_CLOCK, Clock
from agent.config.redis_url import redis_url_problem, split_password, with_password
from agent.credentials import REDIS_ADDRESS, REDIS_PASSWORD, CredentialError
from agent.security.errors import InsecureUrlError
from agent.security.transit import require_secure_url
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import Setting

log = logging.getLogger(__name__)
SETTING_CHANGED = "setting_changed"  # the audit action of a change made through the program


class SettingsError(ValueError):
    """A setting's value is of the wrong type or out of range; the message names the setting."""


class SettingLockedError(SettingsError):
    """The administrator's policy sets this setting: it cannot be changed on this computer."""

    def __init__(self, name: str, origin: str) -> None:
        super().__init__(
            f"{name} is set by your administrator's policy ({origin}) and cannot be changed "
            "on this computer; ask your administrator."
        )
        self.name = name
        self.origin = origin


@dataclass(frozen=True)
class Locked:
    """A setting's value as the administrator's policy sets it, and where the policy came from
    (a file, the registry, a managed preferences profile)."""

    value: Any
    origin: str


class SecretEntries(Protocol):
    """Where the Redis password is kept: the profile's keyring entries (`CredentialStore`)."""

    def load_entry(self, entry: str) -> str | None: ...

    def save_entry(self, entry: str, value: str, *, secret: bool = True) -> None: ...

    def delete_entry(self, entry: str) -> None: ...


def _spec(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    help: str = "",
) -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices, "help": help})


@dataclass(frozen=True)
class Settings:
    work_offline: bool = _spec(False, help="Queue changes without contacting Autotask")
    sync_interval_s: int = _spec(60, lo=10, hi=3600, help="Seconds between automatic syncs")
    notifications: bool = _spec(True, help="Show desktop notifications")
    start_at_login: bool = _spec(False, help="Start Field Sync when you log in")
    quota_share: float = _spec(
        0.5,
        lo=0.05,
        hi=1.0,
        help="Share of what the tenant's other integrations leave of its hourly limit, less a "
        "tenth of the limit kept in reserve",
    )
    fleet_size: int = _spec(
        1, lo=1, hi=1000, help="Agents of the tenant sharing its budget (each takes its part)"
    )
    redis_url: str | None = _spec(
        None, help="The fleet's Redis server (checked and kept; its password in the keyring)"
    )
    durability: str = _spec("normal", choices=("normal", "full"), help="SQLite synchronous mode")
    scheduling: str = _spec(
        "weighted_fair",
        choices=("strict_priority", "fifo", "weighted_fair", "deadline", "adaptive"),
        help="How the outbox orders work",
    )
    background_capacity: int = _spec(50_000, lo=100, hi=10_000_000, help="Max background ops")
    ops_retention_days: int = _spec(30, lo=1, hi=3650, help="Keep finished operations this long")
    metrics_retention_days: int = _spec(30, lo=1, hi=3650, help="Keep metric series this long")
    audit_retention_days: int = _spec(730, lo=30, hi=36500, help="Keep audit events this long")
    log_retention_days: int = _spec(30, lo=1, hi=3650, help="Keep rotated log files this long")
    log_level: str = _spec("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="Log level")
    technician_resource_id: int | None = _spec(
        None, lo=1, hi=2**53, help="Your Autotask resource id (found at sign-in)"
    )
    api_directory_url: str | None = _spec(
        None, help="Where the zone of your Autotask user is looked up (leave empty)"
    )

    def with_changes(self, **changes: Any) -> Settings:
        for name in set(changes) & MOVED.keys():
            raise SettingsError(MOVED[name])
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise SettingsError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
        checked = {name: validate(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **checked)


_FIELDS = {f.name: f for f in fields(Settings)}
# Set only by signing in (the resource of the e-mail address the technician confirmed).
SIGN_IN_ONLY = frozenset({"technician_resource_id"})
_TYPES: dict[str, type] = {
    name: {
        "bool": bool,
        "int": int,
        "float": float,
        "str": str,
        "str | None": str,
        "int | None": int,
    }[str(f.type)]
    for name, f in _FIELDS.items()
}


# Addresses the agent sends credentials to: https only (loopback excepted).
_URL_SETTINGS = frozenset({"api_directory_url"})


# Settings of earlier versions, and where their effect went. Rows of them in a database are
# ignored: neither may switch encryption off (see `agent.security.encryption`).
MOVED = {
    "encrypt_at_rest": (
        "encrypt_at_rest is no longer a setting: encryption is switched with "
        "'autotask-agent keys encrypt' or 'keys decrypt --yes-store-in-clear'"
    ),
    "demo_mode": "demo_mode is no longer a setting: start the demo tenant with --demo",
}


def validate(name: str, value: Any) -> Any:
    """Return `value` converted to the setting's type, or raise SettingsError saying why not."""
    if name in MOVED:
        raise SettingsError(MOVED[name])
    if name not in _FIELDS:
        raise SettingsError(f"Unknown setting: {name}")
    f, kind = _FIELDS[name], _TYPES[name]
    if value is None:
        if "None" in str(f.type):
            return None
        raise SettingsError(f"{name} needs a value")
    if kind is bool:
        if isinstance(value, str) and value.lower() in (
            "true",
            "yes",
            "on",
            "1",
            "false",
            "no",
            "off",
            "0",
        ):
            value = value.lower() in ("true", "yes", "on", "1")
        if not isinstance(value, bool):
            raise SettingsError(f"{name} must be true or false (got {value!r})")
        return value
    if kind in (int, float):
        if isinstance(value, bool):
            raise SettingsError(f"{name} must be a number (got {value!r})")
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise SettingsError(f"{name} must be a number (got {value!r})") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise SettingsError(f"{name} must be a finite number")
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise SettingsError(f"{name} must be a whole number (got {value!r})")
        lo, hi = f.metadata["lo"], f.metadata["hi"]
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise SettingsError(f"{name} must be between {lo} and {hi} (got {number})")
        return number
    if not isinstance(value, str):
        raise SettingsError(f"{name} must be text (got {type(value).__name__})")
    choices = f.metadata["choices"]
    if choices and value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
    if name == "redis_url" and (problem := redis_url_problem(value)) is not None:
        raise SettingsError(f"{name}: {problem}")
    if name in _URL_SETTINGS and value:
        try:
            require_secure_url(value, what=name)
        except InsecureUrlError as exc:
            raise SettingsError(str(exc)) from None
    return value


def describe() -> list[tuple[str, Any, str]]:
    """(name, default, help) for every setting, for `--help`-like listings."""
    return [(n, f.default, f.metadata["help"]) for n, f in _FIELDS.items()]


def _audited(name: str, value: Any) -> Any:
    """A setting's value as the audit trail keeps it: a Redis address without its password
    (an earlier version kept the password in the table)."""
    if name != "redis_url" or not isinstance(value, str):
        return value
    try:
        return split_password(value).url
    except ValueError:  # not an address at all: nothing of it is kept
        return None


class SettingsRepository:
    """Loads and saves `Settings` in the store; only values that differ from defaults are kept.

    `locked`: the settings the administrator's policy sets; they win over the stored values and
    `update` refuses to change them. `secrets`: where the Redis password goes (the keyring);
    without it a Redis URL holding a password is refused.
    """

    def __init__(
        self,
        store: Store,
        *,
        locked: Mapping[str, Locked] | None = None,
        secrets: SecretEntries | None = None,
        retention_anchor: Callable[[int], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._store = store
        self.locked: Mapping[str, Locked] = dict(locked or {})
        self._secrets = secrets
        self._retention_anchor = retention_anchor
        self._clock = clock

    def stored(self) -> Settings:
        """The settings as this computer keeps them, before the policy's values."""
        rows = self._store.read(lambda: [(s.key, s.value) for s in Setting.select()])
        values: dict[str, Any] = {}
        for key, raw in rows:
            if key not in _FIELDS:
                continue  # a setting of a newer version: kept in the table, ignored here
            try:
                values[key] = validate(key, json.loads(raw))
            except (SettingsError, ValueError):
                continue  # a damaged value falls back to its default rather than blocking start
        return Settings(**values)

    def load(self) -> Settings:
        settings = self.stored()
        if not self.locked:
            return settings
        return dataclasses.replace(settings, **{k: v.value for k, v in self.locked.items()})

    def update(self, **changes: Any) -> Settings:
        """What the technician changes (the command line, Settings): never a locked value, nor
        who they are, which only sign-in finds (`save`): changes would go out in another's name."""
        for name in sorted(set(changes) & set(self.locked)):
            raise SettingLockedError(name, self.locked[name].origin)
        for name in sorted(set(changes) & SIGN_IN_ONLY):
            raise SettingsError(
                f"{name} is found at sign-in from your Autotask e-mail address and cannot be "
                "set by hand; sign in again to change it"
            )
        self.load().with_changes(**changes)  # every value checked before anything is kept
        return self.save(**changes)

    def save(self, **changes: Any) -> Settings:
        """Keep `changes` (checked) whether or not the policy sets them: the policy's own step
        (`agent.config.managed`) writes through what it must keep consistent with the keyring."""
        before = self.stored()
        checked = before.with_changes(**changes)
        if "redis_url" in changes:
            checked = dataclasses.replace(
                checked, redis_url=self._keep_redis_password(checked.redis_url)
            )
        days = checked.audit_retention_days
        if "audit_retention_days" in changes and self._retention_anchor is not None:
            self._retention_anchor(days)  # first: the table never leads the anchor
        at = self._clock.now().timestamp()

        def save() -> None:
            for name in changes:
                value, was = getattr(checked, name), getattr(before, name)
                if value == _FIELDS[name].default:
                    Setting.delete().where(Setting.key == name).execute()
                else:
                    Setting.replace(key=name, value=json.dumps(value)).execute()
                if value != was:
                    detail = {"setting": name, "before": _audited(name, was)}
                    detail["after"] = _audited(name, value)
                    audit.append(SETTING_CHANGED, at=at, detail=detail)

        try:
            self._store.write(save)
        except BaseException:
            if "audit_retention_days" in changes and self._retention_anchor is not None:
                self._retention_anchor(before.audit_retention_days)  # as it was, if it can
            raise
        return self.load()

    def _keep_redis_password(self, url: str | None) -> str | None:
        """The Redis URL to store: its password (if any) moved into the keyring, replacing the
        one kept before (a URL without a password removes it), and the address recorded there
        as the one chosen."""
        address = split_password(url) if url else None
        password = address.password if address else None
        try:
            if password:
                if self._secrets is None:
                    raise SettingsError(NO_PLACE_FOR_PASSWORD)
                self._secrets.save_entry(REDIS_PASSWORD, password)
            elif self._secrets is not None:
                self._secrets.delete_entry(REDIS_PASSWORD)
            if self._secrets is not None:
                self._secrets.save_entry(
                    REDIS_ADDRESS, address.url if address else "", secret=False
                )
        except CredentialError as exc:
            if password:
                raise SettingsError(f"{NO_PLACE_FOR_PASSWORD} {exc}") from None
            # No keyring: it holds no password to remove, nor a choice to record.
        return address.url if address else None

    def redis_connection_url(self) -> str | None:
        """The Redis URL to connect with: the stored address with its password from the
        keyring put back (None when no Redis server is set). An address that is not the one
        recorded in the keyring as chosen (the table edited by someone else) gives None: neither
        the password nor the fleet's counters go to a server nobody chose here."""
        url = self.load().redis_url
        if not url:
            return None
        if self._secrets is None:
            return url
        chosen = self._secrets.load_entry(REDIS_ADDRESS)
        password = self._secrets.load_entry(REDIS_PASSWORD)
        if chosen is None and password is not None:
            # An earlier version kept the password and recorded no choice: its address is it.
            self._secrets.save_entry(REDIS_ADDRESS, url, secret=False)
        elif chosen != url:
            log.warning(
                "the Redis address in the settings table is not the one chosen in Settings or "
                "the policy; the fleet's shared budget is not used until it is chosen again"
            )
            return None
        return with_password(url, password)

    def redis_choice_recorded(self) -> bool:
        """Whether the keyring records a chosen Redis address (this version's entries)."""
        if self._secrets is None:
            return False
        try:
            return self._secrets.load_entry(REDIS_ADDRESS) is not None
        except CredentialError:
            return False


NO_PLACE_FOR_PASSWORD = (
    "redis_url: a Redis password is kept only in the system keyring, and none can be used "
    "here. Nothing was changed."
)
