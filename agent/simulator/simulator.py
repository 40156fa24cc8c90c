"""`Simulator`: one simulated Autotask service (tenants, limits, faults, dispatcher, ASGI app)."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterable
from typing import Any

from agent.clock import SYSTEM_CLOCK, Clock
from agent.simulator import impersonation, writes
from agent.simulator.app import SimulatorApp
from agent.simulator.auth import Directory
from agent.simulator.control import Control
from agent.simulator.dispatcher import Dispatcher
from agent.simulator.faults import Faults
from agent.simulator.limits import Limits
from agent.simulator.seed import DEMO_USERNAME, build_tenant
from agent.simulator.tenant import Actor, Record, Tenant

# The time a served tenant (the `simulator` command, the demo) takes per request: about what
# a quiet production zone takes for a small read. `SERVICE_TIME_ENV` overrides it (the test
# suite sets it to 0, so tests that start the demo answer at once).
SERVED_SERVICE_TIME = 0.08
SERVICE_TIME_ENV = "FIELD_SYNC_SIM_SERVICE_TIME"


def served_service_time() -> float:
    """The service time of a served tenant: `SERVICE_TIME_ENV` when set to seconds (0 or
    more), else `SERVED_SERVICE_TIME`."""
    raw = os.environ.get(SERVICE_TIME_ENV, "").strip()
    try:
        value = float(raw) if raw else SERVED_SERVICE_TIME
    except ValueError:
        raise ValueError(f"{SERVICE_TIME_ENV} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{SERVICE_TIME_ENV} must be 0 or more seconds, not {raw!r}")
    return value


class Simulator:
    """A deterministic Autotask tenant behind an ASGI app (`app`), with `faults` and a
    `dispatcher`. The same seed and clock always build the same data."""

    def __init__(
        self,
        seed: str = "demo",
        tickets: int = 500,
        time_scale: float = 1.0,
        clock: Clock | None = None,
        threshold: int = 10_000,
        service_time: float = 0.0,
        impersonation_refused: Iterable[str] = (),
    ) -> None:
        """`service_time`: simulated seconds each request takes (scaled by `time_scale`); zero
        answers at once, `SERVED_SERVICE_TIME` is what a served tenant uses.
        `impersonation_refused`: entities (`"TicketNotes"`) whose writes the tenant's security
        levels refuse to impersonate."""
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.seed = seed
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.tenant: Tenant = build_tenant(seed, tickets, self.clock)
        impersonation.refuse(self.tenant, impersonation_refused)
        self.directory = Directory(self.tenant)
        self.limits = Limits(self.clock, threshold, time_scale, service_time)
        self.faults = Faults(seed, self.directory)
        self.dispatcher = Dispatcher(self)
        self.control = Control(self)
        self.app = SimulatorApp(self)

    @property
    def technician_resource_id(self) -> int:
        """The technician whose tickets the agent syncs: the first of the staff (the agent
        signs in as the API user and acts on this resource's behalf)."""
        return sorted(self.tenant.records["Resources"])[0]

    @property
    def api_user_resource_id(self) -> int:
        """The demo API user's own resource (API-only): the impersonator of every change the
        agent makes for the technician."""
        user = self.tenant.user(DEMO_USERNAME)
        assert user is not None
        return user.resource_id

    @property
    def dispatcher_resource_id(self) -> int:
        """The resource the simulated dispatcher's edits are attributed to."""
        return sorted(self.tenant.records["Resources"])[1]

    @property
    def zone(self) -> int:
        return self.tenant.zone

    def add_tenant(
        self,
        seed: str,
        username: str,
        secret: str,
        integration_code: str,
        zone: int,
        tickets: int = 50,
    ) -> Tenant:
        """Another database with its own API user, e.g. in another zone."""
        tenant = build_tenant(seed, tickets, self.clock, zone=zone)
        seeded = tenant.user(DEMO_USERNAME)  # its API-only resource serves this tenant's user
        assert seeded is not None
        tenant.users.clear()
        tenant.add_user(username, secret, seeded.resource_id)
        tenant.integration_codes = {integration_code}
        self.directory.add(tenant)
        return tenant

    def add_integration_code(self, code: str) -> None:
        """Accept one more integration code for the demo tenant (each has its own threads)."""
        self.tenant.integration_codes.add(code)

    def edit_ticket(self, ticket_id: int, **fields: Any) -> Record:
        """Change a ticket as a dispatcher would (markers move); raises `WriteError` if invalid."""
        writes.write(
            self.tenant,
            "Tickets",
            "PATCH",
            {**fields, "id": ticket_id},
            Actor(self.dispatcher_resource_id),
        )
        return copy.deepcopy(self.tenant.records["Tickets"][ticket_id])

    def dump(self) -> dict[str, dict[int, Record]]:
        """The demo tenant's records as plain dicts, by entity route and id."""
        return self.tenant.dump()
