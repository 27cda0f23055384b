-- rotate exchanges a refresh token for its successor.
-- KEYS: session, revoked, index.
-- ARGV: now, idle_ms, sid, presented_hash, successor_hash, request_id, grace_ms, atx, pad_ms.
-- Returns {'ok', fields} | {'grace', fields} | {'reused'} | {'revoked', reason} | {'expired'}.
--   current token   -> rotate to the successor, slide the idle deadline (never the cap).
--   previous token, and the successor is current, and (same request id: a retried script) or
--   (within the grace window: a retry or a parallel tab) -> same successor, nothing rotates.
--   anything else   -> the token was rotated away earlier and presented again: theft is
--                      assumed and the whole session is revoked.
local now, idle, sid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return gone(KEYS[2]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[1], KEYS[3], sid) end
local atx = math.max(tonumber(m.atx or '0'), tonumber(ARGV[8]))
if m.rh == ARGV[4] then
  redis.call('HSET', KEYS[1], 'rh', ARGV[5], 'ph', ARGV[4], 'pt', int(now), 'pr', ARGV[6], 'atx', int(atx))
  slide(KEYS[1], KEYS[3], sid, m, now, idle)
  return {'ok', redis.call('HGETALL', KEYS[1])}
end
local grace = tonumber(ARGV[7])
if m.ph == ARGV[4] and m.rh == ARGV[5] and
    (m.pr == ARGV[6] or (grace > 0 and now - tonumber(m.pt) <= grace)) then
  redis.call('HSET', KEYS[1], 'atx', int(atx))
  return {'grace', redis.call('HGETALL', KEYS[1])}
end
revoke(KEYS[1], KEYS[2], KEYS[3], sid, m, now, tonumber(ARGV[9]), 'refresh_token_reused')
return {'reused'}
