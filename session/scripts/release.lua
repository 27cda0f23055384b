-- release gives back an attempt reserved by throttle (after a successful login).
-- KEYS: counter. ARGV: mode ('reset' deletes the counter, 'one' returns a single attempt).
if ARGV[1] == 'reset' then return redis.call('DEL', KEYS[1]) end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
