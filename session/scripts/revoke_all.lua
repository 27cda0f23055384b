-- revoke_all ends the listed sessions of one user.
-- KEYS: index, then session and revoked-marker keys in pairs. ARGV: now, pad_ms, reason, then
-- the session ids in the same order. Returns {'ok', number of sessions revoked}.
local now, pad, n = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
for i = 4, #ARGV do
  local key, rkey = KEYS[2 * (i - 3)], KEYS[2 * (i - 3) + 1]
  local f = redis.call('HGETALL', key)
  if #f > 0 then
    revoke(key, rkey, KEYS[1], ARGV[i], hmap(f), now, pad, ARGV[3])
    n = n + 1
  else
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return {'ok', n}
