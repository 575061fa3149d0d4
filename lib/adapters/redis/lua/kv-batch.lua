-- The kv operations one process issued within one event-loop turn, run in call order
-- (tick-batch.ts). KEYS[i] is the key of operation i; ARGV holds, per operation, its code and
-- then its own arguments:
--   g                  GET
--   m                  one key of an MGET (nil, not an error, for a key of another type)
--   s value px nx      SET value [PX px] [NX]   (px "0": no TTL; nx "1": only when absent)
--   i by               INCRBY by
--   h                  HGETALL
--   d                  DEL
--   c claim cpx above prefix suffix px
--                      claimAndCount over KEYS[i] (the claim) and KEYS[i + 1] (the counter):
--                      SET claim PX cpx NX; if it was set, INCR the counter and, above `above`,
--                      SET prefix .. (count - above) .. suffix PX px. Answers the count, or nil
--                      when the key existed. Its second key answers nothing of its own.
-- Each key answers {0, reply} or {1, error text}: one operation's failure (a key of the
-- wrong type) fails that caller alone, as a lone command would, and the others still run.
local out = {}
local a = 1
local k = 1
while k <= #KEYS do
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
  elseif op == "c" then
    local claim, cpx, above = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
    local prefix, suffix, px = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
    r = redis.pcall("SET", key, claim, "PX", cpx, "NX")
    if type(r) == "table" and r.ok then
      r = redis.pcall("INCR", KEYS[k + 1])
      if type(r) == "table" and r.err then
        redis.pcall("DEL", key) -- the counter refused: leave the key as it was (missing)
      elseif r > above then
        redis.pcall("SET", key, prefix .. string.format("%d", r - above) .. suffix, "PX", px)
      end
    else
      r = false
    end
    out[k + 1] = {0, false}
    a = a + 7
  else
    return redis.error_reply("kv-batch: unknown operation " .. tostring(op))
  end
  if type(r) == "table" and r.err then
    out[k] = {1, r.err}
  else
    out[k] = {0, r}
  end
  k = k + (op == "c" and 2 or 1)
end
return out
