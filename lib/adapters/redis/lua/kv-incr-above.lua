--[[
  kv-incr-above: a counter that resumes above a floor (KvStore.incrAbove).
  Sets the value to max(current, floor) + by, atomically, keeping the key's TTL.

  KEYS[1]  the counter (a missing key counts as 0)
  ARGV[1]  floor, a decimal integer
  ARGV[2]  by, a decimal integer

  Returns  the new value (integer reply).
  Errors   "ERR value is not an integer or out of range" (from INCRBY) when the
           current value is not an integer; WRONGTYPE when the key holds a hash.
]]
local current = redis.call('GET', KEYS[1])
local value = 0
if current then
  -- Only a plain integer string compares; anything else falls through to
  -- INCRBY, which rejects it with Redis's own error.
  if string.match(current, '^-?%d+$') then value = tonumber(current) else value = nil end
end
if value ~= nil and value < tonumber(ARGV[1]) then
  -- The floor goes in as the caller's string: no Lua float formatting of big numbers.
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
end
return redis.call('INCRBY', KEYS[1], ARGV[2])
