-- create stores a new session and indexes it.
-- KEYS: session, index, revoked. ARGV: now, sid, ie, rh, then field/value pairs.
-- Returns {'ok', fields}, {'exists'} or {'revoked', reason}. Running it twice (a go-redis retry)
-- is a no-op the second time: the session already holds this refresh hash; and if it was
-- revoked in between (logout-all), its marker stops the retry from recreating it.
local now, sid, ie = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local reason = redis.call('GET', KEYS[3])
if reason then return {'revoked', reason} end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'rh') == ARGV[4] then
    return {'ok', redis.call('HGETALL', KEYS[1])}
  end
  return {'exists'}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], int(ie - now))
index_add(KEYS[2], sid, ie, now)
return {'ok', redis.call('HGETALL', KEYS[1])}
