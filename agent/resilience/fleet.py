"""Fleet mode: every agent of a tenant shares one request budget and its breaker states in Redis.

The budget is a token bucket updated atomically by a Lua script using the Redis server's clock,
so agents on machines with skewed clocks still agree. The same script keeps the fleet's roster:
every agent that drew from the budget within the tenant's window, so each knows how many share it
and takes its part of the share, with no `fleet_size` in the policy (the bucket alone would only
pace the fleet's rate, not bound what it spends in an hour).

An agent that opens a breaker writes it to a hash (`<prefix>:breakers`, value = JSON with the
time it stays open, on the Redis server's clock like the budget, so agents whose clocks are days
apart still agree); the others poll the hash every `poll_interval` seconds and open their own
breaker until then, never longer than a breaker's longest break. An entry is adopted once (a
stale one does not renew the break at every poll); the break ends when the entry goes (its
agent's probe succeeded; an agent removes only the entry it wrote). A change Redis failed to take
is written at the next sync. An entry that cannot be read (written by a stranger or another
version) is skipped and logged once; a board of another type is no outage (the breakers stay
each agent's own, said once) and is replaced by an empty one, as are the budget's and roster's
keys. Polling is used rather than pub/sub because it needs no long-lived listener task and
catches up by itself after a Redis outage.

If Redis cannot be reached, nothing stops: each agent falls back to a local bucket holding
`1 / expected_agents` of the budget (a conservative share) and tries Redis again every
`retry_interval` seconds. An outage is logged once, however many tries fail, and the return
once, at the first call Redis answers. (The `limits` package has Redis strategies too, but
counts fixed or moving windows on each client's clock and has no fallback; a twenty-line script
does exactly what the pacer's `Budget` protocol needs.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience.breaker import BreakerRegistry, BreakerState
from agent.resilience.events import BreakerChanged
from agent.resilience.quota import TokenBucket

log = logging.getLogger(__name__)

FLEET_REASON = "fleet: "

TOKEN_BUCKET_LUA = """
-- The fleet's own keys: one of another type (written by a stranger) is replaced, not fatal.
local function own(key, kind)
  local found = redis.call('TYPE', key)['ok']
  if found ~= kind and found ~= 'none' then redis.call('DEL', key) end
end
own(KEYS[1], 'hash')
own(KEYS[2], 'zset')
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= cost - 1e-9 then
  tokens = math.max(0, tokens - cost)
else
  wait = math.max(0.001, (cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], 7200)
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 86400)
redis.call('EXPIRE', KEYS[2], 86460)
return {tostring(wait), redis.call('ZCOUNT', KEYS[2], now - tonumber(ARGV[5]), '+inf')}
"""


REMOVE_OWN_LUA = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class FleetLink:
    """The shared budget and breaker board of a fleet, with a local fallback."""

    def __init__(
        self,
        url: str,
        prefix: str,
        clock: Clock = SYSTEM_CLOCK,
        expected_agents: int = 3,
        poll_interval: float = 0.25,
        retry_interval: float = 5.0,
        socket_timeout: float = 1.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.prefix = prefix
        self.agent_id = uuid.uuid4().hex
        self.expected_agents = max(1, expected_agents)
        self.poll_interval = poll_interval
        self.retry_interval = retry_interval
        self._clock = clock
        # Ten agents starting at once on a busy computer can take more than a second to connect:
        # that is no outage (it would be logged as one, and each would pace alone meanwhile).
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=socket_timeout
        )
        self._script = self._redis.register_script(TOKEN_BUCKET_LUA)
        self._remove_own = self._redis.register_script(REMOVE_OWN_LUA)
        self._fallback: TokenBucket | None = None
        self._down_until = 0.0
        self._away = False  # Redis failed and has not answered since (logged once)
        self._next_poll = 0.0
        self._reading = asyncio.Lock()  # held while the breaker board is read
        self._changed: list[tuple[str, str]] = []
        # Breakers open because of the board, with the entry that opened each: an entry is
        # adopted once (a stale one must not renew its break at every poll).
        self._adopted: dict[tuple[str, str], tuple[float, str]] = {}
        self._written: dict[str, str] = {}  # field -> the value this agent last wrote there
        self._board_said = False  # a board that cannot be read was logged
        self._fault_said = False  # an unexpected failure of `sync` was logged
        self._unreadable: set[bytes | str] = set()  # board fields said to be unreadable
        self.fallbacks = 0
        self._agents = 0  # agents in the roster at the last answer

    @property
    def connected(self) -> bool:
        return self._clock.monotonic() >= self._down_until

    def _went_down(self, error: Exception) -> None:
        if not self._away:
            self._away = True
            log.warning("fleet Redis unreachable, using a local share of the budget: %s", error)
        self._down_until = self._clock.monotonic() + self.retry_interval

    def _answered(self) -> None:
        if self._away:
            self._away = False
            log.info("fleet Redis reachable again, sharing the budget and breakers")

    # -- budget ----------------------------------------------------------------------------------
    async def try_take(
        self, cost: float, rate: float, capacity: float, window: float = 3600.0
    ) -> float:
        """The `Budget` protocol: shared through Redis, or a local share when it is away. Each
        call also enters this agent in the fleet's roster (`<prefix>:agents`, its id and the
        server's time, kept a day), so every agent knows how many drew from the budget within
        `window` (each counts by its own window and removes no one by it)."""
        if self.connected:
            try:
                keys = [f"{self.prefix}:budget", f"{self.prefix}:agents"]
                args: list[str | float] = [rate, capacity, cost, self.agent_id, window]
                raw, agents = await self._script(keys=keys, args=args)
                self._answered()
                self._agents = max(1, int(agents))
                return float(raw)
            except (RedisError, OSError) as error:
                self._went_down(error)
        self.fallbacks += 1
        share = 1.0 / self.expected_agents
        local_capacity = max(1.0, capacity * share)
        if self._fallback is None:
            self._fallback = TokenBucket(self._clock, local_capacity)
        return self._fallback.take_now(cost, rate * share, local_capacity)

    def agents(self) -> int:
        """Agents of the fleet that drew from the budget within the window, this one included,
        as Redis last said; 0 while Redis is away or before its first answer (the pacer then
        counts from the tenant's readings)."""
        return self._agents if self.connected else 0

    # -- breakers --------------------------------------------------------------------------------
    def on_breaker_event(self, event: Any) -> None:
        """Hub listener: remember local breaker changes to publish on the next `sync`."""
        if isinstance(event, BreakerChanged) and not event.reason.startswith(FLEET_REASON):
            self._changed.append((event.zone, event.endpoint))

    async def sync(self, registry: BreakerRegistry) -> None:
        """Publish local openings and adopt the fleet's, at most every `poll_interval`."""
        if not self.connected:
            return
        try:
            talked = await self._publish(registry)
            # Calls run concurrently: one made while another reads the board waits for that
            # reading, or it could go out past a breaker the reading is about to open.
            if self._reading.locked() or self._clock.monotonic() >= self._next_poll:
                async with self._reading:
                    if self.connected and self._clock.monotonic() >= self._next_poll:
                        await self._adopt(registry)
                        self._board_said = False  # read as a board again
                        self._next_poll = self._clock.monotonic() + self.poll_interval
                        talked = True
        except ResponseError as error:
            # Redis answered, but not as a board (a key of another type, a command refused):
            # no outage; the breakers stay this agent's own until the board can be read. A key
            # of another type under the fleet's own name is replaced by an empty board.
            self._next_poll = self._clock.monotonic() + self.retry_interval
            if not self._board_said:
                self._board_said = True
                log.warning("the fleet's breaker board cannot be read: %s", error)
            if "WRONGTYPE" in str(error):
                with contextlib.suppress(RedisError, OSError):
                    await self._redis.delete(f"{self.prefix}:breakers")
            return
        except (RedisError, OSError) as error:
            self._went_down(error)
            return
        except Exception:  # sharing breakers must never stop a call: said once
            if not self._fault_said:
                self._fault_said = True
                log.exception("the fleet's breakers could not be shared")
            return
        if talked:
            self._answered()

    async def _server_time(self) -> float:
        seconds, micros = await self._redis.time()
        return float(seconds) + float(micros) / 1_000_000

    async def _publish(self, registry: BreakerRegistry) -> bool:
        """Write the breakers that changed here; whether anything was written."""
        # A change leaves the list only once written: one Redis failed to take is written at
        # the next sync, not lost (a close lost would keep the others' breakers open).
        key = f"{self.prefix}:breakers"
        wrote = False
        for zone, endpoint in list(dict.fromkeys(self._changed)):
            breaker = registry.get(zone, endpoint)
            field = f"{zone}\x1f{endpoint}"
            if breaker.state is BreakerState.OPEN:
                remaining = breaker.opened_until - self._clock.monotonic()
                until = await self._server_time() + remaining
                value = json.dumps({"until": until, "agent": self.agent_id})
                await self._redis.hset(key, field, value)
                self._written[field] = value
                wrote = True
            elif breaker.state is BreakerState.CLOSED and field in self._written:
                # Only the entry this agent wrote: another agent's opening since stands.
                await self._remove_own(keys=[key], args=[field, self._written[field]])
                self._written.pop(field, None)  # (a sync beside this one may have)
                wrote = True
            self._changed = [c for c in self._changed if c != (zone, endpoint)]
        return wrote

    async def _adopt(self, registry: BreakerRegistry) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.time()
            pipe.hgetall(f"{self.prefix}:breakers")
            (seconds, micros), board = await pipe.execute()
        server_now = float(seconds) + float(micros) / 1_000_000
        longest = registry.settings.max_break_seconds
        listed: set[tuple[str, str]] = set()
        for raw_field, raw_value in board.items():
            entry = self._entry(raw_field, raw_value)
            if entry is None:
                continue
            zone, endpoint, until, agent = entry
            listed.add((zone, endpoint))
            if agent == self.agent_id or until <= server_now:
                continue
            if self._adopted.get((zone, endpoint)) == (until, agent):
                continue  # adopted already: its break (capped) runs its course here
            remaining = min(until - server_now, longest)
            breaker = registry.get(zone, endpoint)
            breaker.force_open(
                self._clock.monotonic() + remaining, FLEET_REASON + "opened by another agent"
            )
            self._adopted[(zone, endpoint)] = (until, agent)
        # An entry gone: the agent that opened it closed it again (its probe succeeded).
        for gone in set(self._adopted) - listed:
            registry.get(*gone).end_break()
            del self._adopted[gone]

    def _entry(self, raw_field: Any, raw_value: Any) -> tuple[str, str, float, str] | None:
        """(zone, endpoint, until, agent) of a board entry, or None when it cannot be read."""
        try:
            name = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
            zone, sep, endpoint = name.partition("\x1f")
            entry = json.loads(raw_value)
            value = entry["until"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("its time is not a number")
            until = float(value)
            agent = entry.get("agent")
            if not sep or not math.isfinite(until):
                raise ValueError("not a breaker entry")
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as error:
            if raw_field not in self._unreadable:
                self._unreadable.add(raw_field)
                log.warning("an entry of the fleet's breaker board cannot be read: %s", error)
            return None
        return zone, endpoint, until, str(agent)

    async def close(self) -> None:
        await self._redis.aclose()
