-- append adds one event to a stream under an entry id taken from the caller's clock, then
-- trims the stream by count and by age.
-- KEYS: the stream.
-- ARGV: now_ms, max entries, exact ('1': exact trimming; '0': approximate, whole nodes only),
--       oldest ms to keep, ttl_ms ('0': none), event id, event JSON, coalescing key ('': none),
--       oldest ms to coalesce with.
-- Returns the entry id, or the id of the entry that already stands for the event.
--   * The id is "<ms>-<seq>" with ms the caller's clock (so that ages follow the application's
--     clock, BOXOFFICE_CLOCK_OFFSET included), or the newest entry's ms when that is later (an
--     instance whose clock is behind), so ids keep increasing.
--   * A retry (go-redis running the script twice) finds its event among the newest entries
--     and adds nothing.
--   * An event with a coalescing key is not added when one of the 8 newest entries has the
--     same key and is not older than the last argument: a burst of failed sign-ins shows once,
--     and cannot push older events out; a new burst, later, shows again.
local key, now, eid, k, since = KEYS[1], tonumber(ARGV[1]), ARGV[6], ARGV[8], tonumber(ARGV[9])
local mode = '~'
if ARGV[3] == '1' then mode = '=' end
local newest = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 8)
for _, entry in ipairs(newest) do
  local f = entry[2]
  local recent = tonumber(string.match(entry[1], '^(%d+)%-')) >= since
  for i = 1, #f, 2 do
    if (f[i] == 'eid' and f[i + 1] == eid) or (recent and k ~= '' and f[i] == 'k' and f[i + 1] == k) then
      return entry[1]
    end
  end
end
local ms, seq = now, 0
if #newest > 0 then
  local lms, lseq = string.match(newest[1][1], '^(%d+)%-(%d+)$')
  lms, lseq = tonumber(lms), tonumber(lseq)
  if lms >= ms then ms, seq = lms, lseq + 1 end
end
local fields = {'eid', eid, 'e', ARGV[7]}
if k ~= '' then
  fields[5], fields[6] = 'k', k
end
local id = string.format('%.0f-%.0f', ms, seq)
local ok = redis.pcall('XADD', key, 'MAXLEN', mode, ARGV[2], id, unpack(fields))
if type(ok) == 'table' and ok.err then
  -- The stream's last id is later than its newest entry (entries deleted since): let Redis
  -- pick the next id.
  ok = redis.call('XADD', key, 'MAXLEN', mode, ARGV[2], '*', unpack(fields))
end
redis.call('XTRIM', key, 'MINID', mode, ARGV[4])
if ARGV[5] ~= '0' then redis.call('PEXPIRE', key, ARGV[5]) end
return ok
