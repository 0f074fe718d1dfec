/*
 * NAME
 *   warmup_job_scripts.c - Lua scripts of the warm-up job (as C strings).
 *
 * DESCRIPTION
 *   register  KEYS pf:pools, pf:pool:{p}, pf:events, then one state key per
 *             IP.  ARGV pool, today, yesterday, now, node, then per IP:
 *             address, transport, schedule name, caps ("100,500,2000";
 *             "" for a warm IP), seen ("1" when this daemon already saw
 *             the IP's state since its start or last reload).  Creates
 *             missing IP states; refreshes schedule and caps so warmupctl
 *             needs no copy of the config.  Returns one string per IP:
 *             "kept" (state existed), "new" (created, never known) or
 *             "lost:EVIDENCE" (created although the IP was known: it was in
 *             the pool registry, seen by this node, or, only when neither,
 *             named in the last 10,000 events; EVIDENCE lists which): Redis
 *             lost the state, and the IP restarts at stage 0, unpaused.
 *             The event scan runs only for a missing state.
 *   fetch     KEYS the IP state, then the 24 hourly health keys of the
 *             evaluated day for every provider (provider after provider,
 *             in provider-map order), then the shaping indexes: the pool's,
 *             then one per sender domain of the pool.  ARGV the number of
 *             keys per provider (24), the number of shaping indexes, now,
 *             the IP, its netblock.  Returns {last_eval, stage, paused, then
 *             per provider sent, hard, soft, complaint, then the running
 *             hold effect on the IP, its netblock or a domain of the pool
 *             ("" none)} (last_eval "" when the IP has no state yet): the
 *             verdict judges each provider and the total, a hold keeps the
 *             stage (common/shaping.h).
 *   apply     KEYS the IP state, pf:events.  ARGV expected last_eval,
 *             evaluated day, expected stage, new stage, pause (0/1),
 *             verdict, reason, now, node, pool, ip, today.  Compare-and-set
 *             on last_eval and stage; returns 1 when applied, 0 when another
 *             node (or an operator) got there first.
 *   watch     KEYS the IP state, then the hourly health keys of the last 24
 *             hours for every provider (provider after provider); ARGV the
 *             number of keys per provider (24), then the hour of each key.
 *             Returns {} when the IP is paused or has no state, else
 *             {resumed_at, then per provider sent, complaint}: the sums of
 *             the hours after the operator's last resume (so the complaints
 *             that caused a pause do not pause the IP again).
 *   pause     KEYS the IP state, pf:events.  ARGV reason, now, node, pool,
 *             ip, expected resumed_at.  Pauses the IP (and appends the
 *             event) unless it is paused already or was resumed since the
 *             watch read it; returns 1 when paused.
 */
#include "warmup_job_scripts.h"

const char warmup_register_lua[] =
    "local function in_events(pool, ip)\n"
    "  for _, e in ipairs(redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 10000)) do\n"
    "    local f, p, a = e[2], nil, nil\n"
    "    for k = 1, #f - 1, 2 do\n"
    "      if f[k] == 'pool' then p = f[k + 1] elseif f[k] == 'ip' then a = f[k + 1] end\n"
    "    end\n"
    "    if p == pool and a == ip then return true end\n"
    "  end\n"
    "  return false\n"
    "end\n"
    "redis.call('SADD', KEYS[1], ARGV[1])\n"
    "local out = {}\n"
    "for i = 1, #KEYS - 3 do\n"
    "  local a = 6 + (i - 1) * 5\n"
    "  local known = {}\n"
    "  if redis.call('HSET', KEYS[2], ARGV[a], ARGV[a + 1]) == 0 then known[#known + 1] = 'pool registry' end\n"
    "  if redis.call('HSETNX', KEYS[3 + i], 'stage', '0') == 1 then\n"
    "    if ARGV[a + 4] == '1' then known[#known + 1] = 'this node' end\n"
    "    if #known == 0 and in_events(ARGV[1], ARGV[a]) then known[#known + 1] = 'events' end\n"
    "    local reason = 'first seen in the configuration'\n"
    "    if #known > 0 then\n"
    "      reason = 'state lost (known from ' .. table.concat(known, ', ') .. '): re-created at stage 0'\n"
    "    end\n"
    "    redis.call('HSET', KEYS[3 + i], 'paused', '0', 'start', ARGV[2], 'stage_since', ARGV[2],\n"
    "               'last_eval', ARGV[3], 'schedule', ARGV[a + 2], 'caps', ARGV[a + 3])\n"
    "    redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'time', ARGV[4], 'node', ARGV[5],\n"
    "               'pool', ARGV[1], 'ip', ARGV[a], 'event', 'create', 'from', '', 'to', '0',\n"
    "               'reason', reason)\n"
    "    out[i] = #known > 0 and ('lost:' .. table.concat(known, ', ')) or 'new'\n"
    "  else\n"
    "    redis.call('HSET', KEYS[3 + i], 'schedule', ARGV[a + 2], 'caps', ARGV[a + 3])\n"
    "    out[i] = 'kept'\n"
    "  end\n"
    "end\n"
    "return out\n";

const char warmup_fetch_lua[] = "local st = redis.call('HMGET', KEYS[1], 'last_eval', 'stage', 'paused')\n"
                                "local per, nfx, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
                                "local out = {st[1] or '', st[2] or '0', st[3] or '0'}\n"
                                "for p = 0, (#KEYS - 1 - nfx) / per - 1 do\n"
                                "  local sum = {0, 0, 0, 0}\n"
                                "  for i = 2 + p * per, 1 + (p + 1) * per do\n"
                                "    local v = redis.call('HMGET', KEYS[i], 'sent', 'hard', 'soft', 'complaint')\n"
                                "    for j = 1, 4 do sum[j] = sum[j] + (tonumber(v[j]) or 0) end\n"
                                "  end\n"
                                "  for j = 1, 4 do out[#out + 1] = tostring(sum[j]) end\n"
                                "end\n"
                                "local hold = ''\n"
                                "for i = #KEYS - nfx + 1, #KEYS do\n"
                                "  local subjects = {'dkim', 'spf'}\n"
                                "  if i == #KEYS - nfx + 1 then subjects = {ARGV[4], ARGV[5]} end\n"
                                "  local h = redis.call('HGETALL', KEYS[i])\n"
                                "  for j = 1, #h, 2 do\n"
                                "    local u, r = string.match(h[j + 1], '^(%d+) %d+ [%d.]+ %d+ %d+ %d+ %d+ (%S+)$')\n"
                                "    for _, s in ipairs(subjects) do\n"
                                "      if hold == '' and u and tonumber(u) > now and s ~= '' and\n"
                                "         string.find(h[j], 'hold|' .. s .. '|', 1, true) == 1 then\n"
                                "        hold = h[j] .. ' (rule ' .. r .. ' until ' .. u .. ')'\n"
                                "      end\n"
                                "    end\n"
                                "  end\n"
                                "end\n"
                                "out[#out + 1] = hold\n"
                                "return out\n";

const char warmup_apply_lua[] =
    "local st = redis.call('HMGET', KEYS[1], 'last_eval', 'stage', 'paused')\n"
    "if (st[1] or '') ~= ARGV[1] or (st[2] or '0') ~= ARGV[3] or st[3] == '1' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'last_eval', ARGV[2])\n"
    "if ARGV[4] ~= ARGV[3] then\n"
    "  redis.call('HSET', KEYS[1], 'stage', ARGV[4], 'stage_since', ARGV[12])\n"
    "end\n"
    "if ARGV[5] == '1' then\n"
    "  redis.call('HSET', KEYS[1], 'paused', '1', 'paused_reason', ARGV[7], 'paused_at', ARGV[8])\n"
    "end\n"
    "if ARGV[6] ~= 'keep' then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '10000', '*', 'time', ARGV[8], 'node', ARGV[9],\n"
    "             'pool', ARGV[10], 'ip', ARGV[11], 'event', ARGV[6], 'from', ARGV[3], 'to', ARGV[4],\n"
    "             'reason', ARGV[7], 'day', ARGV[2])\n"
    "end\n"
    "return 1\n";

const char warmup_watch_lua[] = "local st = redis.call('HMGET', KEYS[1], 'paused', 'resumed_at')\n"
                                "if st[1] ~= '0' then return {} end\n"
                                "local after = math.floor((tonumber(st[2]) or -3600) / 3600)\n"
                                "local per = tonumber(ARGV[1])\n"
                                "local out = {st[2] or ''}\n"
                                "for p = 0, (#KEYS - 1) / per - 1 do\n"
                                "  local sent, complaint = 0, 0\n"
                                "  for i = 2 + p * per, 1 + (p + 1) * per do\n"
                                "    if tonumber(ARGV[i]) > after then\n"
                                "      local v = redis.call('HMGET', KEYS[i], 'sent', 'complaint')\n"
                                "      sent = sent + (tonumber(v[1]) or 0)\n"
                                "      complaint = complaint + (tonumber(v[2]) or 0)\n"
                                "    end\n"
                                "  end\n"
                                "  out[#out + 1] = tostring(sent)\n"
                                "  out[#out + 1] = tostring(complaint)\n"
                                "end\n"
                                "return out\n";

const char warmup_pause_lua[] =
    "local st = redis.call('HMGET', KEYS[1], 'paused', 'resumed_at', 'stage')\n"
    "if st[1] ~= '0' or (st[2] or '') ~= ARGV[6] then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'paused', '1', 'paused_reason', ARGV[1], 'paused_at', ARGV[2])\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', '10000', '*', 'time', ARGV[2], 'node', ARGV[3],\n"
    "           'pool', ARGV[4], 'ip', ARGV[5], 'event', 'pause', 'from', st[3] or '0', 'to', st[3] or '0',\n"
    "           'reason', ARGV[1])\n"
    "return 1\n";
