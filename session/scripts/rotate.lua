-- rotate exchanges a refresh token for its successor.
-- KEYS: session, revoked, index.
-- ARGV: now, idle_ms, sid, presented_hash, successor_hash, request_id, grace_ms, atx, pad_ms,
--       max_history.
-- Returns {'ok', fields} | {'grace', fields, steps} | {'busy', retry_ms} | {'reused'} |
--         {'revoked', reason} | {'expired'}.
--
-- 'rp' holds the recent rotations, newest first, as "<hash>:<applied ms>,...": the tokens
-- rotated away within the grace window (and always the newest one). 'pr' is the request id of
-- the newest rotation.
--   current token   -> rotate to the successor, slide the idle deadline (never the cap).
--   a token in rp, rotated away no longer than grace ago (by the caller's clock), or the newest
--   one presented again by the same request (a retried script) -> nothing rotates; 'steps' says
--   how many rotations ago it was current (1 = it is the current token's predecessor), so the
--   caller derives the current token from it and hands that out again. A retry, a parallel tab,
--   or an in-flight request that still holds a token from a few rotations back is never
--   mistaken for a thief.
--   anything else   -> a token rotated away earlier was presented again: theft is assumed and
--                      the whole session is revoked.
-- A rotation's time is the later of the caller's clock and Redis' clock when the script runs,
-- so a rotation that waited behind a stalled Redis opens its grace window when it is applied,
-- not when it was requested: the client that got 503 meanwhile retries inside the window.
-- At most max_history rotations are remembered; a rotation that would forget one still inside
-- its grace window is refused ('busy') rather than make that token look stolen later.
local now, idle, sid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local presented, successor, req = ARGV[4], ARGV[5], ARGV[6]
local grace, cap = tonumber(ARGV[7]), tonumber(ARGV[10])
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return gone(KEYS[2]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[1], KEYS[3], sid) end
local atx = math.max(tonumber(m.atx or '0'), tonumber(ARGV[8]))
local history = {}
for h, t in string.gmatch(m.rp or '', '([^:,]+):(%d+)') do
  history[#history + 1] = {hash = h, at = tonumber(t)}
end
if m.rp == nil and m.ph then -- a session last rotated by an older version
  history[1] = {hash = m.ph, at = tonumber(m.pt or '0')}
end
if m.rh == presented then
  local applied = math.max(now, server_ms())
  local kept = {presented .. ':' .. int(applied)}
  for _, e in ipairs(history) do
    if applied - e.at <= grace then
      if #kept >= cap then return {'busy', grace - (applied - e.at) + 1} end
      kept[#kept + 1] = e.hash .. ':' .. int(e.at)
    end
  end
  redis.call('HSET', KEYS[1], 'rh', successor, 'rp', table.concat(kept, ','), 'pr', req, 'atx', int(atx))
  redis.call('HDEL', KEYS[1], 'ph', 'pt')
  slide(KEYS[1], KEYS[3], sid, m, now, idle)
  return {'ok', redis.call('HGETALL', KEYS[1])}
end
for i, e in ipairs(history) do
  if e.hash == presented then
    if (i == 1 and m.pr == req) or (grace > 0 and now - e.at <= grace) then
      redis.call('HSET', KEYS[1], 'atx', int(atx))
      return {'grace', redis.call('HGETALL', KEYS[1]), i}
    end
    break
  end
end
revoke(KEYS[1], KEYS[2], KEYS[3], sid, m, now, tonumber(ARGV[9]), 'refresh_token_reused')
return {'reused'}
