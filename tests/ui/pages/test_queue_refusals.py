"""The Queue page shows why an operation needs attention in the server's own words, not as a
write whose outcome is still being checked."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_queue import open_page
from ui.models.queue_model import PROBLEM, STATE


def test_a_refused_assignee_reads_as_needing_attention_with_the_servers_reason(
    synced: Desk, qtbot: QtBot
) -> None:
    tenant = synced.sim.tenant
    me = synced.sim.technician_resource_id
    other = next(r for r in sorted(tenant.records["Resources"]) if r != me and tenant.roles_of(r))
    tid = min(t.id for t in synced.run(synced.agent.my_tickets()))
    synced.run(
        synced.agent.update_ticket(
            tid,
            title="Kept apart from the refusal",
            assignedResourceID=other,
            assignedResourceRoleID=min(tenant.roles_of(other)),
        )
    )
    tenant.records["Resources"][other]["isActive"] = False  # left after the last download
    synced.run(synced.agent.sync_now())
    assert synced.sim.dump()["Tickets"][tid]["title"] == "Kept apart from the refusal"

    page = open_page(synced, qtbot)
    page.filter.setCurrentIndex(page.filter.findText("Needs attention"))
    synced.settle(lambda: not page.model.loading and page.model.rowCount() == 1)
    item = page.model.item_at(0)
    reason = f"The resource {other} does not exist or is inactive."
    assert page.model.text(item, STATE) == "Needs attention"
    assert reason in page.model.text(item, PROBLEM)
    assert "Checking whether" not in page.model.text(item, PROBLEM)
    page.table.selectRow(0)
    assert reason in page.detail_text.text()
