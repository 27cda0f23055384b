-- release gives back an attempt reserved by throttle (after a successful login).
-- KEYS: counter. ARGV: mode ('reset' deletes the counter, 'one' returns a single attempt).
-- A counter at or over MARK is marked (see throttle.lua): the mark stays, the count under it
-- goes down.
local MARK = 1000000000
if ARGV[1] == 'reset' then return redis.call('DEL', KEYS[1]) end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local count = n
if n >= MARK then count = n - MARK end
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
