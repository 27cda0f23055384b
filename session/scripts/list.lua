-- list checks the caller's session, prunes the entries of the user's index whose deadline
-- passed, and picks one page of the user's sessions in the list order: created_at
-- descending, then id ascending. A cursor is a position in that order (the created_at and id
-- of the last session of the previous page), so sessions created or ended between two pages
-- never shift the next one.
-- KEYS: caller session, caller revoked, index. ARGV: now, idle_ms, touch_ms, caller sid
-- ('' = no caller check, for administrators), limit, cursor created_at, cursor id (both ''
-- for the first page).
-- The sessions' keys are built from the index key's tag (same prefix and hash tag, so the same
-- Cluster slot). Its cost is one HGET of 'ct' per indexed session and a sort; it reads no
-- other session field (the caller reads the page's metadata itself, pipelined: measured, that
-- blocks Redis less than reading it here).
-- Returns {'ok', page, more} | {'revoked', reason} | {'expired'}, where page is
-- flat (id, created_at, id, created_at, ...) and more is 1 when sessions follow the page.
local now, sid = tonumber(ARGV[1]), ARGV[4]
if sid ~= '' then
  local f = redis.call('HGETALL', KEYS[1])
  if #f == 0 then return gone(KEYS[2]) end
  local m = hmap(f)
  if due(m, now) then return expire(KEYS[1], KEYS[3], sid) end
  touch(KEYS[1], KEYS[3], sid, m, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', int(now))
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
local limit, cct, cid = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local tag = string.sub(KEYS[3], 1, #KEYS[3] - #'sessions') -- <prefix>{u:<uid>}:

-- The indexed sessions after the cursor, with their creation times.
local rows = {}
for _, id in ipairs(ids) do
  local ct = redis.call('HGET', tag .. 's:' .. id, 'ct')
  if not ct then
    redis.call('ZREM', KEYS[3], id) -- the hash is gone (Redis' own TTL): a stray entry
  else
    ct = tonumber(ct)
    if cct == nil or ct < cct or (ct == cct and id > cid) then rows[#rows + 1] = {ct, id} end
  end
end
table.sort(rows, function(a, b)
  if a[1] ~= b[1] then return a[1] > b[1] end
  return a[2] < b[2]
end)

local page, n = {}, math.min(limit, #rows)
for i = 1, n do
  page[2 * i - 1] = rows[i][2]
  page[2 * i] = rows[i][1] -- an integer reply
end
local more = 0
if #rows > n then more = 1 end
return {'ok', page, more}
