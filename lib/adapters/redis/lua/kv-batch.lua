-- The kv operations one process issued within one event-loop turn, run in call order
-- (tick-batch.ts). KEYS[i] is the key of operation i; ARGV holds, per operation, its code and
-- then its own arguments:
--   g                  GET
--   m                  one key of an MGET (nil, not an error, for a key of another type)
--   s value px nx      SET value [PX px] [NX]   (px "0": no TTL; nx "1": only when absent)
--   i by               INCRBY by
--   h                  HGETALL
--   d                  DEL
-- Each operation answers {0, reply} or {1, error text}: one operation's failure (a key of the
-- wrong type) fails that caller alone, as a lone command would, and the others still run.
local out = {}
local a = 1
for k = 1, #KEYS do
  local key = KEYS[k]
  local op = ARGV[a]
  local r
  if op == "g" then
    r = redis.pcall("GET", key)
    a = a + 1
  elseif op == "m" then
    r = redis.pcall("MGET", key)
    if type(r) == "table" and not r.err then r = r[1] end
    a = a + 1
  elseif op == "s" then
    local value, px, nx = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3] == "1"
    if px ~= "0" and nx then
      r = redis.pcall("SET", key, value, "PX", px, "NX")
    elseif px ~= "0" then
      r = redis.pcall("SET", key, value, "PX", px)
    elseif nx then
      r = redis.pcall("SET", key, value, "NX")
    else
      r = redis.pcall("SET", key, value)
    end
    if type(r) == "table" and r.ok then r = 1 elseif r == false then r = 0 end
    a = a + 4
  elseif op == "i" then
    r = redis.pcall("INCRBY", key, ARGV[a + 1])
    a = a + 2
  elseif op == "h" then
    r = redis.pcall("HGETALL", key)
    a = a + 1
  elseif op == "d" then
    r = redis.pcall("DEL", key)
    a = a + 1
  else
    return redis.error_reply("kv-batch: unknown operation " .. tostring(op))
  end
  if type(r) == "table" and r.err then
    out[k] = {1, r.err}
  else
    out[k] = {0, r}
  end
end
return out
