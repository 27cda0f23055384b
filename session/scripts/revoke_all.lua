-- revoke_all ends every session of one user in one atomic step (logout-all, admin revoke-all).
-- KEYS: caller session, caller revoked, index.
-- ARGV: now, key tag, pad_ms, reason, caller sid ('' = no caller check, for administrators).
-- Returns {'ok', number of sessions revoked, their ids} | {'revoked', reason} | {'expired'}.
-- A retry after a logout-all that went through is not refused: the caller's own marker says
-- "<reason>:<time>", and a retry by the caller answers 'ok' (0 revoked), so a client whose
-- answer was lost (or whose revocation was not yet acknowledged by a replica) can retry until it
-- succeeds. Nothing is left to revoke — the first run revoked every session at once — and
-- sessions signed in since are not the retry's business. The other sessions' markers carry the
-- bare reason, so a token revoked by someone's logout-all cannot replay it. The retry rewrites
-- the caller's marker so that a WAIT after it covers the revocations.
local now, tag, pad, reason, csid = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local n = 0
if csid ~= '' then
  local f = redis.call('HGETALL', KEYS[1])
  if #f == 0 then
    local r = redis.call('GET', KEYS[2])
    if not (r and string.match(r, '^' .. reason .. ':%d+$')) then return gone(KEYS[2]) end
    local ttl = redis.call('PTTL', KEYS[2])
    if ttl > 0 then redis.call('SET', KEYS[2], r, 'PX', ttl) end
    return {'ok', 0, {}}
  end
  local m = hmap(f)
  if due(m, now) then return expire(KEYS[1], KEYS[3], csid) end
  revoke(KEYS[1], KEYS[2], KEYS[3], csid, m, now, pad, reason .. ':' .. int(now))
  n = 1
end
local others, ids = revoke_index(tag, KEYS[3], '', now, pad, reason)
if n == 1 then table.insert(ids, 1, csid) end
return {'ok', n + others, ids}
