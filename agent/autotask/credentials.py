"""The API user's credentials, kept out of every repr, log line and error message."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def headers(self) -> dict[str, str]:
        """The authentication headers sent on every call except the zone lookup."""
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
