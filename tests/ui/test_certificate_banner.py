"""The window's banner says the server's certificate is not trusted, not that Autotask cannot be
reached, when that is why nothing syncs (the network is up, and something intercepts it)."""

from __future__ import annotations

from agent.api.types import AgentStatus, SyncState
from ui.banner import notice_for

UNTRUSTED = (
    "The server's certificate is not trusted: the server at webservices5.autotask.net "
    "presented a certificate it signed itself."
)


def _status(**changes: object) -> AgentStatus:
    values: dict[str, object] = {
        "state": SyncState.OFFLINE,
        "mode": "offline",
        "online": False,
        "paused": False,
        "work_offline": False,
        "pending": 2,
        "needs_attention": 0,
        "conflicts": 0,
        "last_sync_at": None,
        "last_error": None,
        "signed_in": True,
        "demo": False,
        "first_sync_done": True,
        "reason": UNTRUSTED,
        "connection_problem": UNTRUSTED,
    }
    values.update(changes)
    return AgentStatus(**values)  # type: ignore[arg-type]


def test_an_untrusted_certificate_is_the_banners_message() -> None:
    for online in (False, True):  # the prober's TCP connect may have said "online" meanwhile
        notice = notice_for(_status(online=online))
        assert notice is not None
        kind, text, action, _label = notice
        assert (kind, text, action) == ("offline", UNTRUSTED, "retry")


def test_without_a_certificate_problem_an_outage_is_still_an_outage() -> None:
    notice = notice_for(_status(connection_problem=None))
    assert notice is not None and "cannot be reached" in notice[1]


def test_working_offline_by_choice_comes_first() -> None:
    notice = notice_for(_status(work_offline=True))
    assert notice is not None and notice[2] == "go_online"
