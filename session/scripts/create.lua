-- create stores a new session and indexes it, atomically with the checks that decide whether it
-- may exist at all.
-- KEYS: session, index, revoked, user, known networks.
-- ARGV: now, sid, ie, rh, credential epoch, max sessions, key tag, pad_ms, network ('' = none),
--       network_ttl_ms, then field/value pairs.
-- Returns {'ok', fields, ids of the sessions evicted} | {'exists'} | {'revoked', reason} | {'stale'}.
--   * A retry (go-redis running it twice) is a no-op the second time: the session already holds
--     this refresh hash; and if it was revoked in between (logout-all), its marker stops the
--     retry from recreating it.
--   * The credential epoch is the user's 'ce' counter the login's password was verified under
--     (0 when absent). A password change bumps it in the same script that revokes the user's
--     sessions, so a login that verified the old password and arrives after the change is
--     refused ('stale') instead of creating a session the change could not see.
--   * At most max sessions live per user: the least recently used ones (smallest 'ls') are
--     revoked with reason 'session_limit' to make room.
local now, sid, ie, tag, pad = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[7], tonumber(ARGV[8])
local reason = redis.call('GET', KEYS[3])
if reason then return {'revoked', reason} end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'rh') == ARGV[4] then
    return {'ok', redis.call('HGETALL', KEYS[1]), {}}
  end
  return {'exists'}
end
if (redis.call('HGET', KEYS[4], 'ce') or '0') ~= ARGV[5] then return {'stale'} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
local live = redis.call('ZRANGE', KEYS[2], 0, -1)
local evicted, excess = {}, #live - tonumber(ARGV[6]) + 1
if excess > 0 then
  local by = {}
  for i, id in ipairs(live) do
    by[i] = {id = id, ls = tonumber(redis.call('HGET', tag .. 's:' .. id, 'ls') or '0')}
  end
  table.sort(by, function(a, b)
    if a.ls ~= b.ls then return a.ls < b.ls end
    return a.id < b.id
  end)
  for i = 1, excess do
    local id = by[i].id
    local key = tag .. 's:' .. id
    local atx = redis.call('HGET', key, 'atx')
    if atx then
      revoke(key, tag .. 'r:' .. id, KEYS[2], id, {atx = atx}, now, pad, 'session_limit')
      evicted[#evicted + 1] = id
    else
      redis.call('ZREM', KEYS[2], id)
    end
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
redis.call('PEXPIRE', KEYS[1], int(ie - now))
index_add(KEYS[2], sid, ie, now)
if ARGV[9] ~= '' then
  redis.call('ZADD', KEYS[5], int(now), ARGV[9])
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -33)
  redis.call('PEXPIRE', KEYS[5], ARGV[10])
end
return {'ok', redis.call('HGETALL', KEYS[1]), evicted}
