-- list checks the caller's session and returns the ids in the user's index after pruning the
-- entries whose deadline passed.
-- KEYS: caller session, caller revoked, index. ARGV: now, idle_ms, touch_ms, caller sid
-- ('' = no caller check, for administrators).
-- Returns {'ok', ids} | {'revoked', reason} | {'expired'}.
local now, sid = tonumber(ARGV[1]), ARGV[4]
if sid ~= '' then
  local f = redis.call('HGETALL', KEYS[1])
  if #f == 0 then return gone(KEYS[2]) end
  local m = hmap(f)
  if due(m, now) then return expire(KEYS[1], KEYS[3], sid) end
  touch(KEYS[1], KEYS[3], sid, m, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', int(now))
return {'ok', redis.call('ZRANGE', KEYS[3], 0, -1)}
