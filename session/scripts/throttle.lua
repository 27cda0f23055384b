-- throttle reserves one attempt in a fixed window, atomically across every instance.
-- KEYS: counter. ARGV: limit, window_ms.
-- Returns {allowed (1/0), retry_after_ms}. The window starts at the first attempt and is not
-- extended by later ones; blocked attempts are not counted.
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if n >= limit and ttl > 0 then return {0, ttl} end
if ttl <= 0 then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
  return {1, window}
end
redis.call('INCR', KEYS[1])
return {1, ttl}
