"""The fleet's Redis address: TLS off this computer, no option that weakens TLS, and its password
kept apart from the rest (in the keyring) and put back whole."""

from __future__ import annotations

import pytest

from agent.config.redis_url import redis_url_problem, split_password, with_password


@pytest.mark.parametrize(
    "url",
    [
        "",
        "rediss://redis.office.example:6380/0",
        "rediss://fleet:pw@redis.office.example/1",
        "redis://127.0.0.1:6379/0",
        "redis://localhost:6379",
        "redis://[::1]:6379/2",
        "redis://:pw@127.0.0.5/0",
        "unix:///run/redis/redis.sock",
        "rediss://redis.office.example:6380/0?socket_timeout=5&ssl_ca_certs=/etc/ca.pem",
    ],
)
def test_usable_addresses_pass(url: str) -> None:
    assert redis_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("redis://redis.office.example:6379/0", "rediss://"),
        ("redis://10.0.0.5:6379/0", "rediss://"),
        ("redis://localhost.example.com:6379", "rediss://"),
        ("http://redis.office.example", "must start with"),
        ("rediss://", "needs a host"),
        ("rediss://host:notaport", "not a valid address"),
        ("rediss://host:0", "port"),
        ("rediss://host/abc", "database must be a number"),
        ("rediss://host/0?ssl_cert_reqs=none", "ssl_cert_reqs"),
        ("rediss://host/0?ssl_check_hostname=false", "ssl_check_hostname"),
        ("rediss://host/0?password=x", "password"),
        ("rediss://host/0#x", "fragment"),
        (" rediss://host/0", "spaces"),
        ("unix://host/run/redis.sock", "socket file"),
    ],
)
def test_unsafe_or_malformed_addresses_are_refused_with_the_reason(url: str, said: str) -> None:
    problem = redis_url_problem(url)
    assert problem is not None and said in problem


@pytest.mark.parametrize(
    ("url", "kept", "password"),
    [
        (
            "rediss://fleet:p%40ss@redis.example:6380/0",
            "rediss://fleet@redis.example:6380/0",
            "p%40ss",
        ),
        ("rediss://:pw@redis.example/0", "rediss://redis.example/0", "pw"),
        ("rediss://fleet@redis.example/0", "rediss://fleet@redis.example/0", None),
        ("rediss://redis.example/0", "rediss://redis.example/0", None),
        ("unix://:pw@/run/redis.sock", "unix:///run/redis.sock", "pw"),
    ],
)
def test_the_password_is_taken_apart_and_put_back(url: str, kept: str, password: str | None):
    address = split_password(url)
    assert (address.url, address.password) == (kept, password)
    assert with_password(address.url, address.password) == url
    assert "pw" not in repr(address) and "p%40ss" not in repr(address)
