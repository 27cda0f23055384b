-- throttle reserves one attempt in a fixed window, atomically across every instance.
-- KEYS: counter. ARGV: limit, window_ms.
-- Returns {allowed (1/0), retry_after_ms, first (1/0)}. The window starts at the first attempt
-- and is not extended by later ones; blocked attempts are not counted.
-- The counter holds the attempts allowed in the window, plus MARK once one was refused: first
-- is 1 for the refusal that set the mark, the window's first (later ones are repeats). The
-- mark keeps the count exact (release.lua gives attempts back under it) and the value at or
-- over the limit for a script that does not know the mark, which then refuses, as it should.
-- Limits must stay below MARK.
local MARK = 1000000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
  return {1, window, 0}
end
local marked = n >= MARK
if marked then n = n - MARK end
if n >= limit then
  if marked then return {0, ttl, 0} end
  redis.call('INCRBY', KEYS[1], MARK) -- keeps the TTL
  return {0, ttl, 1}
end
redis.call('INCR', KEYS[1])
return {1, ttl, 0}
