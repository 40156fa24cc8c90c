"""The Lua scripts that make the Redis backend's hot paths atomic: fast enqueue and claim.

Both run inside Redis, so several agents (processes, machines) sharing one prefix never hand out
the same operation twice nor interleave an enqueue with a claim. Key layout (prefix P, ids in
members are zero-padded to 12 digits so equal scores order by id):
  P:seq                 INCR source of operation ids
  P:op:<id>             hash of one operation (field names as `Operation`'s, plus `ekey`)
  P:fp                  hash fingerprint -> id of live operations
  P:live:<type>:<key>   zset of live operations on one entity (score id)
  P:past:<type>:<key>   zset of finished operations on one entity (score id)
  P:temp                hash temp id -> newest create carrying it
  P:rdeps:<id>          set of operations waiting for <id>
  P:ready:<priority>    zset of pending operations (score next_attempt_at)
  P:dl                  zset of pending operations with a deadline (score deadline_at)
  P:leases              zset of leased operations (score lease_expires_at)
  P:st:<state>:<prio>   zset of operations by state and priority (score id)
  P:fin                 zset of done/cancelled operations (score updated_at), for purging
  P:bg                  set of live background (technician=False) operations
  P:unknown             zset of operations whose outcome is unknown (score id)
  P:hist:<id>           list of the operation's history events (JSON); the fast enqueue keeps
                        the first ("enqueued") in the operation's hash instead
"""

from __future__ import annotations

from agent.queue.operation import PRIORITY_NAME
from agent.store.models import Priority

# The fast enqueue, in two scripts with the same arguments: one operation, or a batch.
# ARGV: prefix, capacity (-1 = none), now, n, then FAST_WIDTH arguments per operation:
#   1 fingerprint, 2 entity type, 3 entity key, 4 kind, 5 priority, 6 deadline, 7 technician
#   (1/0), 8 fields as JSON, 9 base as JSON, 10 target id, 11 temp id, 12 parent id
# with '' for an absent value and numbers that must stay exact as text. Every operation is
# checked first: a create against the live fingerprints, any other kind against what is live on
# its entity (a live duplicate of an operation naming its target lives on that target), then
# capacity. If one of them would need the rules, nothing is written and -1 comes back; otherwise
# all are inserted as pending under consecutive ids and the first id comes back. The hash holds
# what `redis_rows.to_pairs` writes, plus the "enqueued" history event (field `enqueued`: a list
# per operation would cost a key more; `RedisBackend.history` reads it before the list).
FAST_WIDTH = 12
_PRIORITY_NAMES = ", ".join(f"['{int(p)}'] = '{PRIORITY_NAME[p]}'" for p in Priority)

_FAST_COMMON = (
    "local W = "
    + str(FAST_WIDTH)
    + """
local PRIORITY_NAME = {"""
    + _PRIORITY_NAMES
    + """}
local P, capacity, now, n = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])

-- The operation's hash, and its entry among the live operations on its entity.
local function store(b, id, m)
  local kind, prio, deadline = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local target, temp, parent = ARGV[b + 10], ARGV[b + 11], ARGV[b + 12]
  local extra = {}
  if deadline ~= '' then
    extra[#extra + 1] = 'deadline_at'
    extra[#extra + 1] = deadline
  end
  if target ~= '' then
    extra[#extra + 1] = 'target_id'
    extra[#extra + 1] = target
  end
  if parent ~= '' then
    extra[#extra + 1] = 'parent_id'
    extra[#extra + 1] = parent
  end
  if temp ~= '' then
    extra[#extra + 1] = 'temp_id'
    extra[#extra + 1] = temp
  end
  redis.call('HSET', P .. ':op:' .. id, 'id', id, 'kind', kind, 'priority', prio,
             'state', 'pending', 'fields', ARGV[b + 8], 'base', ARGV[b + 9],
             'outcome_unknown', '0', 'technician', ARGV[b + 7], 'depends_on', '[]',
             'ekey', ARGV[b + 3], 'next_attempt_at', now, 'created_at', now, 'updated_at', now,
             'attempts', '0', 'entity_type', ARGV[b + 2], 'fingerprint', ARGV[b + 1],
             'enqueued', '{"action":"enqueued","at":' .. now .. ',"op_id":' .. id
               .. ',"detail":{"kind":"' .. kind .. '","priority":"' .. PRIORITY_NAME[prio]
               .. '"}}',
             unpack(extra))
  redis.call('ZADD', P .. ':live:' .. ARGV[b + 2] .. ':' .. ARGV[b + 3], id, m)
end
"""
)

# One operation (n = 1): every index written directly.
FAST_ENQUEUE_ONE = (
    _FAST_COMMON
    + """
if ARGV[8] == 'create' then
  if redis.call('HEXISTS', P .. ':fp', ARGV[5]) == 1 then return -1 end
elseif redis.call('EXISTS', P .. ':live:' .. ARGV[6] .. ':' .. ARGV[7]) == 1 then
  return -1
end
local background = ARGV[11] == '0'
if background and capacity >= 0 and redis.call('SCARD', P .. ':bg') >= capacity then
  return -1
end
local id = redis.call('INCR', P .. ':seq')
local m = string.format('%012d', id)
store(4, id, m)
redis.call('HSET', P .. ':fp', ARGV[5], id)
redis.call('ZADD', P .. ':ready:' .. ARGV[9], now, m)
redis.call('ZADD', P .. ':st:pending:' .. ARGV[9], id, m)
if ARGV[10] ~= '' then redis.call('ZADD', P .. ':dl', ARGV[10], m) end
if background then redis.call('SADD', P .. ':bg', m) end
if ARGV[15] ~= '' and ARGV[8] == 'create' then redis.call('HSET', P .. ':temp', ARGV[15], id) end
return id
"""
)

# A batch: keys the operations share are written once, at the end.
FAST_ENQUEUE_MANY = (
    _FAST_COMMON
    + """
-- One command per slice: unpack() is limited to a few thousand values.
local function bulk(cmd, key, values)
  for i = 1, #values, 1000 do
    redis.call(cmd, key, unpack(values, i, math.min(i + 999, #values)))
  end
end
-- Checked in bulk: EXISTS counts the live entities, HMGET finds live duplicates of creates.
local entities, creates, background = {}, {}, 0
for b = 4, 3 + n * W, W do
  if ARGV[b + 4] == 'create' then
    creates[#creates + 1] = ARGV[b + 1]
  else
    entities[#entities + 1] = P .. ':live:' .. ARGV[b + 2] .. ':' .. ARGV[b + 3]
  end
  if ARGV[b + 7] == '0' then background = background + 1 end
end
for i = 1, #entities, 1000 do
  local slice = {unpack(entities, i, math.min(i + 999, #entities))}
  if redis.call('EXISTS', unpack(slice)) > 0 then return -1 end
end
for i = 1, #creates, 1000 do
  local slice = {unpack(creates, i, math.min(i + 999, #creates))}
  for _, found in ipairs(redis.call('HMGET', P .. ':fp', unpack(slice))) do
    if found then return -1 end
  end
end
if capacity >= 0 and background > 0 and redis.call('SCARD', P .. ':bg') + background > capacity then
  return -1
end
local first = redis.call('INCRBY', P .. ':seq', n) - n + 1
local fps, ready, pending, deadlines, bg, temps = {}, {}, {}, {}, {}, {}
for k = 0, n - 1 do
  local b, id = 4 + k * W, first + k
  local m = string.format('%012d', id)
  store(b, id, m)
  fps[#fps + 1] = ARGV[b + 1]
  fps[#fps + 1] = id
  local prio = ARGV[b + 5]
  local r, s = ready[prio], pending[prio]
  if r == nil then
    r, s = {}, {}
    ready[prio], pending[prio] = r, s
  end
  r[#r + 1] = now
  r[#r + 1] = m
  s[#s + 1] = id
  s[#s + 1] = m
  if ARGV[b + 6] ~= '' then
    deadlines[#deadlines + 1] = ARGV[b + 6]
    deadlines[#deadlines + 1] = m
  end
  if ARGV[b + 7] == '0' then bg[#bg + 1] = m end
  if ARGV[b + 11] ~= '' and ARGV[b + 4] == 'create' then
    temps[#temps + 1] = ARGV[b + 11]
    temps[#temps + 1] = id
  end
end
bulk('HSET', P .. ':fp', fps)
for prio, members in pairs(ready) do bulk('ZADD', P .. ':ready:' .. prio, members) end
for prio, members in pairs(pending) do bulk('ZADD', P .. ':st:pending:' .. prio, members) end
bulk('ZADD', P .. ':dl', deadlines)
bulk('SADD', P .. ':bg', bg)
bulk('HSET', P .. ':temp', temps)
return first
"""
)

# ARGV: prefix, owner, lease_until, now, limit, then candidate ids in the strategy's order.
# Leases up to `limit` of them that are still pending, due, not behind an older pending or leased
# operation on their entity, and whose dependencies are done; returns the leased ids.
CLAIM = """
local P, owner, untilv, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local out = {}
for i = 6, #ARGV do
  if #out >= limit then break end
  local id = ARGV[i]
  local key = P .. ':op:' .. id
  local f = redis.call('HMGET', key, 'state', 'next_attempt_at', 'entity_type', 'ekey',
                       'depends_on', 'priority', 'attempts')
  if f[1] == 'pending' and tonumber(f[2]) <= now then
    local ok = true
    local older = redis.call('ZRANGEBYSCORE', P .. ':live:' .. f[3] .. ':' .. f[4], '-inf',
                             '(' .. id)
    for _, m in ipairs(older) do
      local st = redis.call('HGET', P .. ':op:' .. tonumber(m), 'state')
      if st == 'pending' or st == 'leased' then ok = false break end
    end
    if ok and f[5] and f[5] ~= '[]' then
      for _, parent in ipairs(cjson.decode(f[5])) do
        local st = redis.call('HGET', P .. ':op:' .. parent, 'state')
        if st and st ~= 'done' then ok = false break end
      end
    end
    if ok then
      local m = string.format('%012d', tonumber(id))
      redis.call('HSET', key, 'state', 'leased', 'lease_owner', owner,
                 'lease_expires_at', untilv, 'updated_at', ARGV[4],
                 'attempts', tonumber(f[7]) + 1)
      redis.call('ZREM', P .. ':ready:' .. f[6], m)
      redis.call('ZREM', P .. ':dl', m)
      redis.call('ZADD', P .. ':leases', untilv, m)
      redis.call('ZREM', P .. ':st:pending:' .. f[6], m)
      redis.call('ZADD', P .. ':st:leased:' .. f[6], tonumber(id), m)
      out[#out + 1] = tonumber(id)
    end
  end
end
return out
"""
