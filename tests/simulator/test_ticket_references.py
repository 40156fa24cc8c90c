"""A ticket's references to what the tenant knows (contract, company location, billing code, SLA,
contact) are checked as business rules (500 with a message naming the field); a valid one is
stored."""

from __future__ import annotations

import httpx

from agent.simulator import Simulator


def _ticket_with_contract(sim: Simulator) -> tuple[int, dict[str, object]]:
    contract = next(iter(sim.tenant.records["Contracts"].values()))
    tickets = sim.tenant.records["Tickets"]
    ticket_id = next(i for i, t in tickets.items() if t["companyID"] == contract["companyID"])
    return ticket_id, contract


async def test_a_contract_must_exist_and_be_the_tickets_companys(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id, contract = _ticket_with_contract(sim)
    before = dict(sim.tenant.records["Tickets"][ticket_id])
    r = await api.patch("Tickets", json={"id": ticket_id, "contractID": 12345})
    assert r.status_code == 500
    assert r.json()["errors"] == ["The contract 12345 named in contractID does not exist."]
    other = next(
        c for c in sim.tenant.records["Contracts"].values() if c["companyID"] != before["companyID"]
    )
    r = await api.patch("Tickets", json={"id": ticket_id, "contractID": other["id"]})
    assert r.status_code == 500
    assert f"does not belong to company {before['companyID']}" in r.json()["errors"][0]
    assert sim.tenant.records["Tickets"][ticket_id] == before
    r = await api.patch("Tickets", json={"id": ticket_id, "contractID": contract["id"]})
    assert r.status_code == 200
    assert sim.tenant.records["Tickets"][ticket_id]["contractID"] == contract["id"]


async def test_location_billing_code_and_sla_are_checked(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id, _ = _ticket_with_contract(sim)
    company = sim.tenant.records["Tickets"][ticket_id]["companyID"]
    location = next(
        loc["id"]
        for loc in sim.tenant.records["CompanyLocations"].values()
        if loc["companyID"] == company
    )
    code = sim.tenant.picklist("TimeEntries", "billingCodeID")[0].value
    sla = sim.tenant.picklist("Tickets", "serviceLevelAgreementID")[0].value
    bad = {"companyLocationID": 99, "billingCodeID": 98, "serviceLevelAgreementID": 97}
    r = await api.patch("Tickets", json={"id": ticket_id, **bad})
    assert r.status_code == 500
    text = " ".join(r.json()["errors"])
    assert all(name in text for name in bad), text
    good = {"companyLocationID": location, "billingCodeID": code, "serviceLevelAgreementID": sla}
    r = await api.patch("Tickets", json={"id": ticket_id, **good})
    assert r.status_code == 200, r.text
    stored = sim.tenant.records["Tickets"][ticket_id]
    assert {k: stored[k] for k in good} == good


async def test_a_reference_without_a_company_says_so_in_words(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket = next(t for t in sim.tenant.records["Tickets"].values() if t["contactID"])
    r = await api.patch("Tickets", json={"id": ticket["id"], "companyID": None})
    assert r.status_code == 500
    text = " ".join(r.json()["errors"])
    assert f"The contact {ticket['contactID']} does not belong to no company." in text
    assert "None" not in text
