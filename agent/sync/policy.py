"""Which fields may conflict, and who wins when both sides changed one: the explicit table.

Notes are append-only (a new note never conflicts: creating it cannot overwrite anyone's text);
the ticket fields a dispatcher also edits (status, priority, title, description, due date,
assignee, queue) ask the technician; server-maintained fields always keep the server's value.
"""

from __future__ import annotations

import enum


class FieldPolicy(enum.StrEnum):
    ASK = "ask"  # both changed differently: a conflict the technician resolves
    MINE_WINS = "mine_wins"  # my value is sent even if the server changed it
    THEIRS_WINS = "theirs_wins"  # the server's value stands; mine is kept in the audit only
    SERVER_OWNED = "server_owned"  # never written by the agent


APPEND_ONLY_ENTITIES = frozenset({"TicketNotes"})

SERVER_OWNED_FIELDS = frozenset(
    {
        "id",
        "createdate",
        "createdatetime",
        "lastactivitydate",
        "lasttrackedmodificationdatetime",
        "lastmodifieddatetime",
        "lastmodifieddate",
        "lasttrackedmodifieddatetime",
        "ticketnumber",
        "hourstobill",
        "creatorresourceid",
        "creatortype",
        "lastactivitypersontype",
    }
)

TABLE: dict[tuple[str, str], FieldPolicy] = {
    ("Tickets", "status"): FieldPolicy.ASK,
    ("Tickets", "priority"): FieldPolicy.ASK,
    ("Tickets", "title"): FieldPolicy.ASK,
    ("Tickets", "description"): FieldPolicy.ASK,
    ("Tickets", "dueDateTime"): FieldPolicy.ASK,
    ("Tickets", "assignedResourceID"): FieldPolicy.ASK,
    ("Tickets", "assignedResourceRoleID"): FieldPolicy.ASK,
    ("Tickets", "queueID"): FieldPolicy.ASK,
    # A time entry belongs to the technician who logged it: their correction stands.
    ("TimeEntries", "summaryNotes"): FieldPolicy.MINE_WINS,
    ("TimeEntries", "hoursWorked"): FieldPolicy.ASK,
    ("TimeEntries", "startDateTime"): FieldPolicy.ASK,
    ("TimeEntries", "endDateTime"): FieldPolicy.ASK,
}


def policy_for(entity_type: str, field: str) -> FieldPolicy:
    if field.lower() in SERVER_OWNED_FIELDS:
        return FieldPolicy.SERVER_OWNED
    if entity_type in APPEND_ONLY_ENTITIES:
        return FieldPolicy.MINE_WINS
    for (etype, name), policy in TABLE.items():
        if etype == entity_type and name.lower() == field.lower():
            return policy
    return FieldPolicy.ASK


# Fields the server works out or stamps itself on a write (an amount from quantity and price,
# who last changed the record, an approval): a change of one says nothing a technician deleting
# the record has not seen, and a write of their own moves them too.
DERIVED_FIELDS: dict[str, frozenset[str]] = {
    "TicketCharges": frozenset(
        {
            "billableamount",
            "extendedcost",
            "internalcurrencybillableamount",
            "internalcurrencyunitprice",
            "isbilled",
            "statuslastmodifiedby",
            "statuslastmodifieddate",
        }
    ),
    "TimeEntries": frozenset(
        {
            "timeentrytype",
            "billingapprovaldatetime",
            "billingapprovallevelmostrecent",
            "billingapprovalresourceid",
            "lastmodifieduserid",
            "creatoruserid",
        }
    ),
}


def compared_before_delete(entity_type: str, field: str) -> bool:
    """Whether a delete compares `field` of the record it was made against with the server's
    record before it is sent (a change of it is a conflict)."""
    name = field.lower()
    return not (
        name in SERVER_OWNED_FIELDS
        or name.startswith("impersonator")
        or name in DERIVED_FIELDS.get(entity_type, frozenset())
    )
