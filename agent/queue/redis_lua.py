"""The Lua scripts that make the Redis backend's hot paths atomic: fast enqueue and claim.

Both run inside Redis, so several agents (processes, machines) sharing one prefix never hand out
the same operation twice nor interleave an enqueue with a claim. Key layout (prefix P, ids in
members are zero-padded to 12 digits so equal scores order by id):
  P:seq                 INCR source of operation ids
  P:op:<id>             hash of one operation (field names as `Operation`'s, plus `ekey`)
  P:fp                  hash fingerprint -> id of live operations
  P:live:<type>:<key>   zset of live operations on one entity (score id)
  P:ent:<type>:<key>    zset of every operation on one entity (score id)
  P:temp                hash temp id -> newest create carrying it
  P:rdeps:<id>          set of operations waiting for <id>
  P:ready:<priority>    zset of pending operations (score next_attempt_at)
  P:dl                  zset of pending operations with a deadline (score deadline_at)
  P:leases              zset of leased operations (score lease_expires_at)
  P:st:<state>:<prio>   zset of operations by state and priority (score id)
  P:fin                 zset of done/cancelled operations (score updated_at), for purging
  P:bg                  set of live background (technician=False) operations
  P:unknown             zset of operations whose outcome is unknown (score id)
  P:hist:<id>           list of the operation's history events (JSON)
"""

from __future__ import annotations

# ARGV: prefix, capacity (-1 = none), then every operation in one JSON array (one argument for the
# whole batch keeps client-side packing to a single string); each operation is
#   [fp, type, ekey, priority, next_attempt_at, deadline ('' = none), technician (1/0),
#    temp id of a create ('' = none), [hash field, value, ...], history detail as JSON,
#    1 for a create else 0]
# with numbers that must stay exact passed as text. Either every operation is fast-path eligible
# (no live duplicate, nothing live on its entity, capacity left) and all are inserted, or nothing
# is written and {-1, index} comes back. Keys shared by the batch are written once at the end.
FAST_ENQUEUE = """
-- One command per slice: unpack() is limited to a few thousand values.
local function bulk(cmd, key, values)
  for i = 1, #values, 1000 do
    redis.call(cmd, key, unpack(values, i, math.min(i + 999, #values)))
  end
end
local P = ARGV[1]
local capacity = tonumber(ARGV[2])
local ops = cjson.decode(ARGV[3])
local n = #ops
local background = 0
for k = 1, n do
  local op = ops[k]
  if redis.call('HEXISTS', P .. ':fp', op[1]) == 1 then return {-1, k} end
  -- Only an update or delete can merge into or cancel what is live on its entity.
  if op[11] == 0 and redis.call('EXISTS', P .. ':live:' .. op[2] .. ':' .. op[3]) == 1 then
    return {-1, k}
  end
  if op[7] == 0 then background = background + 1 end
end
if capacity >= 0 and background > 0 and redis.call('SCARD', P .. ':bg') + background > capacity then
  return {-1, 0}
end
local last = redis.call('INCRBY', P .. ':seq', n)
local ids, fps, ready, pending, deadlines, bg, temps = {}, {}, {}, {}, {}, {}, {}
for k = 1, n do
  local op = ops[k]
  local id = last - n + k
  local m = string.format('%012d', id)
  local prio = op[4]
  redis.call('HSET', P .. ':op:' .. id, 'id', id, unpack(op[9]))
  redis.call('ZADD', P .. ':live:' .. op[2] .. ':' .. op[3], id, m)
  redis.call('ZADD', P .. ':ent:' .. op[2] .. ':' .. op[3], id, m)
  redis.call('RPUSH', P .. ':hist:' .. id, '{"action":"enqueued","at":' .. op[5]
             .. ',"op_id":' .. id .. ',"detail":' .. op[10] .. '}')
  fps[#fps + 1] = op[1]
  fps[#fps + 1] = id
  ready[prio] = ready[prio] or {}
  table.insert(ready[prio], op[5])
  table.insert(ready[prio], m)
  pending[prio] = pending[prio] or {}
  table.insert(pending[prio], id)
  table.insert(pending[prio], m)
  if op[6] ~= '' then
    deadlines[#deadlines + 1] = op[6]
    deadlines[#deadlines + 1] = m
  end
  if op[7] == 0 then bg[#bg + 1] = m end
  if op[8] ~= '' then
    temps[#temps + 1] = op[8]
    temps[#temps + 1] = id
  end
  ids[k] = id
end
bulk('HSET', P .. ':fp', fps)
for prio, members in pairs(ready) do bulk('ZADD', P .. ':ready:' .. prio, members) end
for prio, members in pairs(pending) do bulk('ZADD', P .. ':st:pending:' .. prio, members) end
bulk('ZADD', P .. ':dl', deadlines)
bulk('SADD', P .. ':bg', bg)
bulk('HSET', P .. ':temp', temps)
return ids
"""

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
