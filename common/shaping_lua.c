/*
 * shaping_lua.c - the Lua scripts that write, extend and cancel a
 * shaping effect in both of its places (see shaping.h for KEYS and ARGV).
 */
#include "shaping.h"

/* Drops the index fields whose effect ended; `keep` is raised to the latest end left. */
#define LUA_PRUNE_INDEX \
    "local idx = redis.call('HGETALL', KEYS[2])\n" \
    "for i = 1, #idx, 2 do\n" \
    "  local e = tonumber(string.match(idx[i + 1], '^%d+ (%d+)'))\n" \
    "  if e == nil or e <= now then redis.call('HDEL', KEYS[2], idx[i])\n" \
    "  elseif e > keep then keep = e end\n" \
    "end\n"

const char shaping_write_lua[] =
    "local now, u, step, clean = tonumber(ARGV[3]), tonumber(ARGV[2]), tonumber(ARGV[6]), tonumber(ARGV[16])\n"
    "local cur = redis.call('HMGET', KEYS[1], 'until', 'step', 'base')\n"
    "local cu, cs, base = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])\n"
    "if cu and cu >= u and (cs or 0) >= step then return 0 end\n"
    "if cu and cu > u then u = cu end\n"
    "if cs and cs > step then step = cs end\n"
    "if not base then\n"
    "  local half, prev, this = (#KEYS - 2) / 2, 0, 0\n"
    "  for i = 3, #KEYS do\n"
    "    local v = tonumber(redis.call('HGET', KEYS[i], 'sent')) or 0\n"
    "    if i < 3 + half then prev = prev + v else this = this + v end\n"
    "  end\n"
    "  base = math.max(prev, this)\n"
    "end\n"
    "local ends = u\n"
    "if ARGV[1] == 'slow' and step > 1 then ends = u + (step - 1) * clean end\n"
    "redis.call('HSET', KEYS[1], 'action', ARGV[1], 'until', tostring(u), 'ends', tostring(ends), 'factor', ARGV[4],\n"
    "           'floor', ARGV[5], 'step', tostring(step), 'rule', ARGV[7], 'reason', ARGV[8], 'evidence', ARGV[9],\n"
    "           'origin', ARGV[11], 'subject', ARGV[12], 'kind', ARGV[13], 'provider', ARGV[14],\n"
    "           'queue_id', ARGV[15], 'clean', ARGV[16], 'base', tostring(base))\n"
    "redis.call('HSETNX', KEYS[1], 'since', ARGV[10])\n"
    "redis.call('EXPIRE', KEYS[1], ends - now + 60)\n"
    "local keep = ends\n" LUA_PRUNE_INDEX
    "redis.call('HSET', KEYS[2], ARGV[17], table.concat({tostring(u), tostring(ends), ARGV[4], tostring(step),\n"
    "           ARGV[5], ARGV[16], tostring(base), ARGV[7]}, ' '))\n"
    "redis.call('EXPIRE', KEYS[2], keep - now + 60)\n"
    "return 1\n";

const char shaping_extend_lua[] =
    "local d = redis.call('HMGET', KEYS[1], 'action', 'step', 'clean', 'factor', 'floor', 'base', 'rule')\n"
    "if not d[1] then return 0 end\n"
    "local now, u = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local step, clean = tonumber(d[2]) or 1, tonumber(d[3]) or 0\n"
    "local ends = u\n"
    "if d[1] == 'slow' and step > 1 then ends = u + (step - 1) * clean end\n"
    "redis.call('HSET', KEYS[1], 'until', ARGV[2], 'ends', tostring(ends), 'extended_by', ARGV[4])\n"
    "redis.call('EXPIRE', KEYS[1], ends - now + 60)\n"
    "local keep = ends\n" LUA_PRUNE_INDEX
    "redis.call('HSET', KEYS[2], ARGV[3], table.concat({ARGV[2], tostring(ends), d[4] or '1', tostring(step),\n"
    "           d[5] or '0', tostring(clean), d[6] or '0', d[7] or 'operator'}, ' '))\n"
    "redis.call('EXPIRE', KEYS[2], keep - now + 60)\n"
    "return 1\n";

const char shaping_cancel_lua[] = "local n = redis.call('DEL', KEYS[1])\n"
                                  "n = n + redis.call('HDEL', KEYS[2], ARGV[1])\n"
                                  "if n > 0 then return 1 end\n"
                                  "return 0\n";
