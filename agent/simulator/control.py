"""The `/_sim/...` control routes: faults, state, dispatcher, zone and secret, over JSON.

They take no credentials: the simulator serves loopback only, for tests and the demo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.simulator import impersonation
from agent.simulator.faults import FaultRule
from agent.simulator.schema import BY_ROUTE
from agent.simulator.wire import Reply, Request, errors, not_found

if TYPE_CHECKING:
    from agent.simulator.simulator import Simulator

_RULE_FIELDS = {f for f in FaultRule.__dataclass_fields__ if f not in ("fired", "rule_id")}


class Control:
    """Dispatches `/_sim/<name>` requests to the simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def handle(self, request: Request) -> Reply:
        parts = [p for p in request.path.lower().split("/") if p][1:]
        try:
            body = request.json() if request.body.strip() else {}
        except ValueError:
            return errors(400, "The body is not valid JSON.")
        if not isinstance(body, dict):
            return errors(400, "The body must be a JSON object.")
        try:
            return await self.route(request.method, parts, body, request)
        except (ValueError, KeyError, TypeError) as exc:
            return errors(400, str(exc))

    async def route(
        self, method: str, parts: list[str], body: dict[str, Any], request: Request
    ) -> Reply:
        sim = self.sim
        if parts == ["faults"]:
            if method == "GET":
                return Reply(200, {"faults": sim.faults.describe()})
            if method == "DELETE":
                sim.faults.clear()
                return Reply(200, {"faults": []})
            if method == "POST":
                fields = {k: v for k, v in body.items() if k in _RULE_FIELDS}
                if "count" in body:
                    fields["remaining"] = body["count"]
                rule = sim.faults.add(FaultRule(**fields))
                return Reply(200, {"ruleId": rule.rule_id})
        if parts == ["faults", "release"] and method == "POST":
            sim.faults.release_hangs()
            return Reply(200, {"released": True})
        if parts == ["state"] and method == "GET":
            return Reply(200, self.state(request.query()))
        if parts == ["dispatcher"] and method == "POST":
            action = body.get("action")
            if action == "step":
                return Reply(200, {"edits": await sim.dispatcher.step()})
            if action == "start":
                sim.dispatcher.start()
            elif action == "stop":
                await sim.dispatcher.stop()
            else:
                raise ValueError("action is step, start or stop")
            return Reply(200, {"running": sim.dispatcher.running})
        if parts == ["zone"] and method == "POST":
            sim.faults.migrate_zone(int(body["zone"]))
            return Reply(200, {"zone": sim.tenant.zone})
        if parts == ["impersonation"]:
            return impersonation.control(sim.tenant, method, body)
        if parts == ["secret"] and method == "POST":
            secret = sim.faults.rotate_secret(body.get("username"), body.get("secret"))
            return Reply(200, {"secret": secret})
        if len(parts) == 2 and parts[0] == "tickets" and parts[1].isdigit() and method == "PATCH":
            return Reply(200, {"item": sim.edit_ticket(int(parts[1]), **body)})
        return not_found(request.path)

    def state(self, query: dict[str, str]) -> dict[str, Any]:
        sim, tenant = self.sim, self.sim.tenant
        entity, record_id = query.get("entity"), query.get("id")
        if entity is not None:
            spec = BY_ROUTE[entity.lower()]
            table = tenant.records[spec.route]
            if record_id is not None:
                return {"item": table.get(int(record_id))}
            limit = None if query.get("limit") == "all" else 500
            return {"items": list(table.values())[:limit], "count": len(table)}
        return {
            "tenant": tenant.name,
            "zone": tenant.zone,
            "technicianResourceId": sim.technician_resource_id,
            "apiUserResourceId": sim.api_user_resource_id,
            "impersonationRefused": sorted(tenant.impersonation_refused),
            "counts": {route: len(table) for route, table in tenant.records.items()},
            "thresholdUsage": sim.limits.usage(tenant.name),
            "threshold": sim.limits.threshold,
            "faults": sim.faults.describe(),
            "dispatcherRunning": sim.dispatcher.running,
        }
