/*
 * NAME
 *   policy_script.c - the Lua scripts of policy requests, as C strings.
 *
 * DESCRIPTION
 *   Compiled into the binary, so the daemon never depends on a file at run
 *   time.  Each script is atomic: every check passes and every counter is
 *   added, or nothing is counted.  KEYS and ARGV are laid out by
 *   policy_plan.c.
 *
 *   policy_rcpt_lua, for RCPT requests (suppression and RCPT-stage rules;
 *   most requests are RCPT, and Redis's cost of a call grows with its
 *   arguments, so this one gets only what it needs):
 *   ARGV  1 now  2 "rcpt"  3 nsup  4 nrules, then per rule: limit, window, amount
 *   KEYS  suppression keys (nsup), rule buckets (nrules)
 *   Reply {"suppressed", reason, detail} | {"ratelimited", rule#, used} | {"ok", "0"}
 *
 *   policy_script_lua, for END-OF-MESSAGE requests:
 *   ARGV  1 now  2 mode (eom)  3 nsup  4 nrules  5 nips  6 nprov
 *         7 today (yyyymmdd)  8 yesterday  9 attribution TTL (0: none)
 *        10 recipients of the message  11 node  12 pool  13 sender domain
 *        14 provider label  15 sender  16 hour
 *        17 the recipient when the message has exactly one, else ""
 *        18 sender-domain health keys (0, or one per provider)
 *        19 shaping indexes (0, 1: the pool's, 2: and the sender domain's)
 *        then per rule: limit, window, amount
 *        then per provider of the message: name, recipients
 *        then per IP: address, netblock, group (1 warming, 2 warm), assumed
 *                     stage, allowed-by-now (-1 unlimited), allowed per
 *                     provider...
 *   KEYS  suppression keys (nsup), rule buckets (nrules), the shaping
 *         indexes (ARGV[19]), per IP: state, day counters, one health key
 *         per provider; then the sender domain's health keys (ARGV[18], in
 *         the order of the providers); then the attribution key when
 *         ARGV[9] > 0.
 *   Reply {"suppressed", reason, detail} | {"ratelimited", rule#, used} |
 *         {"ok"|"nobudget"|"stale", chosen IP# (0: none), stage, paused, ...} |
 *         {"shaped", 0, stage, paused, ..., effect, rule, until}
 *
 *   Shaping effects (common/shaping.h): an IP is not a candidate for a
 *   message when a suspend on its address or netblock x a provider of the
 *   message (or "all") is running, or when a slow-down's hourly limit
 *   would be passed by the message's recipients of that provider (this
 *   hour's `sent` of the IP's health key).  A suspend or slow-down on the
 *   sender domain (kind dkim or spf) holds back every IP.  With no
 *   candidate left and one shut out by an effect, the reply is "shaped".
 *
 *   A rate bucket's TTL is (re)set only when a new sub-window field is
 *   created: the key then lives window + one sub-window past its newest
 *   field, which is all the window needs, at one call less per request.
 *
 *   The time comes from the daemon (ARGV[1]), so the daemon's clock, not
 *   Redis's, defines days and windows (and tests can move it).
 */
#include "policy_script.h"

/* Shared parts.  They use the locals now, nsup, nrules, k (next KEYS index) and a (next ARGV index). */
#define LUA_SUPPRESSION \
    "for _ = 1, nsup do\n" \
    "  local r = redis.call('HMGET', KEYS[k], 'reason', 'detail')\n" \
    "  if r[1] then\n" \
    "    return {'suppressed', r[1], r[2] or ''}\n" \
    "  end\n" \
    "  k = k + 1\n" \
    "end\n"

#define LUA_RULES_CHECK \
    "local rules = {}\n" \
    "for i = 1, nrules do\n" \
    "  local key, limit, window, amount = KEYS[k], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])\n" \
    "  local sub = math.floor(window / 10)\n" \
    "  local cur = math.floor(now / sub)\n" \
    "  local h = redis.call('HGETALL', key)\n" \
    "  local sum = 0\n" \
    "  for j = 1, #h, 2 do\n" \
    "    local b = tonumber(h[j])\n" \
    "    if b and b > cur - 10 then\n" \
    "      sum = sum + tonumber(h[j + 1])\n" \
    "    else\n" \
    "      redis.call('HDEL', key, h[j])\n" \
    "    end\n" \
    "  end\n" \
    "  if sum + amount > limit then\n" \
    "    return {'ratelimited', tostring(i), tostring(sum)}\n" \
    "  end\n" \
    "  rules[i] = {key, cur, amount, window + sub}\n" \
    "  k, a = k + 1, a + 3\n" \
    "end\n"

#define LUA_RULES_COMMIT \
    "for i = 1, nrules do\n" \
    "  local r = rules[i]\n" \
    "  if r[3] > 0 and redis.call('HINCRBY', r[1], r[2], r[3]) == r[3] then\n" \
    "    redis.call('EXPIRE', r[1], r[4])\n" \
    "  end\n" \
    "end\n"

/*
 * The shaping indexes (KEYS[k..], nfx of them) into fx: "action|subject|provider"
 * -> effect, the ended ones left out.  shaped_by(subject, j, sentkey) is the effect
 * that shuts subject out of provider j's recipients, this hour's `sent` read from
 * sentkey (a health key, or nil: 0) only when a slow-down needs it.
 * The sender domain's effects shut every IP out (domain_shaped); the domain's
 * hourly `sent` is its health key (KEYS[dhk + j - 1]) when the plan has them.
 */
#define LUA_SHAPING \
    "local fx, has_fx, shaped, domain_shaped = {}, false, nil, false\n" \
    "for _ = 1, nfx do\n" \
    "  local h = redis.call('HGETALL', KEYS[k])\n" \
    "  for j = 1, #h, 2 do\n" \
    "    local u, e, f, s, fl, c, b, r = string.match(h[j + 1],\n" \
    "      '^(%d+) (%d+) ([%d.]+) (%d+) (%d+) (%d+) (%d+) (%S+)$')\n" \
    "    if u and tonumber(e) > now then\n" \
    "      fx[h[j]] = {name = h[j], u = tonumber(u), f = tonumber(f), s = tonumber(s), fl = tonumber(fl),\n" \
    "                  c = tonumber(c), b = tonumber(b), rule = r}\n" \
    "      has_fx = true\n" \
    "    end\n" \
    "  end\n" \
    "  k = k + 1\n" \
    "end\n" \
    "local function slow_limit(e)\n" \
    "  local s = e.s\n" \
    "  if now >= e.u then\n" \
    "    if e.c <= 0 then return nil end\n" \
    "    s = e.s - math.floor((now - e.u) / e.c) - 1\n" \
    "  end\n" \
    "  if s < 1 then return nil end\n" \
    "  local lim = math.floor(e.b * e.f ^ s)\n" \
    "  if lim < e.fl then lim = e.fl end\n" \
    "  return lim\n" \
    "end\n" \
    "local function shaped_by(subject, j, sentkey)\n" \
    "  for n = 1, 2 do\n" \
    "    local p = n == 1 and provs[j][1] or 'all'\n" \
    "    local e = fx['suspend|' .. subject .. '|' .. p]\n" \
    "    if e and now < e.u then return e end\n" \
    "    e = fx['slow|' .. subject .. '|' .. p]\n" \
    "    local lim = e and slow_limit(e)\n" \
    "    if lim then\n" \
    "      local used = sentkey and tonumber(redis.call('HGET', sentkey, 'sent')) or 0\n" \
    "      if used + provs[j][2] > lim then return e end\n" \
    "    end\n" \
    "  end\n" \
    "  return nil\n" \
    "end\n" \
    "if has_fx then\n" \
    "  local dhk = k + nips * (2 + nprov)\n" \
    "  for j = 1, nprov do\n" \
    "    local sentkey = ndh > 0 and KEYS[dhk + j - 1] or nil\n" \
    "    local e = shaped_by('dkim', j, sentkey) or shaped_by('spf', j, sentkey)\n" \
    "    if e then shaped, domain_shaped = shaped or e, true end\n" \
    "  end\n" \
    "end\n"

const char policy_rcpt_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local nsup, nrules = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local k, a = 1, 5\n" LUA_SUPPRESSION LUA_RULES_CHECK LUA_RULES_COMMIT "return {'ok', '0'}\n";

const char policy_script_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local mode = ARGV[2]\n"
    "local nsup, nrules, nips, nprov = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local today, yesterday, attr_ttl, total = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])\n"
    "local ndh, nfx = tonumber(ARGV[18]), tonumber(ARGV[19])\n"
    "local k, a = 1, 20\n"
    "\n" LUA_SUPPRESSION "\n" LUA_RULES_CHECK "\n"
    "local provs = {}\n"
    "for j = 1, nprov do\n"
    "  provs[j] = {ARGV[a], tonumber(ARGV[a + 1])}\n"
    "  a = a + 2\n"
    "end\n" LUA_SHAPING "local ips, states, best, stale = {}, {}, nil, false\n"
    "for i = 1, nips do\n"
    "  local ip = {state = KEYS[k], day = KEYS[k + 1], hl = {}, index = i}\n"
    "  for j = 1, nprov do ip.hl[j] = KEYS[k + 1 + j] end\n"
    "  k = k + 2 + nprov\n"
    "  ip.addr, ip.netblock = ARGV[a], ARGV[a + 1]\n"
    "  ip.group, ip.stage, ip.allowed = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])\n"
    "  ip.pallowed = {}\n"
    "  for j = 1, nprov do ip.pallowed[j] = tonumber(ARGV[a + 4 + j]) end\n"
    "  a = a + 5 + nprov\n"
    "  local st = redis.call('HMGET', ip.state, 'stage', 'paused')\n"
    "  local stage = tonumber(st[1]) or 0\n"
    "  local paused = st[2] == '1'\n"
    "  states[#states + 1] = tostring(stage)\n"
    "  states[#states + 1] = paused and '1' or '0'\n"
    "  if stage ~= ip.stage then\n"
    "    stale = true\n"
    "  elseif not paused then\n"
    "    local fields = {'all'}\n"
    "    for j = 1, nprov do fields[#fields + 1] = 'p:' .. provs[j][1] end\n"
    "    local used = redis.call('HMGET', ip.day, unpack(fields))\n"
    "    local all = tonumber(used[1]) or 0\n"
    "    local ok = ip.allowed < 0 or all + total <= ip.allowed\n"
    "    for j = 1, nprov do\n"
    "      local u = tonumber(used[1 + j]) or 0\n"
    "      if ip.pallowed[j] >= 0 and u + provs[j][2] > ip.pallowed[j] then ok = false end\n"
    "    end\n"
    "    if ok and has_fx then\n"
    "      for j = 1, nprov do\n"
    "        local e = shaped_by(ip.addr, j, ip.hl[j]) or shaped_by(ip.netblock, j, ip.hl[j])\n"
    "        if e then ok = false; shaped = shaped or e end\n"
    "      end\n"
    "    end\n"
    "    if ok and not domain_shaped then\n"
    "      if ip.group == 1 then ip.score = 1 - all / ip.allowed else ip.score = -all end\n"
    "      if best == nil or ip.group < best.group or (ip.group == best.group and ip.score > best.score) then\n"
    "        best = ip\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  ips[i] = ip\n"
    "end\n"
    "\n"
    "local function reply(tag, chosen)\n"
    "  local r = {tag, tostring(chosen)}\n"
    "  for _, v in ipairs(states) do r[#r + 1] = v end\n"
    "  return r\n"
    "end\n"
    "\n"
    "if mode == 'eom' and nips > 0 and best == nil then\n"
    "  if shaped and not stale then\n"
    "    local r = reply('shaped', 0)\n"
    "    r[#r + 1], r[#r + 2], r[#r + 3] = shaped.name, shaped.rule, tostring(shaped.u)\n"
    "    return r\n"
    "  end\n"
    "  return reply(stale and 'stale' or 'nobudget', 0)\n"
    "end\n"
    "\n" LUA_RULES_COMMIT "local dh = k\n"
    "k = k + ndh\n"
    "if best ~= nil then\n"
    "  redis.call('HINCRBY', best.day, 'all', total)\n"
    "  redis.call('HINCRBY', best.day, 'msgs', 1)\n"
    "  for j = 1, nprov do\n"
    "    redis.call('HINCRBY', best.day, 'p:' .. provs[j][1], provs[j][2])\n"
    "    redis.call('HINCRBY', best.hl[j], 'sent', provs[j][2])\n"
    "    redis.call('EXPIRE', best.hl[j], 691200)\n"
    "    if ndh > 0 then\n"
    "      redis.call('HINCRBY', KEYS[dh + j - 1], 'sent', provs[j][2])\n"
    "      redis.call('EXPIRE', KEYS[dh + j - 1], 691200)\n"
    "    end\n"
    "  end\n"
    "  redis.call('EXPIRE', best.day, 259200)\n"
    "  if redis.call('HSETNX', best.state, 'stage', '0') == 1 then\n"
    "    redis.call('HSET', best.state, 'paused', '0', 'start', today, 'stage_since', today, 'last_eval', yesterday)\n"
    "  end\n"
    "  if attr_ttl > 0 then\n"
    "    local q = KEYS[k]\n"
    "    redis.call('HSET', q, 'ip', best.addr, 'pool', ARGV[12], 'sender_domain', ARGV[13], 'provider', ARGV[14],\n"
    "               'sender', ARGV[15], 'rcpts', tostring(total), 'rcpt', ARGV[17], 'time', tostring(now),\n"
    "               'node', ARGV[11])\n"
    "    redis.call('EXPIRE', q, attr_ttl)\n"
    "  end\n"
    "  return reply('ok', best.index)\n"
    "end\n"
    "return reply('ok', 0)\n";
