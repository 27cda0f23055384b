-- patch applies a JSON Merge Patch already resolved per top-level key by the caller.
-- KEYS: session, revoked, index.
-- ARGV: now, idle_ms, touch_ms, sid, if_match ('' = none), max_keys, max_bytes, request_id,
--       key tag, max_user_bytes, then per key
--       four values: mode ('s' set | 'd' delete), key, value, expect ('' = unconditional,
--       '!' = must be absent, else the exact current value the caller merged into).
-- Returns {'ok', fields} | {'precondition', version} | {'conflict'} |
--         {'too_large', keys, bytes, user_bytes} | {'revoked', reason} | {'expired'}.
-- The data's size is kept in 'db'; a patch that grows it may not take the sum over all of the
-- user's sessions past max_user_bytes (the sessions are found through the index, whose size the
-- per-user session cap bounds).
-- Every check runs before any write, so a refused patch changes nothing. The ids of the last
-- 16 patches applied are kept in 'pq': a second run with the same request id (go-redis retrying
-- after a timeout, even after other writes landed in between) answers 'ok' without applying it
-- again, so a retried If-Match patch does not turn into a 412 and a retried write does not undo
-- a later one.
local now, sid = tonumber(ARGV[1]), ARGV[4]
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then return gone(KEYS[2]) end
local m = hmap(f)
if due(m, now) then return expire(KEYS[1], KEYS[3], sid) end
local applied = m.pq or ''
if string.find(',' .. applied .. ',', ',' .. ARGV[8] .. ',', 1, true) then return {'ok', f} end
if ARGV[5] ~= '' and m.v ~= ARGV[5] then return {'precondition', m.v} end
local data = {}
local function size()
  local keys, bytes = 0, 0
  for k, v in pairs(data) do
    keys = keys + 1
    bytes = bytes + #k - 2 + #v
  end
  return keys, bytes
end
for k, v in pairs(m) do
  if string.sub(k, 1, 2) == 'd:' then data[k] = v end
end
local keys0, bytes0 = size()
local changed = false
for i = 11, #ARGV, 4 do
  local mode, field, value, expect = ARGV[i], 'd:' .. ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = data[field]
  if (expect == '!' and cur ~= nil) or (expect ~= '' and expect ~= '!' and cur ~= expect) then
    return {'conflict'}
  end
  if mode == 'd' then
    if cur ~= nil then data[field] = nil; changed = true end
  elseif cur ~= value then
    data[field] = value; changed = true
  end
end
-- A patch may not grow the data past a limit; one that shrinks it always applies (limits may
-- have been lowered since the data was written).
local keys, bytes = size()
if (keys > tonumber(ARGV[6]) and keys > keys0) or (bytes > tonumber(ARGV[7]) and bytes > bytes0) then
  return {'too_large', keys, bytes, 0}
end
if bytes > bytes0 then
  local total = bytes
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    if id ~= sid then total = total + tonumber(redis.call('HGET', ARGV[9] .. 's:' .. id, 'db') or '0') end
  end
  if total > tonumber(ARGV[10]) then return {'too_large', keys, bytes, total} end
end
if changed then
  for i = 11, #ARGV, 4 do
    if ARGV[i] == 'd' then
      redis.call('HDEL', KEYS[1], 'd:' .. ARGV[i + 1])
    else
      redis.call('HSET', KEYS[1], 'd:' .. ARGV[i + 1], ARGV[i + 2])
    end
  end
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('HSET', KEYS[1], 'db', int(bytes))
  local ids = {ARGV[8]}
  for id in string.gmatch(applied, '[^,]+') do
    if #ids < 16 then ids[#ids + 1] = id end
  end
  redis.call('HSET', KEYS[1], 'pq', table.concat(ids, ','))
end
touch(KEYS[1], KEYS[3], sid, m, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
return {'ok', redis.call('HGETALL', KEYS[1])}
