-- set_password replaces a user's password hash only if it still equals the expected one.
-- KEYS: user. ARGV: old hash, new hash. Returns 1 if replaced, else 0.
if redis.call('HGET', KEYS[1], 'pw') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'pw', ARGV[2])
return 1
