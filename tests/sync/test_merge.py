"""The three-way merge decides each changed field by base, mine and theirs, with a reason."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.sync.merge import Decision, normalise, three_way_merge
from agent.sync.policy import FieldPolicy, policy_for

values = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["a", "b", "c"]))


def test_server_unchanged_sends_mine() -> None:
    r = three_way_merge("Tickets", {"status": 1}, {"status": 5}, {"status": 1, "title": "x"})
    assert r.to_send == {"status": 5}
    assert r.decisions[0].reason == "server unchanged since my edit"


def test_both_equal_sends_nothing() -> None:
    r = three_way_merge("Tickets", {"status": 1}, {"status": 5}, {"status": 5})
    assert r.to_send == {} and r.decisions[0].decision is Decision.ALREADY_EQUAL


def test_both_changed_differently_is_a_conflict_on_that_field_only() -> None:
    r = three_way_merge(
        "Tickets",
        base={"status": 1, "priority": 2},
        mine={"status": 5, "priority": 3},
        theirs={"status": 8, "priority": 2, "description": "dispatcher's text"},
    )
    assert [c.field for c in r.conflicts] == ["status"]
    assert r.to_send == {"priority": 3}
    c = r.conflicts[0]
    assert (c.base, c.mine, c.theirs) == (1, 5, 8)


def test_fields_i_did_not_touch_are_never_sent_so_their_changes_stand() -> None:
    r = three_way_merge(
        "Tickets",
        {"title": "a"},
        {"title": "b"},
        {"title": "a", "description": "changed by dispatcher", "status": 9},
    )
    assert r.to_send == {"title": "b"}


def test_property_names_match_without_regard_to_case() -> None:
    r = three_way_merge("Tickets", {"status": 1}, {"status": 5}, {"Status": 8})
    assert r.conflicts[0].theirs == 8


def test_notes_are_append_only_and_never_conflict() -> None:
    assert policy_for("TicketNotes", "description") is FieldPolicy.MINE_WINS
    r = three_way_merge(
        "TicketNotes", {"description": "a"}, {"description": "b"}, {"description": "c"}
    )
    assert r.conflicts == () and r.to_send == {"description": "b"}


def test_server_owned_fields_are_never_sent() -> None:
    r = three_way_merge(
        "Tickets", {"lastActivityDate": "x"}, {"lastActivityDate": "y"}, {"lastActivityDate": "x"}
    )
    assert r.to_send == {}


def test_values_compare_as_the_server_means_them() -> None:
    assert normalise("2026-01-05T09:00:00Z") == normalise("2026-01-05T09:00:00.000+00:00")
    assert normalise("5") == 5 and normalise(5.0) == 5
    assert normalise("text  ") == "text" and normalise("") is None


@given(base=values, mine=values, theirs=values)
def test_merge_table_holds_for_any_values(base: object, mine: object, theirs: object) -> None:
    (d,) = three_way_merge(
        "Tickets", {"status": base}, {"status": mine}, {"status": theirs}
    ).decisions
    n = normalise
    if n(theirs) == n(mine):
        assert d.decision is Decision.ALREADY_EQUAL
    elif n(theirs) == n(base):
        assert d.decision is Decision.SEND_MINE
    elif n(mine) == n(base):
        assert d.decision is Decision.KEEP_THEIRS
    else:
        assert d.decision is Decision.CONFLICT
    assert d.reason
