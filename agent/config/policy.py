"""The administrator's policy: its keys, how each value is checked, and what it sets.

A policy is a flat set of keys (a JSON object, registry values, a managed preferences plist):

| key | type | what it sets |
|---|---|---|
| `directory` | https URL | where the zone is looked up (setting `api_directory_url`) |
| `api_user` | text | the API user's name (keyring) |
| `api_secret` | text | the API user's secret (keyring) |
| `integration_code` | text | the integration's tracking identifier (keyring) |
| `quota_share` | number 0.05-1 | setting `quota_share` |
| `sync_interval_s` | whole number 10-3600 | setting `sync_interval_s` |
| `fleet_size` | whole number 1-1000 | setting `fleet_size` |
| `encryption_required` | true/false | true: data cannot be kept unencrypted; false: none |
| `redis_url` | Redis URL | setting `redis_url` (its password: keyring) |

A `Policy` keeps no secret: `api_secret`, `integration_code` and the Redis password travel in
`PolicySecrets`, which the start moves into the keyring and then lets go (`agent.config.managed`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.autotask.credentials import UNSENDABLE, sendable
from agent.config.redis_url import redis_url_problem, split_password
from agent.security.errors import InsecureUrlError
from agent.security.transit import require_secure_url
from agent.settings import SettingsError, validate


class PolicyError(SettingsError):
    """A policy that cannot be used; `problems` lists every fault found, each naming its key
    (a `SettingsError`: every place that reports a bad setting reports it)."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = problems
        shown = "; ".join(problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        )
        super().__init__(
            f"The administrator's policy {origin} cannot be used: {shown}. Nothing was changed; "
            "ask your administrator ('autotask-agent policy check FILE' lists what is wrong)."
        )


class Kind(enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    WHOLE = "whole number"
    FLAG = "true or false"


@dataclass(frozen=True)
class Key:
    kind: Kind
    help: str
    setting: str | None = None  # the setting it locks, if any
    secret: bool = False  # moved into the keyring, never kept nor shown


KEYS: dict[str, Key] = {
    "directory": Key(Kind.TEXT, "where the zone of the API user is looked up", "api_directory_url"),
    "api_user": Key(Kind.TEXT, "the API user's name (an API-only user)"),
    "api_secret": Key(Kind.TEXT, "the API user's secret", secret=True),
    "integration_code": Key(Kind.TEXT, "the integration's tracking identifier", secret=True),
    "quota_share": Key(
        Kind.NUMBER,
        "share of what the other integrations leave of the hourly request limit",
        "quota_share",
    ),
    "sync_interval_s": Key(Kind.WHOLE, "seconds between automatic syncs", "sync_interval_s"),
    "fleet_size": Key(Kind.WHOLE, "agents of the tenant sharing its request budget", "fleet_size"),
    "encryption_required": Key(
        Kind.FLAG, "true: local data cannot be kept unencrypted; false: the technician chooses"
    ),
    "redis_url": Key(Kind.TEXT, "the fleet's Redis server", "redis_url"),
}
# The sign-in parts a policy can give, by the keyring entry each is kept in.
CREDENTIAL_KEYS = {
    "api_user": "username",
    "api_secret": "secret",
    "integration_code": "integration_code",
}


@dataclass(frozen=True)
class PolicySecrets:
    """The secrets of a policy, on their way to the keyring (never logged, never shown)."""

    api_secret: str | None = field(default=None, repr=False)
    integration_code: str | None = field(default=None, repr=False)
    redis_password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        held = [k for k in ("api_secret", "integration_code", "redis_password") if getattr(self, k)]
        return f"PolicySecrets({', '.join(held) or 'none'})"

    def merged_over(self, lower: PolicySecrets) -> PolicySecrets:
        return PolicySecrets(
            self.api_secret or lower.api_secret,
            self.integration_code or lower.integration_code,
            self.redis_password if self.redis_password is not None else lower.redis_password,
        )


@dataclass(frozen=True)
class Policy:
    """What the administrator set, without its secrets: `values` by key (`api_secret` and
    `integration_code` as True: set, kept in the keyring), `origins` where each key came from."""

    values: Mapping[str, Any] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.values

    def origin(self, key: str) -> str:
        return self.origins.get(key, "")

    @property
    def locked_settings(self) -> dict[str, tuple[Any, str]]:
        """setting name -> (value, origin) for each setting the policy sets."""
        out: dict[str, tuple[Any, str]] = {}
        for key, value in self.values.items():
            setting = KEYS[key].setting
            if setting is not None:
                out[setting] = (value, self.origins[key])
        return out

    @property
    def credential_entries(self) -> frozenset[str]:
        """The keyring entries of the sign-in the policy gives (username, secret, ...)."""
        return frozenset(CREDENTIAL_KEYS[k] for k in self.values if k in CREDENTIAL_KEYS)

    @property
    def encryption_required(self) -> bool:
        return bool(self.values.get("encryption_required", False))

    @property
    def api_user(self) -> str | None:
        value = self.values.get("api_user")
        return value if isinstance(value, str) else None

    def merged_over(self, lower: Policy) -> Policy:
        """This policy's keys, and `lower`'s where this one does not set them."""
        return Policy({**lower.values, **self.values}, {**lower.origins, **self.origins})


def sensitive(key: str) -> bool:
    """Whether `key`'s value may hold a secret (the Redis address: its password), so that no
    message ever shows it."""
    return key in KEYS and (KEYS[key].secret or key == "redis_url")


def _kind_of(value: Any) -> str:
    """What `value` is, without its content."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _got(key: str, value: Any, *, with_type: bool = False) -> str:
    """How a bad value is named in a message: never the value of a secret-bearing key."""
    if sensitive(key):
        return f"got {_kind_of(value)}; the value is not shown"
    shown = repr(value)
    shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
    return f"got {type(value).__name__} {shown}" if with_type else f"got {shown}"


def _typed(key: str, kind: Kind, value: Any, *, text_numbers: bool) -> Any:
    """`value` as `kind`, or raise SettingsError. `text_numbers`: numbers and flags may come as
    text (registry strings, where a fraction cannot be a DWORD)."""
    if isinstance(value, str) and text_numbers and kind is not Kind.TEXT:
        word = value.strip().lower()
        if kind is Kind.FLAG and word in ("true", "false", "1", "0"):
            return word in ("true", "1")
        try:
            value = float(word) if kind is Kind.NUMBER else int(word, 10)
        except ValueError:
            raise SettingsError(f"{key} must be a {kind.value} ({_got(key, value)})") from None
    if kind is Kind.FLAG:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and text_numbers
            and value in (0, 1)
        ):
            return bool(value)  # a registry DWORD
        if not isinstance(value, bool):
            raise SettingsError(f"{key} must be true or false ({_got(key, value)})")
        return value
    if kind is Kind.TEXT:
        if not isinstance(value, str):
            raise SettingsError(f"{key} must be text ({_got(key, value, with_type=True)})")
        if not value.strip():
            raise SettingsError(f"{key} is empty; give a value or leave the key out")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{key} must be a {kind.value} ({_got(key, value)})")
    if kind is Kind.WHOLE and isinstance(value, float):
        if not value.is_integer():
            raise SettingsError(f"{key} must be a whole number ({_got(key, value)})")
        value = int(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingsError(f"{key} must be a finite number")
    return value


def _checked(key: str, value: Any, *, text_numbers: bool) -> Any:
    spec = KEYS[key]
    value = _typed(key, spec.kind, value, text_numbers=text_numbers)
    if key == "directory":
        try:
            require_secure_url(value, what="directory")
        except InsecureUrlError as exc:
            raise SettingsError(str(exc)) from None
    if key == "redis_url" and (problem := redis_url_problem(value)) is not None:
        raise SettingsError(f"redis_url: {problem}")
    if key in CREDENTIAL_KEYS and not sendable(value):
        raise SettingsError(f"{key} {UNSENDABLE}")
    if key == "api_user" and any(ch.isspace() for ch in value):
        raise SettingsError("api_user must not contain spaces")
    if spec.setting is not None:
        value = validate(spec.setting, value)
    return value


def _unechoed(key: str, value: Any, text: str) -> str:
    """`text`, unless it shows any part of a secret-bearing key's value (a message from
    elsewhere: the settings' checks): then only what is wrong in general."""
    if not sensitive(key) or not isinstance(value, str):
        return text
    parts = [value, value.strip()]
    if key == "redis_url" and "@" in value:
        userinfo = value.rpartition("@")[0].partition("//")[2]
        parts += [p for p in userinfo.partition(":")[::2] if len(p) > 2]
    if any(p and p in text for p in parts):
        return f"{key} is not a value it can hold (the value is not shown)"
    return text


def parse(
    raw: Mapping[str, Any], origin: str, *, text_numbers: bool = False
) -> tuple[Policy, PolicySecrets]:
    """Check every key of one source's `raw` values; raise PolicyError listing every fault."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in sorted(set(raw) - set(KEYS)):
        near = [k for k in KEYS if k.lower() == str(key).lower()]
        hint = f" (keys are lower case: {near[0]})" if near else f" (known keys: {', '.join(KEYS)})"
        problems.append(f"unknown key {key!r}{hint}")
    for key in KEYS:
        if key not in raw:
            continue
        try:
            values[key] = _checked(key, raw[key], text_numbers=text_numbers)
        except SettingsError as exc:
            text = _unechoed(key, raw[key], str(exc))
            problems.append(text if text.startswith(key) else f"{key}: {text}")
    if problems:
        raise PolicyError(origin, problems)
    secrets = PolicySecrets(
        api_secret=values.pop("api_secret", None),
        integration_code=values.pop("integration_code", None),
    )
    for key, held in (
        ("api_secret", secrets.api_secret),
        ("integration_code", secrets.integration_code),
    ):
        if held:
            values[key] = True
    if "redis_url" in values:
        address = split_password(values["redis_url"])
        values["redis_url"] = address.url
        secrets = PolicySecrets(
            secrets.api_secret, secrets.integration_code, address.password or ""
        )
    return Policy(values, dict.fromkeys(values, origin)), secrets
