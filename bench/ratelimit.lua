-- ratelimit.lua - the rate-limit script redis-benchmark calls (EVALSHA) in
-- bench/run.sh, to measure what Redis itself can do for the kind of script a
-- policy daemon runs once per request.  Sliding window over two fixed
-- buckets (the previous bucket weighted by how much of it still overlaps the
-- window), one counter per key, with a suppression-list lookup first, as a
-- policy request at RCPT does.
--   KEYS[1]  counter key prefix, with a hash tag (e.g. rl:{sender@dom})
--   KEYS[2]  suppression set
--   ARGV[1]  limit   ARGV[2]  window (seconds)   ARGV[3]  cost   ARGV[4]  recipient
-- Returns {allowed (0/1), estimated count, suppressed (0/1)}.
if redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 1 then
  return {0, 0, 1}
end
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(redis.call('TIME')[1])
local bucket = math.floor(now / window)
local kcur = KEYS[1] .. ':' .. bucket
local kprev = KEYS[1] .. ':' .. (bucket - 1)
local cur = tonumber(redis.call('GET', kcur) or '0')
local prev = tonumber(redis.call('GET', kprev) or '0')
local est = math.floor(prev * (1 - (now % window) / window)) + cur
if est + cost > limit then
  return {0, est, 0}
end
redis.call('INCRBY', kcur, cost)
redis.call('EXPIRE', kcur, 2 * window)
return {1, est + cost, 0}
