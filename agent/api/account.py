"""Signing in and out: test a connection with distinct answers, find the technician's resource,
check that changes can be made in the technician's name, keep the credentials in the keyring,
and (on request) wipe the local data."""

from __future__ import annotations

import httpx

from agent.api.types import ConnectionTest
from agent.autotask import (
    AutotaskClient,
    AutotaskError,
    ImpersonationRefusedError,
    InvalidIntegrationCodeError,
    NetworkError,
    NotFoundError,
    RequestTimeoutError,
    UnknownUserError,
    UntrustedCertificateError,
    UntrustedZoneError,
    ValidationError,
    WrongSecretError,
)
from agent.autotask.convert import ENTITY_WORDS
from agent.autotask.credentials import ApiCredentials
from agent.autotask.queries import eq
from agent.autotask.routes import CHILD_ROUTES
from agent.autotask.session import ClientOptions

MESSAGES = {
    "ok": "Connected. Autotask accepted the user name, secret and integration code.",
    "unknown_user": "Autotask does not know this API user name. Check it (it is an e-mail "
    "address of an API-only user).",
    "wrong_secret": "The user name is right but the secret is wrong. Copy it again from "
    "Autotask (Admin > Resources > API user).",
    "bad_integration_code": "The integration code is not valid. Use the tracking identifier "
    "of your integration.",
    "no_network": "Autotask cannot be reached. Check the network connection and try again.",
    "no_resource": "Connected, but no active resource has this e-mail address.",
    "api_only_resource": "This e-mail address is an API-only user's, not a technician's: "
    "changes made in its name would not carry yours. Enter your own Autotask e-mail address.",
    "impersonation_refused": "Connected, but Autotask does not allow changes to {entities} to "
    "be made in your name: the security levels do not permit the API user to impersonate you "
    "for them. Ask your Autotask administrator to allow impersonation (Admin > Security Levels "
    "> Web Services API), then sign in again.",
}

# What the agent writes in the technician's name, checked at sign-in (attachments are only
# created, never changed, so no write that changes nothing can ask about them).
IMPERSONATED_ENTITIES = (
    "Tickets",
    "TicketNotes",
    "TimeEntries",
    "TicketCharges",
    "TicketChecklistItems",
    "ServiceCalls",
)
API_ONLY_LICENSE = 7  # Resources.licenseType of an API-only user


# Failures whose own message is the one to show (it names the server and what to do).
SELF_EXPLAINED = {
    UntrustedCertificateError: "untrusted_certificate",
    UntrustedZoneError: "untrusted_zone",
}


def _kind(exc: AutotaskError) -> str:
    for kind, name in SELF_EXPLAINED.items():
        if isinstance(exc, kind):
            return name
    if isinstance(exc, UnknownUserError):
        return "unknown_user"
    if isinstance(exc, WrongSecretError):
        return "wrong_secret"
    if isinstance(exc, InvalidIntegrationCodeError):
        return "bad_integration_code"
    if isinstance(exc, NetworkError | RequestTimeoutError):
        return "no_network"
    return "other"


async def check_connection(
    username: str,
    secret: str,
    integration_code: str,
    *,
    directory_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    resource_email: str | None = None,
) -> tuple[ConnectionTest, int | None]:
    """Try the credentials with one cheap call; find the resource by e-mail when given."""
    problem = ApiCredentials(username, secret, integration_code).problem()
    if problem is not None:  # nothing is sent, not even the zone lookup
        return ConnectionTest(False, problem, "other"), None
    opts = ClientOptions(directory_url=directory_url) if directory_url else ClientOptions()
    async with httpx.AsyncClient(transport=transport, timeout=20.0) as http:
        client = AutotaskClient(
            http, ApiCredentials(username, secret, integration_code), options=opts
        )
        try:
            await client.threshold()
            resource_id = None
            if resource_email:
                api_only = False
                async for r in client.query("Resources", eq("email", resource_email.strip())):
                    if r.get("isActive") is False:
                        continue
                    if r.get("licenseType") == API_ONLY_LICENSE:
                        api_only = True
                        continue
                    resource_id = int(r["id"])
                    break
                if resource_id is None:
                    kind = "api_only_resource" if api_only else "no_resource"
                    return ConnectionTest(False, MESSAGES[kind], "other"), None
                as_technician = AutotaskClient(
                    http,
                    ApiCredentials(
                        username, secret, integration_code, impersonation_resource_id=resource_id
                    ),
                    options=opts,
                )
                refused = await refused_entities(as_technician)
                if refused:
                    words = ", ".join(ENTITY_WORDS.get(e, e) for e in refused)
                    message = MESSAGES["impersonation_refused"].format(entities=words)
                    return ConnectionTest(False, message, "impersonation_refused"), None
        except AutotaskError as exc:
            kind = _kind(exc)
            return ConnectionTest(False, MESSAGES.get(kind, str(exc)), kind), None
    return ConnectionTest(True, MESSAGES["ok"], "ok"), resource_id


async def refused_entities(client: AutotaskClient) -> list[str]:
    """The entities of `IMPERSONATED_ENTITIES` that Autotask refuses to write in the name of
    the resource `client` impersonates.

    The REST API has no call that reads a security level, so each entity is asked with a write
    that cannot change anything: a PATCH of record 0 (ids start at 1; for a child entity, under
    parent 0). Impersonation is checked before the record is looked up (so the simulator
    does; unconfirmed for Autotask, see docs/autotask-api-notes.md), so a refused entity
    answers the impersonation refusal and an allowed one "not found"; one request per entity,
    no data created or changed.
    """
    refused = []
    for entity in IMPERSONATED_ENTITIES:
        parent = 0 if entity in CHILD_ROUTES else None
        try:
            await client.update(entity, 0, {"id": 0}, parent_id=parent)
        except ImpersonationRefusedError:
            refused.append(entity)
        except (ValidationError, NotFoundError):
            continue  # allowed: the record was looked for (and, as ever, not found)
    return refused
