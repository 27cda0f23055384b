-- touch slides a live session's idle deadline when the last recorded activity is older than the
-- throttle. Reads run it in the background at most once per throttle interval; it never
-- recreates a session that is gone or past a deadline.
-- KEYS: session, index. ARGV: now, idle_ms, touch_ms, sid. Returns 1 if it wrote, else 0.
local now = tonumber(ARGV[1])
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return 0 end
local m = hmap(f)
if due(m, now) then return 0 end
if touch(KEYS[1], KEYS[2], ARGV[4], m, now, tonumber(ARGV[2]), tonumber(ARGV[3])) then return 1 end
return 0
