-- change_password replaces a user's password, moves the caller's session to a new id with a new
-- refresh token, and revokes every other session of the user — all in one atomic step, so no
-- failure can leave the new password live with old sessions alive, or the other way round.
-- KEYS: user, caller session, caller revoked, new session, index.
-- ARGV: now, key tag, caller sid, new sid, expected password hash, new password hash,
--       new refresh hash, access expiry of the new token, idle_ms, pad_ms.
-- Returns {'ok', fields, revoked, ids of the other sessions revoked} | {'changed'} |
--         {'revoked', reason} | {'expired'}.
--   'changed': the stored hash is no longer the one the caller verified (a concurrent change).
-- It also bumps the user's credential epoch 'ce', so a login that verified the old password
-- before this ran cannot create its session after it (see create.lua). The caller's old id is
-- revoked with the reason 'password_changed:<new sid>', which lets a client that lost this
-- answer resume it (resume.lua). A second run (go-redis retry) finds the new session holding
-- this refresh hash and answers 'ok' again.
local now, tag, osid, nsid = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local idle, pad = tonumber(ARGV[9]), tonumber(ARGV[10])
local nf = redis.call('HGETALL', KEYS[4])
if #nf > 0 and hmap(nf).rh == ARGV[7] then return {'ok', nf, 0, {}} end
local f = redis.call('HGETALL', KEYS[2])
if #f == 0 then return gone(KEYS[3]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[2], KEYS[5], osid) end
if redis.call('HGET', KEYS[1], 'pw') ~= ARGV[5] then return {'changed'} end
redis.call('HSET', KEYS[1], 'pw', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'ce', 1)
-- The data, device and deadlines carry over (the absolute deadline never moves); the refresh
-- state and the request ids of the old id do not.
local skip = {rh = true, ph = true, pt = true, pr = true, rp = true, pq = true, atx = true}
local copy = {}
for k, v in pairs(m) do
  if not skip[k] then
    copy[#copy + 1] = k
    copy[#copy + 1] = v
  end
end
redis.call('HSET', KEYS[4], unpack(copy))
redis.call('HSET', KEYS[4], 'rh', ARGV[7], 'atx', ARGV[8])
slide(KEYS[4], KEYS[5], nsid, hmap(redis.call('HGETALL', KEYS[4])), now, idle)
revoke(KEYS[2], KEYS[3], KEYS[5], osid, m, now, pad, 'password_changed:' .. nsid)
local n, ids = revoke_index(tag, KEYS[5], nsid, now, pad, 'password_changed')
return {'ok', redis.call('HGETALL', KEYS[4]), n + 1, ids}
