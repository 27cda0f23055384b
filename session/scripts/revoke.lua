-- revoke ends one session of a user, after checking that the caller's session is live.
-- KEYS: caller session, caller revoked, target session, target revoked, index.
-- ARGV: now, caller sid ('' = no caller check, for administrators), target sid, pad_ms, reason.
-- Returns {'ok', 1} when it revoked the session, {'ok'} | {'not_found'} | {'revoked', reason} |
-- {'expired'} (the last two about the caller). Revoking an already revoked session of the same
-- user answers {'ok'} (idempotent), and so does a caller logging itself out when its session is
-- already gone.
local now, csid, tsid, pad = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
if csid ~= '' then
  local f = redis.call('HGETALL', KEYS[1])
  -- Logging out a session that is already gone succeeds: logout is idempotent, so a client's
  -- (or go-redis') retry of a logout that went through is not answered with an error.
  if #f == 0 then
    if csid == tsid then return {'ok'} end
    return gone(KEYS[2])
  end
  local m = hmap(f)
  if due(m, now) then
    expire(KEYS[1], KEYS[5], csid)
    if csid == tsid then return {'ok'} end
    return {'expired'}
  end
  if csid == tsid then
    revoke(KEYS[1], KEYS[2], KEYS[5], csid, m, now, pad, ARGV[5])
    return {'ok', 1}
  end
end
local t = redis.call('HGETALL', KEYS[3])
if #t == 0 then
  redis.call('ZREM', KEYS[5], tsid)
  if redis.call('EXISTS', KEYS[4]) == 1 then return {'ok'} end
  return {'not_found'}
end
local tm = hmap(t)
if due(tm, now) then
  expire(KEYS[3], KEYS[5], tsid)
  return {'not_found'}
end
revoke(KEYS[3], KEYS[4], KEYS[5], tsid, tm, now, pad, ARGV[5])
return {'ok', 1}
