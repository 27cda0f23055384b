-- get authenticates a session: it must exist and be within both deadlines. It slides the idle
-- deadline (throttled) and returns the session, and the user record when asked: one round trip
-- for an authenticated request.
-- KEYS: session, revoked, index, user. ARGV: now, idle_ms, touch_ms, sid, with_user ('1'/'0').
-- Returns {'ok', fields[, user]} | {'revoked', reason} | {'expired'}.
local now = tonumber(ARGV[1])
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return gone(KEYS[2]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[1], KEYS[3], ARGV[4]) end
if touch(KEYS[1], KEYS[3], ARGV[4], m, now, tonumber(ARGV[2]), tonumber(ARGV[3])) then
  f = redis.call('HGETALL', KEYS[1])
end
if ARGV[5] == '1' then return {'ok', f, redis.call('HGETALL', KEYS[4])} end
return {'ok', f}
