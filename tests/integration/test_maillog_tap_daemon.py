"""test_maillog_tap_daemon - maillog-tap following a delivery log into Redis.

A real redis-server, a real policyd-warmup (which registers its pool, so the
follower can map a per-IP transport to its pool) and the real maillog-tap in
daemon mode with the shipped rules.  The test writes Postfix delivery lines
as maillog_file writes them and checks what reaches Redis: the effect of
Gmail's 421-4.7.28 (within a second of the line), its evidence, the
outcome counters, and that policyd-warmup steers the next Gmail message to
the other IP.  Then the follower is stopped and restarted mid-log, the log is
rotated under it, and Redis goes away and comes back: no line is lost and
none is counted twice.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from labproc import register_process
from policyd_lab import eom
from postflow_lab import wait_until
from test_policy_redis import config as policy_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "conf", "shaping-rules.conf")
GMAIL_428 = ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP "
             "address %s. To protect 421-4.7.28 our users from spam, mail sent from your IP address has been "
             "temporarily rate limited. 421 4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError "
             "x1si123.4 - gsmtp")


def stamp(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06d+00:00" % int((t % 1) * 1e6)


class Log:
    """A maillog_file written line by line, as Postfix does."""

    def __init__(self, path):
        self.path, self.n = path, 0
        open(path, "a").close()

    def write(self, line):
        with open(self.path, "a") as f:
            f.write(line + "\n")

    def sent(self, ip, rcpt):
        self.n += 1
        self.write("%s mx1 postfix/smtp-%s/smtp[%d]: %05XA%d: to=<%s>, relay=mx.example.net[192.0.2.80]:25, "
                   "delay=0.4, delays=0.1/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 OK id=%d)"
                   % (stamp(), ip, 3000 + self.n, self.n, self.n, rcpt, self.n))

    def gmail_deferred(self, ip, rcpt, reply=None):
        self.n += 1
        qid = "%05XB%d" % (self.n, self.n)
        self.write("%s mx1 postfix/smtp-%s/smtp[%d]: %s: to=<%s>, relay=gmail-smtp-in.l.google.com"
                   "[142.250.102.27]:25, delay=1, delays=0.4/0.01/0.22/0.37, dsn=4.7.28, status=deferred (host "
                   "gmail-smtp-in.l.google.com[142.250.102.27] said: %s (in reply to end of DATA command))"
                   % (stamp(), ip, 3000 + self.n, qid, rcpt, reply or GMAIL_428 % ip))
        return qid

    def suspended_repeat(self, rcpt):
        """postfix/error's repeat of a deferral: never one more event."""
        self.n += 1
        self.write("%s mx1 postfix/error[%d]: %05XC%d: to=<%s>, relay=none, delay=0.5, delays=0.5/0/0/0, "
                   "dsn=4.7.28, status=deferred (delivery temporarily suspended: host gmail-smtp-in.l.google.com"
                   "[142.250.102.27] said: 421 4.7.28 rate limited - gsmtp (in reply to end of DATA command))"
                   % (stamp(), 3000 + self.n, self.n, self.n, rcpt))


class Tap:
    def __init__(self, bin_path, workdir, redis_conf, log_path):
        self.bin = bin_path("maillog-tap")
        self.conf = os.path.join(workdir, "tap.conf")
        self.checkpoint = os.path.join(workdir, "tap.checkpoint")
        self.out = os.path.join(workdir, "tap.log")
        with open(self.conf, "w") as f:
            f.write('log = { level = "info"; };\n' + redis_conf +
                    'maillog_tap = { log_file = "%s"; checkpoint = "%s"; rules_file = "%s"; '
                    'poll_interval = 50; };\n' % (log_path, self.checkpoint, RULES))
        self.proc = None

    def start(self):
        self.err = open(self.out, "a")
        self.proc = subprocess.Popen([self.bin, "-f", "-c", self.conf, "--follow"], stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        register_process(self.proc.pid, "maillog-tap (test)")
        assert wait_until(lambda: "following" in self.log(), 10), self.log()
        return self

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        self.err.close()
        assert rc == 0, self.log()
        assert "Sanitizer" not in self.log() and "runtime error" not in self.log(), self.log()

    def log(self):
        with open(self.out, errors="replace") as f:
            return f.read()


@pytest.fixture
def lab(redis_server, lab_dir, daemons, bin_path):
    workdir = lab_dir("tapd")
    pd = daemons(workdir, policy_config(redis_server.address, caps="100"))
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: r.hlen("pf:pool:{main}") == 2, 10), pd.log()   # the pool registry
    log = Log(os.path.join(workdir, "maillog"))
    tap = Tap(bin_path, workdir, redis_server.redis_conf(), log.path).start()
    yield pd, r, log, tap
    if tap.proc.poll() is None:
        tap.stop()


def hour_counts(r, ip, provider):
    keys = r.keys("pf:hl:{main}:%s:%s:*" % (ip, provider))
    total = {"delivered": 0, "deferred": 0, "rejected": 0}
    for k in keys:
        for field in total:
            total[field] += int(r.hget(k, field) or 0)
    return total


def test_gmail_rate_limit_suspends_the_ip_and_policyd_steers_around_it(lab):
    pd, r, log, tap = lab
    assert pd.ask(**eom("G0", recipient="a@gmail.com")) == "FILTER smtp-127.0.0.2:"
    log.sent("127.0.0.2", "a@gmail.com")
    log.sent("127.0.0.2", "b@yahoo.com")
    log.gmail_deferred("127.0.0.2", "c@gmail.com")
    log.suspended_repeat("d@gmail.com")
    log.gmail_deferred("127.0.0.2", "e@gmail.com")
    assert wait_until(lambda: hour_counts(r, "127.0.0.2", "gmail")["deferred"] == 2, 5), tap.log()
    assert not r.exists("pf:fx:{main}:127.0.0.2:gmail:suspend")     # count:3/10m: two are not enough
    written = time.time()
    log.gmail_deferred("127.0.0.2", "f@gmail.com")
    key = "pf:fx:{main}:127.0.0.2:gmail:suspend"
    assert wait_until(lambda: r.exists(key), 5), tap.log()
    latency = time.time() - written
    assert latency < 1.0, "effect took %.3f s" % latency
    fx = r.hgetall(key)
    assert fx["rule"] == "gmail-rate-ip" and fx["evidence"] == "count 3 in 600s", fx
    assert fx["kind"] == "ip" and fx["subject"] == "127.0.0.2" and fx["provider"] == "gmail"
    assert "4.7.28" in fx["reason"] and fx["origin"].startswith("maillog-tap@")
    assert 3300 < int(fx["until"]) - int(time.time()) <= 3600
    assert 3300 < r.ttl(key) <= 3700
    assert r.hget("pf:fx:{main}", "suspend|127.0.0.2|gmail").split()[-1] == "gmail-rate-ip"
    # the repeat is not an attempt; the receivers' answers are counted per IP x provider
    assert hour_counts(r, "127.0.0.2", "gmail") == {"delivered": 1, "deferred": 3, "rejected": 0}
    assert hour_counts(r, "127.0.0.2", "yahoo") == {"delivered": 1, "deferred": 0, "rejected": 0}
    # warmupctl shows the deferral rate of the receivers' answers next to the volume
    ctl = subprocess.run([os.path.join(os.path.dirname(tap.bin), "warmupctl"), "-c", pd.conf_path, "status",
                          "--json"], capture_output=True, text=True, timeout=30)
    assert ctl.returncode == 0, ctl.stderr
    ip = [x for x in json.loads(ctl.stdout)["ips"] if x["ip"] == "127.0.0.2"][0]
    assert (ip["delivered_24h"], ip["deferred_24h"], ip["rejected_24h"]) == (2, 3, 0), ip
    assert abs(ip["deferral_rate"] - 0.6) < 1e-9 and ip["providers"]["gmail"]["deferred_24h"] == 3
    # the next Gmail message goes through the other IP; Yahoo's still through the first
    assert pd.ask(**eom("G1", recipient="g@gmail.com")) == "FILTER smtp-127.0.0.3:"
    assert pd.ask(**eom("G2", recipient="h@yahoo.com")) == "FILTER smtp-127.0.0.2:"
    # firing again while it runs extends nothing
    log.gmail_deferred("127.0.0.2", "i@gmail.com")
    log.gmail_deferred("127.0.0.2", "j@gmail.com")
    log.gmail_deferred("127.0.0.2", "k@gmail.com")
    assert wait_until(lambda: hour_counts(r, "127.0.0.2", "gmail")["deferred"] == 6, 5), tap.log()
    assert r.hget(key, "since") == fx["since"]


def test_restart_and_rotation_lose_no_line_and_count_none_twice(lab):
    pd, r, log, tap = lab
    for i in range(5):
        log.sent("127.0.0.3", "s%d@yahoo.com" % i)
    assert wait_until(lambda: hour_counts(r, "127.0.0.3", "yahoo")["delivered"] == 5, 5), tap.log()
    tap.stop()
    for i in range(4):                           # written while it is down
        log.sent("127.0.0.3", "t%d@yahoo.com" % i)
    tap.start()
    assert wait_until(lambda: hour_counts(r, "127.0.0.3", "yahoo")["delivered"] == 9, 5), tap.log()
    # rename rotation: the rest of the old file, then the new one
    log.sent("127.0.0.3", "u0@yahoo.com")
    os.rename(log.path, log.path + ".1")
    log.sent("127.0.0.3", "u1@yahoo.com")
    log.sent("127.0.0.3", "u2@yahoo.com")
    assert wait_until(lambda: hour_counts(r, "127.0.0.3", "yahoo")["delivered"] == 12, 5), tap.log()
    # copytruncate rotation
    with open(log.path, "r+") as f:
        f.truncate(0)
    log.sent("127.0.0.3", "v0@yahoo.com")
    assert wait_until(lambda: hour_counts(r, "127.0.0.3", "yahoo")["delivered"] == 13, 5), tap.log()
    time.sleep(0.5)
    assert hour_counts(r, "127.0.0.3", "yahoo")["delivered"] == 13


def test_redis_away_the_effects_wait_and_nothing_is_lost(lab, redis_server):
    pd, r, log, tap = lab
    log.sent("127.0.0.2", "a@gmail.com")
    assert wait_until(lambda: hour_counts(r, "127.0.0.2", "gmail")["delivered"] == 1, 5), tap.log()
    redis_server.stop()
    for i in range(3):
        log.gmail_deferred("127.0.0.2", "d%d@gmail.com" % i)
    log.sent("127.0.0.2", "b@gmail.com")
    assert wait_until(lambda: "redis unavailable" in tap.log(), 5), tap.log()
    assert tap.proc.poll() is None               # a dead Redis never stops the follower
    redis_server.start()
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: r.exists("pf:fx:{main}:127.0.0.2:gmail:suspend"), 10), tap.log()
    # this Redis restarts empty (no persistence in the lab): what it holds now is exactly
    # what was read while it was away, each line once
    assert wait_until(lambda: hour_counts(r, "127.0.0.2", "gmail") ==
                      {"delivered": 1, "deferred": 3, "rejected": 0}, 5), tap.log()
    time.sleep(0.5)
    assert hour_counts(r, "127.0.0.2", "gmail") == {"delivered": 1, "deferred": 3, "rejected": 0}


GMAIL_428_DKIM = ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your DKIM "
                  "domain news.example.org. To protect 421-4.7.28 our users from spam, mail sent from your domain "
                  "has been temporarily rate limited. 421 4.7.28 - gsmtp")


def test_a_dkim_domain_effect_lands_on_the_named_and_the_envelope_domain(lab):
    pd, r, log, tap = lab
    for i in range(3):
        qid = "%05XB%d" % (log.n + 1, log.n + 1)       # the record policyd-warmup writes at END-OF-MESSAGE
        r.hset("pf:q:{%s}" % qid, mapping={"ip": "127.0.0.2", "pool": "main", "sender_domain": "example.com"})
        assert log.gmail_deferred("127.0.0.2", "d%d@gmail.com" % i, GMAIL_428_DKIM) == qid
    named, envelope = ("pf:fxd:{%s}:dkim:gmail:slow" % d for d in ("news.example.org", "example.com"))
    assert wait_until(lambda: r.exists(named) and r.exists(envelope), 5), tap.log()
    assert r.hget(named, "rule") == "gmail-rate-dkim" and r.hget(envelope, "rule") == "gmail-rate-dkim"
    assert r.hget("pf:fxd:{example.com}", "slow|dkim|gmail").split()[-1] == "gmail-rate-dkim"
    assert not r.exists("pf:fx:{main}:127.0.0.2:gmail:slow")         # the domain, not the IP, is limited
    # the receivers' answers per envelope sender's domain x provider too (pf:dh:, from the records)
    assert wait_until(lambda: sum(int(r.hget(k, "deferred") or 0)
                                  for k in r.keys("pf:dh:{example.com}:gmail:*")) == 3, 5), tap.log()


def test_a_pool_registered_after_the_lines_still_gets_them_and_unpooled_ips_do_not_block(
        redis_server, lab_dir, bin_path):
    # No policyd-warmup yet: the registry is empty when the first lines are read.  The follower must
    # wait for one more read of it (the daemon registers on its first tick), not drop those lines nor
    # spin; the lines of an IP that stays in no pool are dropped after that look, and nothing waits on them.
    workdir = lab_dir("tapd-late")
    r = redis_server.client(decode_responses=True)
    log = Log(os.path.join(workdir, "maillog"))
    tap = Tap(bin_path, workdir, redis_server.redis_conf(), log.path).start()
    try:
        for i in range(3):
            log.sent("127.0.0.9", "late%d@yahoo.com" % i)
        log.sent("127.0.0.99", "nobody@yahoo.com")
        log.sent("127.0.0.99", "nobody2@yahoo.com")
        time.sleep(0.3)
        r.sadd("pf:pools", "late")
        r.hset("pf:pool:{late}", "127.0.0.9", "smtp-127.0.0.9")
        assert wait_until(lambda: sum(int(r.hget(k, "delivered") or 0)
                                      for k in r.keys("pf:hl:{late}:127.0.0.9:yahoo:*")) == 3, 5), tap.log()
        log.sent("127.0.0.9", "late3@yahoo.com")       # the follower is not stuck on the unpooled IP
        assert wait_until(lambda: sum(int(r.hget(k, "delivered") or 0)
                                      for k in r.keys("pf:hl:{late}:127.0.0.9:yahoo:*")) == 4, 5), tap.log()
        assert not r.keys("pf:hl:*127.0.0.99*")
    finally:
        tap.stop()
    assert "4 outcomes counted, 2 of IPs in no pool" in tap.log(), tap.log()
