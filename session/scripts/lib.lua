-- lib.lua is prepended to every session script. Times are Unix milliseconds passed in by the
-- caller (the application's injected clock), never Redis' TIME, so tests control expiry.
-- Session hash fields: ct ls ie ae dn ip ua v rh ph pt pr atx, and d:<key> for data (sessions
-- created before issue 13 also hold uid, which the key already names).

-- int formats a number as a decimal integer. Numbers passed straight to redis.call are
-- converted by Redis itself, and Redis 7.2.0-7.2.4 could print round values in exponent form
-- (redis#13113), which HSET would store and PEXPIRE would refuse; every number written to
-- Redis goes through int.
local function int(x)
  return string.format('%d', x)
end

-- hmap turns an HGETALL reply into a table.
local function hmap(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end

-- gone answers for a session hash that does not exist: revoked (with the reason) while its
-- revocation marker lives, expired otherwise. A missing session is never recreated.
local function gone(rkey)
  local reason = redis.call('GET', rkey)
  if reason then return {'revoked', reason} end
  return {'expired'}
end

-- due reports whether the idle or the absolute deadline has passed.
local function due(m, now)
  return now >= tonumber(m.ie) or now >= tonumber(m.ae)
end

-- expire deletes a session whose deadline passed before Redis' own TTL removed it.
local function expire(key, index, sid)
  redis.call('DEL', key)
  redis.call('ZREM', index, sid)
  return {'expired'}
end

-- index_add records sid in the user's index scored by its deadline, prunes dead entries and
-- keeps the index alive as long as its longest-lived member.
local function index_add(index, sid, score, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', int(now))
  redis.call('ZADD', index, int(score), sid)
  local ttl = redis.call('PTTL', index)
  if ttl < score - now then redis.call('PEXPIRE', index, int(score - now)) end
end

-- slide moves the idle deadline to now+idle (never past the absolute cap) and the key's TTL
-- with it.
local function slide(key, index, sid, m, now, idle)
  local ie = math.min(now + idle, tonumber(m.ae))
  redis.call('HSET', key, 'ls', int(now), 'ie', int(ie))
  redis.call('PEXPIRE', key, int(ie - now))
  index_add(index, sid, ie, now)
  m.ls = tostring(now)
  m.ie = tostring(ie)
end

-- touch slides the session when the last recorded activity is older than the throttle, so
-- that most reads do not write. It reports whether it wrote.
local function touch(key, index, sid, m, now, idle, throttle)
  if now - tonumber(m.ls) < throttle then return false end
  slide(key, index, sid, m, now, idle)
  return true
end

-- revoke deletes a session and leaves a marker with the reason that lives as long as the last
-- access token issued for it (atx) plus pad, so those tokens get "revoked", not "expired".
local function revoke(key, rkey, index, sid, m, now, pad, reason)
  local ttl = math.max(tonumber(m.atx or '0') - now, 0) + pad
  redis.call('SET', rkey, reason, 'PX', int(ttl))
  redis.call('DEL', key)
  redis.call('ZREM', index, sid)
end

-- revoke_index revokes every session in the user's index except keep ('' keeps none), building
-- the keys from the user's key tag (every key of one user shares it, so one script can reach
-- them all in one Cluster slot), and returns how many it revoked and their ids. Its cost is
-- bounded by the per-user session cap.
local function revoke_index(tag, index, keep, now, pad, reason)
  local n, ids = 0, {}
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if sid ~= keep then
      local key = tag .. 's:' .. sid
      local atx = redis.call('HGET', key, 'atx')
      if atx then
        revoke(key, tag .. 'r:' .. sid, index, sid, {atx = atx}, now, pad, reason)
        n = n + 1
        ids[n] = sid
      else
        redis.call('ZREM', index, sid)
      end
    end
  end
  return n, ids
end

-- server_ms is Redis' own clock in Unix milliseconds. Scripts decide with the caller's clock;
-- this is used only to learn when a script actually ran (a script queued behind a stalled
-- Redis runs later than its caller's clock says).
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
