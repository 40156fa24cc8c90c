"""Who the signed-in technician is, as the pages need it (their own roles, "changed by" names)."""

from __future__ import annotations

from typing import Any

from ui.service import AgentService


def technician_id(service: AgentService) -> int | None:
    """The technician's resource id: from settings first, then from how the agent was opened."""
    agent: Any = service.agent
    me = getattr(getattr(agent, "settings", None), "technician_resource_id", None)
    if me is None:
        me = getattr(getattr(agent, "options", None), "technician_resource_id", None)
    if me is None:
        profile_settings = getattr(getattr(agent, "profile", None), "settings", None)
        me = getattr(profile_settings, "technician_resource_id", None)
    return me if isinstance(me, int) else None
