-- create stores a new session and indexes it.
-- KEYS: session, index. ARGV: now, sid, ie, rh, then field/value pairs.
-- Returns {'ok', fields} or {'exists'}. Running it twice (a client retry) is a no-op the second
-- time: the session already holds this refresh hash.
local now, sid, ie = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'rh') == ARGV[4] then
    return {'ok', redis.call('HGETALL', KEYS[1])}
  end
  return {'exists'}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ie - now)
index_add(KEYS[2], sid, ie, now)
return {'ok', redis.call('HGETALL', KEYS[1])}
