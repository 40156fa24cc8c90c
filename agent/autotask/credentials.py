"""The API user's credentials, kept out of every repr, log line and error message."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.autotask.errors import UnsendableCredentialsError

# Why a sign-in part cannot be used, after what it is ("The secret ..."); never its value.
UNSENDABLE = (
    "holds a character that cannot be sent to Autotask (only ASCII letters, digits, punctuation "
    "and spaces can be; not a letter such as \u00e9, nor a control character); the value is "
    "not shown. Check it, or copy it again from Autotask"
)


def sendable(value: str) -> bool:
    """Whether `value` can travel in an HTTP header: printable ASCII only (a letter outside
    ASCII, a lone surrogate, NUL or another control character cannot)."""
    return all(" " <= ch <= "~" for ch in value)


@dataclass(frozen=True)
class ApiCredentials:
    """What Autotask needs to authenticate an API-only user.

    `secret` and `integration_code` are excluded from `repr` (and hence from logs and
    tracebacks that print the object); the user name is not a secret.
    """

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)
    impersonation_resource_id: int | None = None

    def problem(self) -> str | None:
        """Why these credentials cannot be sent (never showing a value), or None."""
        for what, value in (
            ("The API user name", self.username),
            ("The secret", self.secret),
            ("The integration code", self.integration_code),
        ):
            if not sendable(value):
                return f"{what} {UNSENDABLE}."
        return None

    def headers(self) -> dict[str, str]:
        """The authentication headers sent on every call except the zone lookup
        (`UnsendableCredentialsError` when a part cannot be sent in one)."""
        problem = self.problem()
        if problem is not None:
            raise UnsendableCredentialsError(problem)
        headers = {
            "ApiIntegrationCode": self.integration_code,
            "UserName": self.username,
            "Secret": self.secret,
        }
        if self.impersonation_resource_id is not None:
            headers["ImpersonationResourceId"] = str(self.impersonation_resource_id)
        return headers

    def secret_values(self) -> tuple[str, ...]:
        """Values that must never leak into a message; longest first so scrubbing is complete."""
        values = {v for v in (self.secret, self.integration_code) if v}
        return tuple(sorted(values, key=len, reverse=True))
