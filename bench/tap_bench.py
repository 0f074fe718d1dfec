#!/usr/bin/python3
"""tap_bench.py - maillog-tap on a synthetic Postfix log, and pflogsumm beside it.

Usage: tap_bench.py BIN_DIR WORK_DIR QUICK >> results.txt

The log is generated here, from a fixed seed, to look like a busy outbound
relay's maillog: per message the smtpd/cleanup/qmgr lines, one to three
recipients over several per-IP transports (syslog_name postfix/smtp-<ip>),
about 85% sent, 12% deferred and 3% bounced attempts, with the providers'
real reply texts (tests/data/receiver-replies.txt, Gmail's multi-line
421-4.7.28), retries of deferred recipients, postfix/error repeats of a
deferral, TLS and disconnect noise.  Measures:
  1. replay throughput on one core (taskset -c 0): maillog-tap --dry-run
     --json --from-start --rules conf/shaping-rules.conf FILE > /dev/null,
     on the same log with RFC 3339 (Debian 12 rsyslog) and BSD timestamps;
     the best and the median of three runs;
  2. pflogsumm (Debian's, 1.1.5) over the same file, one core: the ratio;
  3. flat memory: peak RSS (wait4's rusage of the child) of a replay of 1M
     and of 10M lines (0.3M / 3M with QUICK=1) streamed through stdin;
  4. effect latency in daemon mode: a private redis-server on a unix
     socket, the pools registered (pf:pools, pf:pool:{bench}), maillog-tap
     -f -c CONF --follow on a file a writer appends 1,000 lines/s to, with a
     burst of three Gmail 421-4.7.28 deferrals for a fresh pool IP every
     0.5 s; a keyspace-notification subscriber (its own process) stamps the
     moment each pf:fx:...:gmail:suspend key appears; latency = that moment
     minus the write of the burst's third line.  Then the outcome counters
     (pf:hl:) must add up to the outcome lines written.
Prints records for bench/report.py:
  tapreplay prog=P format=iso|bsd lines=N runs=R secs=S rate=R best=R cpu_s=C maxrss_kib=K
  tapmem lines=N secs=S rate=R maxrss_kib=K
  taplat secs=S lines=N rate=R bursts=N seen=N p50_ms= p99_ms= max_ms= poll_ms=
  tapcount expected=N redis=N unpooled=N
  fail TEXT   (a run that did not read every line, or counters that do not add up)
"""
import os
import random
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
RULES = os.path.join(ROOT, "conf", "shaping-rules.conf")
CORPUS = os.path.join(ROOT, "tests", "data", "receiver-replies.txt")

SEED = 20261203
POOL = "bench"
MIX_IPS = ["192.0.2.%d" % i for i in range(10, 16)]     # the per-IP transports of the mix

GMAIL_428 = ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP "
             "address %s. To protect 421-4.7.28 our users from spam, mail sent from your IP address has been "
             "temporarily rate limited. For more information, go to 421 4.7.28  "
             "https://support.google.com/mail/?p=UnsolicitedRateLimitError %s - gsmtp")

# provider -> (weight, recipient domains, MX hosts, sent reply templates)
PROVIDERS = {
    "gmail": (34, ["gmail.com", "googlemail.com", "corp-a.example.com"],
              ["gmail-smtp-in.l.google.com[142.250.102.27]", "alt1.gmail-smtp-in.l.google.com[142.250.150.26]",
               "aspmx.l.google.com[142.250.102.26]"],
              ["250 2.0.0 OK  17643%05d %s - gsmtp"]),
    "microsoft": (16, ["outlook.com", "hotmail.com", "live.com", "corp-b.example.net"],
                  ["outlook-com.olc.protection.outlook.com[52.101.73.17]",
                   "hotmail-com.olc.protection.outlook.com[52.101.68.2]",
                   "corp-b-example-net.mail.protection.outlook.com[52.101.41.9]"],
                  ["250 2.6.0 <%05d@news.example.org> [InternalId=%s, Hostname=AM0PR05MB0001.eurprd05.prod."
                   "outlook.com] 18211 bytes in 0.120, 148.2 KB/sec Queued mail for delivery"]),
    "yahoo": (12, ["yahoo.com", "aol.com", "ymail.com"],
              ["mta6.am0.yahoodns.net[67.195.204.77]", "mta5.am0.yahoodns.net[67.195.204.79]"],
              ["250 ok dirdel"]),
    "apple": (5, ["icloud.com", "me.com"], ["mx01.mail.icloud.com[17.57.154.33]"],
              ["250 2.0.0 Ok: queued as %05d-%s"]),
    "comcast": (2, ["comcast.net"], ["mx1.comcast.net[96.114.157.80]"],
                ["250 2.0.0 %05d%s mail accepted for delivery"]),
    "gmx": (4, ["gmx.de", "web.de", "gmx.net"], ["mx00.emig.gmx.net[212.227.15.9]", "mx-ha03.web.de[212.227.17.8]"],
            ["250 Requested mail action okay, completed: id=1M%05d-%s"]),
    "orange": (2, ["orange.fr", "wanadoo.fr"], ["smtp-in.orange.fr[80.12.242.15]"],
               ["250 2.0.0 %05d%s mail accepted for delivery"]),
    "other": (25, None, None, ["250 2.0.0 Ok: queued as %05d%s", "250 OK id=%05d-%s", "250 Message accepted %05d %s"]),
}
OTHER_DOMAINS = 400          # example-N.net, each with its own MX


def load_corpus():
    """Postfix-form replies from the reviewed corpus, by provider: (4xx, 5xx)."""
    out = {p: ([], []) for p in PROVIDERS}
    for line in open(CORPUS, encoding="utf-8"):
        if line.startswith("#") or line.count("\t") < 2:
            continue
        prov, _, reply = line.rstrip("\n").split("\t", 2)
        if "\\n" in reply or prov not in out or reply[:1] not in "45":
            continue
        out[prov][0 if reply[0] == "4" else 1].append(reply)
    return out


class Gen:
    """A deterministic Postfix log: lines() yields them, counted as it goes."""

    def __init__(self, seed, ips, iso=True, t0=None, rate=30.0):
        self.rnd = random.Random(seed)
        self.ips = ips
        self.iso = iso
        self.t = t0 if t0 is not None else 1796292000.0      # 2026-12-03 10:00:00 UTC
        self.step = 1.0 / rate
        self.corpus = load_corpus()
        self.qn = 0
        self.pid = 2100
        self.retry = []                # (due time, qid, rcpt, provider, domain, mx, ip, tries)
        self.counted = 0               # outcome lines maillog-tap's daemon counts
        self.status = {"sent": 0, "deferred": 0, "bounced": 0, "repeat": 0}
        names = list(PROVIDERS)
        self.prov_names, self.prov_w = names, [PROVIDERS[p][0] for p in names]

    def stamp(self, t):
        if self.iso:
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06d+00:00" % int((t % 1) * 1e6)
        return time.strftime("%b %e %H:%M:%S", time.gmtime(t))

    def qid(self):
        self.qn += 1
        return "%011X" % ((self.qn * 0x9E3779B1) & 0xFFFFFFFFFFF)

    def dest(self):
        r = self.rnd
        prov = r.choices(self.prov_names, self.prov_w)[0]
        w, doms, mxs, _ = PROVIDERS[prov]
        if prov == "other":
            n = r.randrange(OTHER_DOMAINS)
            dom = "example-%d.net" % n
            mx = "mx%d.example-%d.net[198.51.%d.%d]" % (n % 3, n, 100 + n % 2, 1 + n % 250)
        else:
            dom, mx = r.choice(doms), r.choice(mxs)
        return prov, dom, mx

    def delivery(self, ts, ip, qid, rcpt, prov, dom, mx, tries):
        """One smtp attempt: (line, requeue?)."""
        r = self.rnd
        self.pid += 1
        host = mx.split("[")[0]
        tag = "postfix/smtp-%s/smtp[%d]" % (ip, 3000 + self.pid % 20000)
        delay = 0.4 + tries * 300 + r.random()
        x = r.random()
        # first attempts: ~84% sent, ~13% deferred, ~3% bounced; retries mostly go through
        p_def, p_bnc = (0.115, 0.03) if tries == 0 else (0.20, 0.05)
        head = "%s mx1 %s: %s: to=<%s>, " % (self.stamp(ts), tag, qid, rcpt)
        if x >= p_def + p_bnc:
            tmpl = r.choice(PROVIDERS[prov][3])
            reply = tmpl % (self.pid % 100000, "%x" % r.getrandbits(40)) if "%" in tmpl else tmpl
            self.status["sent"] += 1
            self.counted += 1
            return (head + "relay=%s:25, delay=%.1f, delays=0.1/0/0.2/0.3, dsn=2.0.0, status=sent (%s)"
                    % (mx, delay, reply)), False
        deferred = x < p_def
        y = r.random()
        if deferred and y < 0.08:
            # our side: no remote reply (not counted by the daemon)
            ip_mx = mx.split("[")[1].rstrip("]")
            text = r.choice(["connect to %s[%s]:25: Connection timed out" % (host, ip_mx),
                             "lost connection with %s while receiving the initial server greeting" % mx,
                             "Host or domain name not found. Name service error for name=%s type=MX: "
                             "Host not found, try again" % dom])
            self.status["deferred"] += 1
            return (head + "relay=none, delay=%.0f, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (%s)"
                    % (delay, text)), True
        soft, hard = self.corpus.get(prov, ([], []))
        if deferred:
            if prov == "gmail" and y < 0.6:
                reply = GMAIL_428 % (ip, "%x" % r.getrandbits(40))
            elif soft and y < 0.8:
                reply = r.choice(soft)
            else:
                reply = "450 4.2.0 <%s>: Recipient address rejected: Greylisted, see http://postgrey." \
                        "schweikert.ch/help/%s.html" % (rcpt, dom)
            dsn = reply.split()[1] if reply[3:4] in " -" and reply[4:5].isdigit() else "4.0.0"
            dsn = dsn if dsn[:1] == "4" else "4.0.0"
        else:
            if hard and y < 0.3:
                reply = r.choice(hard)
            else:
                reply = "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table" % rcpt
            dsn = reply.split()[1] if reply[4:5].isdigit() else "5.0.0"
            dsn = dsn.split("-")[0] if dsn[:1] == "5" else "5.0.0"
        cmd = r.choice(["end of DATA", "RCPT TO", "MAIL FROM"])
        self.status["deferred" if deferred else "bounced"] += 1
        self.counted += 1
        return (head + "relay=%s:25, delay=%.1f, delays=0.1/0/0.2/0.3, dsn=%s, status=%s (host %s said: %s "
                "(in reply to %s command))" % (mx, delay, dsn, "deferred" if deferred else "bounced",
                                               mx, reply, cmd)), deferred

    def message(self):
        r = self.rnd
        t = self.t
        out = []
        qid = self.qid()
        ip = r.choice(self.ips)
        cpid = 1000 + r.randrange(50)
        client = "app%d.example.org[10.0.0.%d]" % (cpid % 4, 5 + cpid % 4)
        st = self.stamp
        out.append("%s mx1 postfix/smtpd[%d]: connect from %s" % (st(t), cpid, client))
        out.append("%s mx1 postfix/smtpd[%d]: %s: client=%s" % (st(t), cpid, qid, client))
        out.append("%s mx1 postfix/cleanup[%d]: %s: message-id=<%d.%d@news.example.org>"
                   % (st(t), 2000 + cpid, qid, self.qn, cpid))
        nrcpt = r.choice((1, 1, 1, 2, 3))
        out.append("%s mx1 postfix/qmgr[880]: %s: from=<bounce+%d@news.example.org>, size=%d, nrcpt=%d (queue active)"
                   % (st(t), qid, self.qn, 8000 + r.randrange(40000), nrcpt))
        out.append("%s mx1 postfix/smtpd[%d]: disconnect from %s ehlo=1 mail=1 rcpt=%d data=1 quit=1 commands=%d"
                   % (st(t), cpid, client, nrcpt, 4 + nrcpt))
        pending = False
        for k in range(nrcpt):
            prov, dom, mx = self.dest()
            rcpt = "u%d.%d@%s" % (self.qn, k, dom)
            t += 0.01 + r.random() * 0.1
            if r.random() < 0.5:
                out.append("%s mx1 postfix/smtp-%s/smtp[%d]: Trusted TLS connection established to %s:25: TLSv1.3 "
                           "with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" % (st(t), ip, 3000 + self.pid % 20000, mx))
            line, again = self.delivery(t, ip, qid, rcpt, prov, dom, mx, 0)
            out.append(line)
            if again:
                pending = True
                self.retry.append((t + 300 + r.random() * 900, qid, rcpt, prov, dom, mx, ip, 1))
                if " said: " in line and r.random() < 0.3:
                    # qmgr marks the destination dead: error(8) repeats the reply for another recipient
                    rep = "u%d.%dr@%s" % (self.qn, k, dom)
                    self.status["repeat"] += 1
                    reply = line.split(" status=deferred (", 1)[1][:-1]
                    out.append("%s mx1 postfix/error[%d]: %s: to=<%s>, relay=none, delay=0.5, delays=0.5/0/0/0, "
                               "dsn=4.0.0, status=deferred (delivery temporarily suspended: %s)"
                               % (st(t), 2900 + k, qid, rep, reply))
        if not pending:
            out.append("%s mx1 postfix/qmgr[880]: %s: removed" % (st(t), qid))
        self.t = t + self.step * (0.5 + r.random())
        return out

    def retries(self):
        out = []
        now = self.t
        keep = []
        for item in self.retry:
            due, qid, rcpt, prov, dom, mx, ip, tries = item
            if due > now:
                keep.append(item)
                continue
            line, again = self.delivery(now, ip, qid, rcpt, prov, dom, mx, tries)
            out.append(line)
            if again and tries < 4:
                keep.append((now + 600 * (tries + 1), qid, rcpt, prov, dom, mx, ip, tries + 1))
        self.retry = keep
        return out

    def chunks(self, nlines, size=4000):
        """Byte chunks of about SIZE lines until NLINES lines; self.lines counts them."""
        self.lines = 0
        buf = []
        while self.lines < nlines:
            batch = self.message()
            if self.qn % 50 == 0:
                batch += self.retries()
            batch = batch[:nlines - self.lines]
            buf += batch
            self.lines += len(batch)
            if len(buf) >= size:
                yield ("\n".join(buf) + "\n").encode()
                buf = []
        if buf:
            yield ("\n".join(buf) + "\n").encode()


def one_core(argv):
    return (["taskset", "-c", "0"] if shutil.which("taskset") else []) + argv


def hwm_kib(pid):
    """VmHWM of a running process (the peak RSS of its image since exec), or 0."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(argv, stdin_chunks=None, stdout=subprocess.DEVNULL):
    """Runs argv; returns (rc, wall s, cpu s, peak RSS KiB, stderr text) of that child.

    The peak is VmHWM polled while the child runs (every chunk written, or
    every 20 ms): wait4's ru_maxrss would include the forked Python parent's
    pages from before the exec."""
    err_path = os.path.join(WORK, "child.err")
    peak = 0
    with open(err_path, "wb") as err:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_chunks is not None else subprocess.DEVNULL,
                             stdout=stdout, stderr=err)
        if stdin_chunks is not None:
            try:
                for c in stdin_chunks:
                    p.stdin.write(c)
                    peak = max(peak, hwm_kib(p.pid))
            except BrokenPipeError:
                pass
            p.stdin.close()
        while True:
            peak = max(peak, hwm_kib(p.pid))
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_utime + ru.ru_stime, peak, open(err_path, errors="replace").read()


def tap_lines(err):
    """The line count of maillog-tap's closing stderr line ("N lines in S s ...")."""
    for line in err.splitlines():
        if line.startswith("maillog-tap: ") and " lines in " in line:
            return int(line.split()[1])
    return -1


def write_log(path, nlines, iso):
    g = Gen(SEED, MIX_IPS, iso=iso)
    with open(path, "wb") as f:
        for c in g.chunks(nlines):
            f.write(c)
    return g


def replay(binary, path, nlines, fmt, runs):
    argv = one_core([binary, "--dry-run", "--json", "--from-start", "--rules", RULES, path])
    res = []
    for _ in range(runs):
        rc, wall, cpu, rss, err = measured(argv)
        got = tap_lines(err)
        if rc != 0 or got != nlines:
            print("fail maillog-tap replay (%s): exit %d, %d lines read of %d: %s"
                  % (fmt, rc, got, nlines, err.strip()[-200:].replace("\n", " ")))
            return
        res.append((wall, cpu, rss))
    walls = sorted(w for w, _, _ in res)
    med = walls[len(walls) // 2]
    print("tapreplay prog=maillog-tap format=%s lines=%d runs=%d secs=%.3f rate=%.0f best=%.0f cpu_s=%.3f "
          "maxrss_kib=%d" % (fmt, nlines, runs, med, nlines / med, nlines / walls[0],
                             sorted(c for _, c, _ in res)[len(res) // 2], max(r for _, _, r in res)))


def pflogsumm(path, nlines, fmt):
    if not shutil.which("pflogsumm"):
        print("notbuilt pflogsumm")
        return
    out = os.path.join(WORK, "pflogsumm.out")
    with open(out, "wb") as f:
        rc, wall, cpu, rss, err = measured(one_core(["pflogsumm", path]), stdout=f)
    if rc != 0:
        print("fail pflogsumm: exit %d %s" % (rc, err[:200].replace("\n", " ")))
        return
    counts = {}
    for line in open(out, errors="replace"):
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("delivered", "deferred", "bounced") and parts[1] not in counts:
            counts[parts[1]] = parts[0]
            if parts[1] == "deferred" and len(parts) >= 4:
                counts["deferrals"] = parts[2].lstrip("(")
    print("tapreplay prog=pflogsumm format=%s lines=%d runs=1 secs=%.3f rate=%.0f best=%.0f cpu_s=%.3f maxrss_kib=%d "
          "delivered=%s deferred=%s deferrals=%s bounced=%s"
          % (fmt, nlines, wall, nlines / wall, nlines / wall, cpu, rss, counts.get("delivered", "?"),
             counts.get("deferred", "?"), counts.get("deferrals", "?"), counts.get("bounced", "?")))


def memory(binary, nlines):
    g = Gen(SEED + nlines, MIX_IPS, iso=True)
    rc, wall, cpu, rss, err = measured([binary, "--dry-run", "--json", "--from-start", "--rules", RULES, "-"],
                                       stdin_chunks=g.chunks(nlines))
    got = tap_lines(err)
    if rc != 0 or got != nlines:
        print("fail maillog-tap memory run: exit %d, %d lines of %d: %s" % (rc, got, nlines, err.strip()[-200:]))
    print("tapmem lines=%d secs=%.3f rate=%.0f cpu_s=%.3f maxrss_kib=%d" % (nlines, wall, nlines / wall, cpu, rss))


def counted(line):
    """1 for an outcome line the daemon counts: an smtp delivery that was sent or
    got the receiver's reply (not postfix/error's repeats, not our own
    connect or DNS failures)."""
    if " postfix/smtp-" not in line or " to=<" not in line:
        return 0
    return int(" status=sent " in line or " said: " in line or " refused to talk to me: " in line)


# ---- daemon mode: effect latency -----------------------------------------------

SUBSCRIBER = r"""
import sys, time, redis
r = redis.Redis(unix_socket_path=sys.argv[1])
p = r.pubsub(ignore_subscribe_messages=True)
p.psubscribe("__keyspace@0__:pf:fx:{%s}:*:gmail:suspend")
print("ready", flush=True)
seen = set()
for m in p.listen():
    key = m["channel"].decode().split(":", 1)[1]
    if key not in seen:
        seen.add(key)
        print("%%.6f %%s" %% (time.time(), key), flush=True)
""" % POOL


def latency(binary, work, secs, rate=1000, every=0.5):
    import labredis
    rdir = os.path.join(work, "redis")
    os.makedirs(rdir, exist_ok=True)
    srv = labredis.RedisServer(rdir, extra_conf=["notify-keyspace-events Kh"]).start()
    tap = sub = None
    try:
        r = srv.client(decode_responses=True)
        nb = int(secs / every) + 5
        burst_ips = ["10.20.%d.%d" % (i // 200, 1 + i % 200) for i in range(nb)]
        r.sadd("pf:pools", POOL)
        r.hset("pf:pool:{%s}" % POOL, mapping={ip: "smtp-" + ip for ip in MIX_IPS + burst_ips})
        logf = os.path.join(work, "maillog")
        open(logf, "w").close()
        conf = os.path.join(work, "tap.conf")
        with open(conf, "w") as f:
            f.write('log = { level = "info"; };\n' + srv.redis_conf() +
                    'maillog_tap = { log_file = "%s"; checkpoint = "%s"; rules_file = "%s"; };\n'
                    % (logf, os.path.join(work, "tap.checkpoint"), RULES))
        sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, srv.unix_socket], stdout=subprocess.PIPE,
                               text=True)
        if sub.stdout.readline().strip() != "ready":
            print("fail latency: the keyspace subscriber did not start")
            return
        tap_err = open(os.path.join(work, "tap.err"), "w")
        tap = subprocess.Popen([binary, "-f", "-c", conf, "--follow"], stdout=subprocess.DEVNULL, stderr=tap_err)
        t_end = time.time() + 10
        while "following" not in open(tap_err.name, errors="replace").read():
            if time.time() > t_end or tap.poll() is not None:
                print("fail latency: maillog-tap did not start: %s" % open(tap_err.name).read()[-300:])
                return
            time.sleep(0.05)

        g = Gen(SEED + 7, MIX_IPS, iso=True, t0=time.time())
        fd = os.open(logf, os.O_WRONLY | os.O_APPEND)
        pending = []
        written = {}            # burst key -> time.time() after the 3rd line's write
        lines = expected = 0
        t0 = time.time()
        next_burst, nburst = t0 + every, 0
        while time.time() - t0 < secs:
            g.t = time.time()
            batch = g.message()
            if g.qn % 50 == 0:
                batch += g.retries()
            pending += batch
            while pending:
                now = time.time()
                if now >= next_burst and nburst < len(burst_ips):
                    ip = burst_ips[nburst]
                    for k in range(3):
                        g.pid += 1
                        os.write(fd, ("%s mx1 postfix/smtp-%s/smtp[%d]: %s: to=<burst%d.%d@gmail.com>, "
                                      "relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, delay=1, delays=0.4/0.01/"
                                      "0.22/0.37, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com"
                                      "[142.250.102.27] said: %s (in reply to end of DATA command))\n"
                                      % (g.stamp(time.time()), ip, 3000 + g.pid % 20000, g.qid(), nburst, k,
                                         GMAIL_428 % (ip, "b%dsi%d" % (nburst, k)))).encode())
                    written["pf:fx:{%s}:%s:gmail:suspend" % (POOL, ip)] = time.time()
                    expected += 3
                    lines += 3
                    nburst += 1
                    next_burst += every
                due = t0 + lines / rate
                if due > now:
                    time.sleep(due - now)
                line = pending.pop(0)
                # the generator's clock is the wall clock here: restamp with the moment of writing
                line = g.stamp(time.time()) + line[line.index(" "):]
                os.write(fd, (line + "\n").encode())
                lines += 1
                expected += counted(line)
        elapsed = time.time() - t0
        os.close(fd)
        # every burst's key must appear; give the last ones time, then read the subscriber's stamps
        deadline = time.time() + 5
        while time.time() < deadline and not all(r.exists(k) for k in written):
            time.sleep(0.1)
        time.sleep(0.2)
        sub.terminate()
        seen = {}
        for line in sub.stdout.read().splitlines():
            ts, key = line.split()
            seen[key] = float(ts)
        sub.wait()
        # the counters: every outcome line written, once
        hl = lambda: sum(int(v) for k in r.scan_iter("pf:hl:{%s}:*" % POOL, count=1000)
                         for v in r.hgetall(k).values())
        deadline = time.time() + 10
        got = hl()
        while got != expected and time.time() < deadline:
            time.sleep(0.2)
            got = hl()
        tap.terminate()
        tap.wait(10)
        stats = open(tap_err.name, errors="replace").read()
        lat = sorted((seen[k] - t) * 1000 for k, t in written.items() if k in seen)
        q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] if lat else float("nan")
        print("taplat secs=%.1f lines=%d rate=%.0f bursts=%d seen=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f poll_ms=200"
              % (elapsed, lines, lines / elapsed, len(written), len(lat), q(0.5), q(0.99), lat[-1] if lat else -1))
        print("tapcount expected=%d redis=%d" % (expected, got))
        if len(lat) != len(written):
            print("fail maillog-tap daemon: %d of %d suspend effects reached Redis" % (len(lat), len(written)))
        if got != expected:
            print("fail maillog-tap daemon: outcome counters in Redis add up to %d, %d outcome lines written"
                  % (got, expected))
        if "Sanitizer" in stats or "runtime error" in stats:
            print("fail maillog-tap daemon: sanitizer report in its log")
    finally:
        for p in (tap, sub):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        srv.stop()


def main():
    global WORK
    bindir, WORK, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    os.makedirs(WORK, exist_ok=True)
    binary = os.path.join(bindir, "maillog-tap")
    if not os.access(binary, os.X_OK):
        print("notbuilt maillog-tap")
        return 0
    n = 300000 if quick else 1000000
    runs = 5
    for fmt in ("iso", "bsd"):
        path = os.path.join(WORK, "maillog-%s.log" % fmt)
        g = write_log(path, n, fmt == "iso")
        if fmt == "iso":
            tot = sum(g.status[k] for k in ("sent", "deferred", "bounced"))
            print("tapmix lines=%d bytes=%d attempts=%d sent=%d deferred=%d bounced=%d repeats=%d counted=%d "
                  "transports=%d" % (n, os.path.getsize(path), tot, g.status["sent"], g.status["deferred"],
                                     g.status["bounced"], g.status["repeat"], g.counted, len(MIX_IPS)))
        replay(binary, path, n, fmt, runs)
        if fmt == "bsd":
            pflogsumm(path, n, fmt)
        os.unlink(path)
    for m in (n, 10 * n):
        memory(binary, m)
    latency(binary, os.path.join(WORK, "daemon"), 10 if quick else 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
