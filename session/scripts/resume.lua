-- resume hands a session created by a password change (change_password.lua) to a client that
-- lost the answer, provided nothing has used it since: it still holds the refresh hash it was
-- created with.
-- KEYS: session, revoked, index. ARGV: now, sid, refresh hash, access expiry of the new token.
-- Returns {'ok', fields} | {'used'} | {'revoked', reason} | {'expired'}.
local now, sid = tonumber(ARGV[1]), ARGV[2]
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return gone(KEYS[2]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[1], KEYS[3], sid) end
if m.rh ~= ARGV[3] or m.rp then return {'used'} end
redis.call('HSET', KEYS[1], 'atx', int(math.max(tonumber(m.atx or '0'), tonumber(ARGV[4]))))
return {'ok', redis.call('HGETALL', KEYS[1])}
