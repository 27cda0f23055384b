-- reissue moves a live session to a new id with a new refresh token (after a password change):
-- the data, device and deadlines carry over (the absolute deadline never moves), every token of
-- the old id stops working, and the old id is revoked with the given reason.
-- KEYS: old session, old revoked, new session, index.
-- ARGV: now, old sid, new sid, new refresh hash, access expiry of the new token, idle_ms,
--       pad_ms, reason.
-- Returns {'ok', fields} | {'revoked', reason} | {'expired'}. A second run (go-redis retry)
-- finds the new session holding this refresh hash and answers 'ok' again.
local now, osid, nsid, idle = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[6])
local nf = redis.call('HGETALL', KEYS[3])
if #nf > 0 and hmap(nf).rh == ARGV[4] then return {'ok', nf} end
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return gone(KEYS[2]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[1], KEYS[4], osid) end
local skip = {rh = true, ph = true, pt = true, pr = true, pq = true, atx = true, ls = true, ie = true}
local copy = {}
for k, v in pairs(m) do
  if not skip[k] then
    copy[#copy + 1] = k
    copy[#copy + 1] = v
  end
end
redis.call('HSET', KEYS[3], unpack(copy))
redis.call('HSET', KEYS[3], 'rh', ARGV[4], 'atx', ARGV[5], 'ls', m.ls, 'ie', m.ie)
local nm = hmap(redis.call('HGETALL', KEYS[3]))
slide(KEYS[3], KEYS[4], nsid, nm, now, idle)
revoke(KEYS[1], KEYS[2], KEYS[4], osid, m, now, tonumber(ARGV[7]), ARGV[8])
return {'ok', redis.call('HGETALL', KEYS[3])}
