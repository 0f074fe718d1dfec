"""test_policy_redis - policyd-warmup against a real redis-server.

Every test starts its own redis-server (fixture) and real policyd-warmup
processes, speaks the Postfix policy protocol (or Exim's half-close) to them,
and checks both the answers and what landed in Redis (docs/redis-keys.md).
"""

import threading
import time

import pytest

from policyd_lab import eom, rcpt
from postflow_lab import wait_until


def config(redis_address, *, rules="", caps="3, 10", warm_ip=True, smoothing=0, clock_offset=0,
           suppression_down="open", warmup_down="open", extra_policy="", health=""):
    ips = '{ address = "127.0.0.2"; schedule = "std"; }'
    if warm_ip:
        ips += ', { address = "127.0.0.3"; }'
    return """
log = { level = "debug"; };
redis = { address = "%s"; command_timeout_ms = 500; connect_timeout_ms = 500;
          retry_min_ms = 50; retry_max_ms = 200; };
policy = {
  clock_offset = %d;
  log_interval = "1s";
  suppression = { on_redis_down = "%s"; };
  warmup = {
    on_redis_down = "%s";
    smoothing_hours = %d;
    smoothing_burst_percent = 0;
    health = { evaluate_interval = 1; %s };
    schedules = ( { name = "std"; caps = "%s"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ]; ips = ( %s ); } );
  };
  rate_limits = ( %s );
  %s
};
""" % (redis_address, clock_offset, suppression_down, warmup_down, smoothing, health, caps, ips,
       rules, extra_policy)


@pytest.fixture
def workdir(lab_dir):
    return lab_dir("policyd")


# ---- suppression -------------------------------------------------------------

def test_suppressed_recipient_is_rejected_at_rcpt_with_its_reason(redis_server, workdir, daemons):
    r = redis_server.client(decode_responses=True)
    r.hset("pf:sup:{gone@gmail.com}", mapping={"reason": "hard", "source": "bounce-proc",
                                                "time": "1700000000", "detail": "5.1.1 userunknown"})
    r.hset("pf:sup:{@blocked.example}", mapping={"reason": "manual", "source": "warmupctl", "time": "1"})
    pd = daemons(workdir, config(redis_server.address))
    assert pd.ask(**rcpt("Gone@GMAIL.com")) == \
        "550 5.1.1 recipient is on the suppression list (hard bounce: 5.1.1 userunknown)"
    assert pd.ask(**rcpt("anyone@blocked.example")) == \
        "550 5.1.1 recipient is on the suppression list (added by an operator)"
    assert pd.ask(**rcpt("fine@gmail.com")) == "DUNNO"


def test_suppression_added_while_running_applies_at_once(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address))
    assert pd.ask(**rcpt("later@example.org")) == "DUNNO"
    redis_server.client(decode_responses=True).hset("pf:sup:{later@example.org}", mapping={"reason": "complaint",
                                                                       "source": "fbl-proc", "time": "1"})
    assert pd.ask(**rcpt("later@example.org")).startswith("550 5.1.1 ")
    assert "spam complaint" in pd.ask(**rcpt("later@example.org"))


# ---- rate limits ---------------------------------------------------------------

def test_recipient_rate_limit_per_client_is_exact(redis_server, workdir, daemons):
    rule = '{ name = "per-client"; key = "client_address"; count = "recipients"; limit = 5; window = "1h"; }'
    pd = daemons(workdir, config(redis_server.address, rules=rule))
    conn = pd.connect()
    answers = [conn.ask(**rcpt("u%d@example.org" % i, client="198.51.100.7")) for i in range(7)]
    assert answers[:5] == ["DUNNO"] * 5
    assert answers[5].startswith("DEFER_IF_PERMIT 4.7.1 rate limit \"per-client\" reached")
    assert answers[6] == answers[5]
    # Another client has its own bucket.
    assert conn.ask(**rcpt("u@example.org", client="198.51.100.8")) == "DUNNO"
    conn.close()
    r = redis_server.client(decode_responses=True)
    bucket = r.hgetall("pf:rl:{per-client:198.51.100.7}")
    assert sum(int(v) for v in bucket.values()) == 5
    assert 3600 < r.ttl("pf:rl:{per-client:198.51.100.7}") <= 3600 + 360   # window + one sub-window


def test_message_limit_counts_a_message_once_across_its_recipients(redis_server, workdir, daemons):
    rule = '{ name = "msgs"; key = "sender"; count = "messages"; limit = 2; window = "1h"; }'
    pd = daemons(workdir, config(redis_server.address, rules=rule))
    conn = pd.connect()
    for msg in range(2):
        for i in range(3):   # three recipients, one message
            assert conn.ask(**rcpt("r%d@example.org" % i, sender="a@x.example", instance="m%d" % msg)) == "DUNNO"
    assert conn.ask(**rcpt("r@example.org", sender="a@x.example", instance="m3")).startswith("DEFER_IF_PERMIT")
    conn.close()


def test_byte_limit_at_end_of_message_rejects_when_configured(redis_server, workdir, daemons):
    rule = ('{ name = "bytes"; key = "sender_domain"; count = "bytes"; limit = 2500; window = "10m"; '
            'stage = "end_of_message"; action = "reject"; }')
    pd = daemons(workdir, config(redis_server.address, rules=rule))
    assert pd.ask(**eom("Q1", sender="a@other.example", size=1000)) == "DUNNO"
    assert pd.ask(**eom("Q2", sender="b@other.example", size=1000)) == "DUNNO"
    assert pd.ask(**eom("Q3", sender="c@other.example", size=1000)).startswith(
        "REJECT 5.7.1 rate limit \"bytes\" reached")
    assert pd.ask(**eom("Q4", sender="c@other.example", size=400)) == "DUNNO"


def test_sasl_user_limit_counts_per_login_and_ignores_unauthenticated_mail(redis_server, workdir, daemons):
    rule = '{ name = "per-login"; key = "sasl_user"; count = "messages"; limit = 2; window = "1h"; }'
    pd = daemons(workdir, config(redis_server.address, rules=rule))
    conn = pd.connect()

    def msg(n, user, rcpts=2):
        return [conn.ask(**rcpt("r%d@example.org" % i, instance="%s-%d" % (user, n), sasl_username=user,
                                sasl_method="PLAIN" if user else ""))
                for i in range(rcpts)]
    assert msg(1, "alice") == ["DUNNO", "DUNNO"]      # one message, two recipients: counted once
    assert msg(2, "alice") == ["DUNNO", "DUNNO"]
    third = msg(3, "alice", rcpts=1)[0]
    assert third.startswith("DEFER_IF_PERMIT 4.7.1 rate limit \"per-login\" reached (2 messages per 3600s)"), third
    assert msg(1, "bob") == ["DUNNO", "DUNNO"]        # another login, another bucket
    for n in range(4):                                # no login: the rule does not apply
        assert msg(n, "", rcpts=1) == ["DUNNO"]
    conn.close()
    r = redis_server.client(decode_responses=True)
    assert sum(int(v) for v in r.hgetall("pf:rl:{per-login:alice}").values()) == 2
    assert sum(int(v) for v in r.hgetall("pf:rl:{per-login:bob}").values()) == 1
    assert r.keys("pf:rl:{per-login:}*") == []


def test_recipient_domain_limit_counts_recipients_per_domain_case_blind(redis_server, workdir, daemons):
    rule = '{ name = "per-domain"; key = "recipient_domain"; count = "recipients"; limit = 3; window = "10m"; }'
    pd = daemons(workdir, config(redis_server.address, rules=rule))
    conn = pd.connect()
    answers = [conn.ask(**rcpt("u%d@%s" % (i, dom), sender="s%d@x.example" % i))
               for i, dom in enumerate(["slow.example", "SLOW.example", "slow.EXAMPLE", "Slow.Example"])]
    assert answers[:3] == ["DUNNO"] * 3
    assert answers[3].startswith("DEFER_IF_PERMIT 4.7.1 rate limit \"per-domain\" reached (3 recipients per 600s)")
    assert conn.ask(**rcpt("u@fast.example")) == "DUNNO"
    # A subdomain is a domain of its own (the key is the recipient's domain, not its provider).
    assert conn.ask(**rcpt("u@mx.slow.example")) == "DUNNO"
    conn.close()
    r = redis_server.client(decode_responses=True)
    assert sum(int(v) for v in r.hgetall("pf:rl:{per-domain:slow.example}").values()) == 3
    assert 600 < r.ttl("pf:rl:{per-domain:slow.example}") <= 660


def test_provider_limit_at_rcpt_uses_the_configured_providers_map(redis_server, workdir, daemons):
    # A configured map replaces the built-in table: gmail.com is "other" here, and the
    # "corp" provider gathers two domains and their subdomains.
    providers = ('providers = ( { name = "corp"; domains = [ "corp.example", "corp-mail.example" ]; }, '
                 '{ name = "hosted"; domains = [ "hosted.example" ]; } );')
    rule = '{ name = "per-provider"; key = "provider"; count = "recipients"; limit = 3; window = "1h"; }'
    pd = daemons(workdir, config(redis_server.address, rules=rule, extra_policy=providers))
    conn = pd.connect()
    corp = [conn.ask(**rcpt(a)) for a in ("a@corp.example", "b@CORP-MAIL.example", "c@eu.corp.example",
                                          "d@corp.example")]
    assert corp[:3] == ["DUNNO"] * 3
    assert corp[3].startswith("DEFER_IF_PERMIT 4.7.1 rate limit \"per-provider\" reached"), corp[3]
    assert conn.ask(**rcpt("e@hosted.example")) == "DUNNO"
    # Unmapped domains share the "other" bucket, gmail.com included.
    other = [conn.ask(**rcpt(a)) for a in ("f@gmail.com", "g@outlook.com", "h@notcorp.example", "i@gmail.com")]
    assert other[:3] == ["DUNNO"] * 3 and other[3].startswith("DEFER_IF_PERMIT 4.7.1 ")
    conn.close()
    r = redis_server.client(decode_responses=True)

    def total(provider):
        return sum(int(v) for v in r.hgetall("pf:rl:{per-provider:%s}" % provider).values())
    assert (total("corp"), total("hosted"), total("other"), total("gmail")) == (3, 1, 3, 0)


def test_hold_action_answers_hold_with_the_rules_text(redis_server, workdir, daemons):
    rules = ('{ name = "review"; key = "sender"; count = "messages"; limit = 1; window = "1h"; action = "hold"; '
             'text = "queued for review: sender over its hourly limit"; }, '
             '{ name = "bulk"; key = "sender_domain"; count = "recipients"; limit = 2; window = "1h"; '
             'stage = "end_of_message"; action = "hold"; }')
    pd = daemons(workdir, config(redis_server.address, rules=rules))
    assert pd.ask(**rcpt("a@example.org", sender="x@held.example", instance="H1")) == "DUNNO"
    assert pd.ask(**rcpt("b@example.org", sender="x@held.example", instance="H2")) == \
        "HOLD queued for review: sender over its hourly limit"
    # At END-OF-MESSAGE, with the default text (no 5.7.1: HOLD is not a rejection).
    assert pd.ask(**eom("HQ1", sender="y@bulk.example", recipient_count=2)) == "DUNNO"
    assert pd.ask(**eom("HQ2", sender="z@bulk.example", recipient_count=1)) == \
        "HOLD 4.7.1 rate limit \"bulk\" reached (2 recipients per 3600s), try again later"
    r = redis_server.client(decode_responses=True)
    assert sum(int(v) for v in r.hgetall("pf:rl:{bulk:bulk.example}").values()) == 2   # a held message is not counted


# ---- warm-up -------------------------------------------------------------------

def test_warming_ip_first_then_overflow_to_the_warm_ip(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="3, 10"))
    answers = [pd.ask(**eom("W%d" % i, recipient="x%d@gmail.com" % i)) for i in range(5)]
    assert answers == ["FILTER smtp-127.0.0.2:"] * 3 + ["FILTER smtp-127.0.0.3:"] * 2
    r = redis_server.client(decode_responses=True)
    day = time.strftime("%Y%m%d", time.gmtime())
    assert r.hget("pf:day:{main}:127.0.0.2:%s" % day, "all") == "3"
    assert r.hget("pf:day:{main}:127.0.0.2:%s" % day, "p:gmail") == "3"
    attr = r.hgetall("pf:q:{W0}")
    assert attr["ip"] == "127.0.0.2" and attr["pool"] == "main"
    assert attr["sender_domain"] == "example.com" and attr["provider"] == "gmail"
    assert 13 * 86400 < r.ttl("pf:q:{W0}") <= 14 * 86400
    assert attr["rcpt"] == "x0@gmail.com" and attr["rcpts"] == "1"   # one recipient: recorded
    # the sender domain's sent counter (complaint rates), 8 days like pf:hl:
    hour = int(time.time()) // 3600
    keys = ["pf:dh:{example.com}:gmail:%d" % h for h in (hour - 1, hour)]
    assert sum(int(r.hget(k, "sent") or 0) for k in keys) == 5
    assert all(7 * 86400 < r.ttl(k) <= 8 * 86400 for k in keys if r.exists(k))


def test_no_budget_defers_with_a_clear_text(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="2", warm_ip=False))
    assert pd.ask(**eom("N1")) == "FILTER smtp-127.0.0.2:"
    assert pd.ask(**eom("N2")) == "FILTER smtp-127.0.0.2:"
    assert pd.ask(**eom("N3")) == \
        "DEFER_IF_PERMIT 4.7.1 sending volume limit reached for this sender, try again later"
    # Mail of a sender domain that no pool serves is not steered.
    assert pd.ask(**eom("N4", sender="x@unpooled.example")) == "DUNNO"


def test_recipients_count_against_the_cap(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="10", warm_ip=False))
    assert pd.ask(**eom("R1", recipient_count=6)) == "FILTER smtp-127.0.0.2:"
    assert pd.ask(**eom("R2", recipient_count=5)).startswith("DEFER_IF_PERMIT")
    assert pd.ask(**eom("R3", recipient_count=4)) == "FILTER smtp-127.0.0.2:"


def test_cap_is_enforced_exactly_across_two_daemons(redis_server, workdir, daemons):
    # One node over the unix socket, the other over TCP: the same Redis either way.
    a = daemons(workdir, config(redis_server.address, caps="50", warm_ip=False), name="node-a")
    b = daemons(workdir, config(redis_server.tcp_address, caps="50", warm_ip=False), name="node-b")
    results = []
    lock = threading.Lock()

    def client(pd, tag):
        conn = pd.connect()
        for i in range(20):
            ans = conn.ask(**eom("%s%d" % (tag, i)))
            with lock:
                results.append(ans)
        conn.close()
    threads = [threading.Thread(target=client, args=(pd, "%s%d" % (pd.name, t)))
               for pd in (a, b) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    assert results.count("FILTER smtp-127.0.0.2:") == 50
    assert sum(1 for r in results if r.startswith("DEFER_IF_PERMIT 4.7.1")) == 30
    day = time.strftime("%Y%m%d", time.gmtime())
    assert redis_server.client(decode_responses=True).hget("pf:day:{main}:127.0.0.2:%s" % day, "all") == "50"


def _offset_to_utc_time_of_day(seconds_into_day):
    now = int(time.time())
    return (now - now % 86400 + seconds_into_day) - now


def test_smoothing_spreads_the_cap_over_the_day(redis_server, workdir, daemons):
    # At 06:00 UTC a cap of 100 spread over 24 h allows a quarter: 25.
    off = _offset_to_utc_time_of_day(6 * 3600 + 30)
    pd = daemons(workdir, config(redis_server.address, caps="100", warm_ip=False, smoothing=24,
                                 clock_offset=off))
    answers = [pd.ask(**eom("S%d" % i)) for i in range(30)]
    assert answers.count("FILTER smtp-127.0.0.2:") == 25
    assert all(a.startswith("DEFER_IF_PERMIT") for a in answers[25:])


def _state(r, ip="127.0.0.2"):
    return r.hgetall("pf:ip:{main}:%s" % ip)


def _events(r):
    return [fields for _id, fields in r.xrange("pf:events")]


def test_day_rollover_advances_a_healthy_ip(redis_server, workdir, daemons):
    text = config(redis_server.address, caps="4, 10", warm_ip=False)
    pd = daemons(workdir, text)
    r = redis_server.client(decode_responses=True)
    answers = [pd.ask(**eom("D%d" % i)) for i in range(5)]
    assert answers[:4] == ["FILTER smtp-127.0.0.2:"] * 4
    assert answers[4].startswith("DEFER_IF_PERMIT 4.7.1 ")
    assert _state(r)["stage"] == "0"
    pd.reload(config(redis_server.address, caps="4, 10", warm_ip=False, clock_offset=86400))
    assert wait_until(lambda: _state(r).get("stage") == "1", 10), pd.log()
    ev = [e for e in _events(r) if e["event"] == "advance"]
    assert len(ev) == 1 and ev[0]["from"] == "0" and ev[0]["to"] == "1" and ev[0]["ip"] == "127.0.0.2"
    # The new day has the new cap: 10.
    answers = [pd.ask(**eom("E%d" % i)) for i in range(11)]
    assert answers.count("FILTER smtp-127.0.0.2:") == 10
    # Evaluated once per day, even with a second node sharing Redis.
    b = daemons(workdir, config(redis_server.address, caps="4, 10", warm_ip=False, clock_offset=86400), "node-b")
    b.wait_log("started")
    time.sleep(2.5)
    assert len([e for e in _events(r) if e["event"] == "advance"]) == 1


def _yesterday_hour_key(r, provider, field, count, ip="127.0.0.2"):
    hour = int(time.time()) // 3600
    r.hincrby("pf:hl:{main}:%s:%s:%d" % (ip, provider, hour), field, count)


def test_too_little_volume_holds_the_stage(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="10, 20", warm_ip=False))
    r = redis_server.client(decode_responses=True)
    assert pd.ask(**eom("H1")) == "FILTER smtp-127.0.0.2:"   # 1 of 10: below 50 %
    pd.reload(config(redis_server.address, caps="10, 20", warm_ip=False, clock_offset=86400))
    assert wait_until(lambda: any(e["event"] == "hold" for e in _events(r)), 10), pd.log()
    assert _state(r)["stage"] == "0"


def test_complaints_over_the_limit_pause_the_ip(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="10, 20"))
    r = redis_server.client(decode_responses=True)
    for i in range(10):
        assert pd.ask(**eom("C%d" % i, recipient="x@yahoo.com")) == "FILTER smtp-127.0.0.2:"
    _yesterday_hour_key(r, "yahoo", "complaint", 1)      # what fbl-proc writes: 10 % complaints
    pd.reload(config(redis_server.address, caps="10, 20", clock_offset=86400))
    assert wait_until(lambda: _state(r).get("paused") == "1", 10), pd.log()
    assert "complaints 10.00%" in _state(r)["paused_reason"]
    assert any(e["event"] == "pause" for e in _events(r))
    # A paused IP gets nothing; the warm IP takes the mail.
    assert pd.ask(**eom("C99", recipient="x@yahoo.com")) == "FILTER smtp-127.0.0.3:"


def test_hard_bounces_over_the_limit_step_back(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="5, 10, 20", warm_ip=False))
    r = redis_server.client(decode_responses=True)
    assert pd.ask(**eom("B0")) == "FILTER smtp-127.0.0.2:"        # creates the state
    r.hset("pf:ip:{main}:127.0.0.2", "stage", "1")               # as `warmupctl ip set-stage` would
    answers = [pd.ask(**eom("B%d" % i)) for i in range(1, 12)]
    assert answers.count("FILTER smtp-127.0.0.2:") == 9         # cap 10 at stage 1, 1 already used
    _yesterday_hour_key(r, "other", "hard", 2)                  # 2 of 10 = 20 % hard bounces
    pd.reload(config(redis_server.address, caps="5, 10, 20", warm_ip=False, clock_offset=86400))
    assert wait_until(lambda: _state(r).get("stage") == "0", 10), pd.log()
    assert any(e["event"] == "stepback" for e in _events(r))


# ---- Redis outages -------------------------------------------------------------

def test_redis_killed_and_restarted_fail_open_and_closed_then_recover(redis_server, workdir, daemons):
    closed = daemons(workdir, config(redis_server.address, suppression_down="closed", warmup_down="closed",
                                     extra_policy='node_name = "closed-node";'), "closed")
    opened = daemons(workdir, config(redis_server.address), "open")
    assert wait_until(lambda: "connected to" in closed.log() and "connected to" in opened.log(), 5)
    assert closed.ask(**rcpt("a@example.org")) == "DUNNO"
    persistent = closed.connect()
    assert persistent.ask(**rcpt("p@example.org")) == "DUNNO"
    redis_server.kill()
    for _ in range(3):
        assert closed.ask(**rcpt("a@example.org")).startswith("451 4.3.0 ")
        assert closed.ask(**eom("K1")).startswith("451 4.3.0 ")
        assert opened.ask(**rcpt("a@example.org")) == "DUNNO"
        assert opened.ask(**eom("K2")) == "DUNNO"
    assert persistent.ask(**rcpt("p@example.org")).startswith("451 4.3.0 ")
    assert "redis unavailable" in closed.log()
    redis_server.restart()
    assert wait_until(lambda: closed.ask(**rcpt("a@example.org")) == "DUNNO", 10), closed.log()
    assert wait_until(lambda: opened.ask(**eom("K3")) == "FILTER smtp-127.0.0.2:", 10), opened.log()
    assert persistent.ask(**rcpt("p@example.org")) == "DUNNO"   # same connection, no restart
    persistent.close()
    assert closed.alive() and opened.alive()
    # The outage is in the metrics, written once Redis is back (every 10 s).
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: int(r.hget("pf:metrics:closed-node", "redis_down_closed") or 0) >= 7, 15)


def test_redis_down_warnings_are_rate_limited_during_an_outage(redis_server, workdir, daemons):
    import re
    pd = daemons(workdir, config(redis_server.address))          # log_interval = "1s"
    assert wait_until(lambda: "connected to" in pd.log(), 5)
    assert pd.ask(**rcpt("a@example.org")) == "DUNNO"
    redis_server.kill()
    mark = len(pd.log())
    conns = [pd.connect() for _ in range(2)]
    t0 = time.time()
    asked = 0
    while time.time() - t0 < 3.0:
        for c in conns:
            assert c.ask(**rcpt("o%d@example.org" % asked)) == "DUNNO"     # fail open
            asked += 1
    for c in conns:
        c.close()
    # One more request once the log interval has passed: its line reports every request
    # answered since the previous line, so all of them are accounted for, whatever the timing.
    time.sleep(1.2)
    assert pd.ask(**rcpt("last@example.org")) == "DUNNO"
    asked += 1
    outage = time.time() - t0

    def lines():
        return [ln for ln in pd.log()[mark:].splitlines() if "redis unavailable" in ln]

    def counts():
        return [int(re.search(r"\): (\d+) request\(s\) answered", ln).group(1)) for ln in lines()]
    # Each line says how many requests it stands for (since the line before): the first one
    # alone, then the rest; together exactly the requests asked during the outage.
    assert wait_until(lambda: sum(counts()) >= asked, 5), (counts(), asked)
    assert asked > 200, asked                # many more requests than the lines allowed below
    assert 2 <= len(lines()) <= outage / 1.0 + 2, (asked, outage, lines())
    assert counts()[0] == 1 and sum(counts()) == asked, (counts(), asked)
    redis_server.restart()
    assert wait_until(lambda: pd.ask(**rcpt("b@example.org")) == "DUNNO" and
                      pd.log().count("connected to") >= 2, 10), pd.log()[-2000:]


def test_script_cache_flush_is_survived(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="10", warm_ip=False))
    assert pd.ask(**eom("F1")) == "FILTER smtp-127.0.0.2:"
    redis_server.client(decode_responses=True).script_flush()
    assert pd.ask(**eom("F2")) == "FILTER smtp-127.0.0.2:"      # NOSCRIPT -> EVAL, same answer


# ---- one Redis round trip per request -------------------------------------------------

def _evalsha_counts(r):
    stats = r.info("commandstats")
    return tuple(int(stats.get("cmdstat_%s" % c, {}).get("calls", 0)) for c in ("evalsha", "eval"))


def test_one_evalsha_per_request_that_needs_redis(redis_server, workdir, daemons):
    rules = ('{ name = "rc"; key = "client_address"; count = "recipients"; limit = 100000; window = "1h"; }, '
             '{ name = "eb"; key = "sender_domain"; count = "bytes"; limit = 1000000000; window = "1h"; '
             'stage = "end_of_message"; }')
    text = config(redis_server.address, caps="100000", rules=rules).replace(
        "evaluate_interval = 1;", "evaluate_interval = 3600;")   # keep the daily job out of the count
    pd = daemons(workdir, text)
    r = redis_server.client(decode_responses=True)
    conn = pd.connect()
    # Load both scripts (the first call of each is EVALSHA -> NOSCRIPT -> EVAL) and let the
    # start-up job (registration, evaluation) finish: the counters must stand still.
    assert conn.ask(**rcpt("warm@example.org", instance="WARM")) == "DUNNO"
    assert conn.ask(**eom("WARM0", instance="WARM")) == "FILTER smtp-127.0.0.2:"

    def settled():
        before = _evalsha_counts(r)
        time.sleep(0.5)
        return _evalsha_counts(r) == before
    assert wait_until(settled, 10)
    before = _evalsha_counts(r)
    need_redis = 0
    for m in range(100):
        inst = "OE%d" % m
        assert conn.ask(**rcpt("x%d@example.org" % m, instance=inst, protocol_state="MAIL")) == "DUNNO"
        for i in range(2):
            assert conn.ask(**rcpt("r%d-%d@gmail.com" % (m, i), instance=inst)) == "DUNNO"
            need_redis += 1
        assert conn.ask(**rcpt("", instance=inst, protocol_state="DATA")) == "DUNNO"
        assert conn.ask(**eom("OE%d" % m, instance=inst, recipient_count=2)).startswith("FILTER smtp-127.0.0.")
        need_redis += 1
    conn.close()
    after = _evalsha_counts(r)
    assert need_redis == 300
    assert after[0] - before[0] == need_redis, (before, after)
    assert after[1] == before[1]                 # no EVAL fallback either: the scripts stayed loaded


# ---- protocol ------------------------------------------------------------------

def test_exim_half_close_gets_one_answer_then_close(redis_server, workdir, daemons):
    redis_server.client(decode_responses=True).hset("pf:sup:{gone@example.org}", mapping={"reason": "hard", "time": "1"})
    pd = daemons(workdir, config(redis_server.address))
    action, closed = pd.exim(**rcpt("gone@example.org"))
    assert action.startswith("550 5.1.1") and closed
    action, closed = pd.exim(final_empty_line=True, **rcpt("fine@example.org"))
    assert action == "DUNNO" and closed
    action, closed = pd.exim(**eom("1xyz-000001-AB", mta="exim", recipient="x@gmail.com"))
    assert action == "DUNNO interface=127.0.0.2 ip=127.0.0.2 pool=main" and closed


def test_persistent_connection_serves_many_requests_in_order(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address))
    conn = pd.connect()
    # Two requests in one write (pipelined): two answers, in order.
    from policyd_lab import read_answer, request_bytes
    conn.sock.sendall(request_bytes(rcpt("a@example.org")) + request_bytes(eom("P1")))
    assert read_answer(conn.sock) == "DUNNO"
    assert read_answer(conn.sock) == "FILTER smtp-127.0.0.2:"
    for i in range(50):
        assert conn.ask(**rcpt("b%d@example.org" % i)) == "DUNNO"
    conn.close()


@pytest.mark.parametrize("payload", [
    b"this is not a policy request\n\n",
    b"request=smtpd_access_policy\nsender=a@b\nsender=c@d\n\n",
    b"request=something_else\n\n",
    b"request=smtpd_access_policy\nsender=" + b"x" * 70000,
    b"request=smtpd_access_policy\n\x00=\n\n",
])
def test_malformed_request_closes_without_answer_and_daemon_lives(redis_server, workdir, daemons, payload):
    import socket
    pd = daemons(workdir, config(redis_server.address))
    s = socket.create_connection(("127.0.0.1", pd.port), timeout=5)
    try:
        s.sendall(payload)
    except OSError:
        pass
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    s.close()
    assert data == b""
    assert "malformed policy request" in pd.log()
    assert pd.ask(**rcpt("ok@example.org")) == "DUNNO"


def test_sighup_reload_applies_new_rules_without_dropping_connections(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address))
    conn = pd.connect()
    assert conn.ask(**rcpt("a@example.org", client="203.0.113.9")) == "DUNNO"
    rule = '{ name = "tight"; key = "client_address"; count = "recipients"; limit = 1; window = "1h"; }'
    pd.reload(config(redis_server.address, rules=rule))
    assert conn.ask(**rcpt("b@example.org", client="203.0.113.9")) == "DUNNO"
    assert conn.ask(**rcpt("c@example.org", client="203.0.113.9")).startswith("DEFER_IF_PERMIT")
    # A broken file is refused and the running configuration kept.
    pd.reload("policy = { warmup = { pools = ( { name = \"x\"; } ); }; };")
    assert "reload failed" in pd.log()
    assert conn.ask(**rcpt("d@example.org", client="203.0.113.9")).startswith("DEFER_IF_PERMIT")
    conn.close()


def test_metrics_are_written_per_node(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, extra_policy='node_name = "mx1";'))
    pd.ask(**rcpt("a@example.org"))
    pd.ask(**eom("M1"))
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: r.hget("pf:metrics:mx1", "requests") == "2", 15)
    assert r.hget("pf:metrics:mx1", "warmup_steered") == "1"


def test_hung_redis_costs_at_most_the_command_timeout(redis_server, workdir, daemons):
    import os
    import signal
    pd = daemons(workdir, config(redis_server.address, suppression_down="closed"))
    assert pd.ask(**rcpt("a@example.org")) == "DUNNO"
    os.kill(redis_server.pid, signal.SIGSTOP)          # alive but silent: no RST, no answer
    try:
        t0 = time.time()
        answer = pd.ask(**rcpt("a@example.org"))
        waited = time.time() - t0
        assert answer.startswith("451 4.3.0 "), answer
        assert waited < 2.0, waited                     # command_timeout_ms = 500 (+ watchdog tick)
        t0 = time.time()
        assert pd.ask(**rcpt("b@example.org")).startswith("451 4.3.0 ")
        assert time.time() - t0 < 2.0
    finally:
        os.kill(redis_server.pid, signal.SIGCONT)
    assert wait_until(lambda: pd.ask(**rcpt("c@example.org")) == "DUNNO", 10), pd.log()


def test_idle_connections_are_closed(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, extra_policy='idle_timeout = "1s";'))
    conn = pd.connect()
    assert conn.ask(**rcpt("a@example.org")) == "DUNNO"
    conn.sock.settimeout(5)
    t0 = time.time()
    assert conn.sock.recv(10) == b""                    # closed by the daemon
    assert 0.8 < time.time() - t0 < 4
    conn.close()


def test_unix_socket_listener(redis_server, workdir, daemons, bin_path):
    import os
    import socket
    import subprocess
    from policyd_lab import read_answer, request_bytes
    from labproc import register_process, unregister
    path = os.path.join(workdir, "policy.sock")
    conf = os.path.join(workdir, "unix.conf")
    with open(conf, "w") as f:
        f.write(config(redis_server.address))
    proc = subprocess.Popen([bin_path("policyd-warmup"), "-f", "-c", conf, "-p", "unix:" + path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = register_process(proc.pid, "policyd-warmup unix")
    try:
        assert wait_until(lambda: os.path.exists(path), 10)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        assert wait_until(lambda: s.connect_ex(path) == 0, 5)
        s.sendall(request_bytes(eom("U1")))
        assert read_answer(s) == "FILTER smtp-127.0.0.2:"
        s.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        unregister(key)


def test_daemon_started_before_redis_registers_its_pools_once_redis_is_up(redis_server, workdir, daemons):
    redis_server.kill()
    pd = daemons(workdir, config(redis_server.address))
    assert pd.ask(**eom("Z1")) == "DUNNO"                # fail open meanwhile
    redis_server.restart()
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: _state(r).get("stage") == "0", 5), pd.log()
    assert r.hgetall("pf:pool:{main}") == {"127.0.0.2": "smtp-127.0.0.2", "127.0.0.3": "smtp-127.0.0.3"}
    assert r.smembers("pf:pools") == {"main"}
    created = [e for e in _events(r) if e["event"] == "create"]
    assert sorted(e["ip"] for e in created) == ["127.0.0.2", "127.0.0.3"]
    assert _state(r)["caps"] == "3,10" and _state(r)["schedule"] == "std"
    assert _state(r, "127.0.0.3")["caps"] == "" and _state(r, "127.0.0.3")["schedule"] == ""


def test_provider_share_caps_one_provider_and_overflows_it(redis_server, workdir, daemons):
    text = config(redis_server.address, caps="4").replace(
        'caps = "4"; }', 'caps = "4"; shares = "gmail=50%"; }')
    pd = daemons(workdir, text)
    gmail = [pd.ask(**eom("G%d" % i, recipient="g%d@gmail.com" % i)) for i in range(3)]
    assert gmail == ["FILTER smtp-127.0.0.2:"] * 2 + ["FILTER smtp-127.0.0.3:"]   # 50 % of 4
    yahoo = [pd.ask(**eom("Y%d" % i, recipient="y%d@yahoo.com" % i)) for i in range(3)]
    assert yahoo == ["FILTER smtp-127.0.0.2:"] * 2 + ["FILTER smtp-127.0.0.3:"]   # the cap of 4 is full


def test_recipients_seen_at_rcpt_are_charged_per_provider_at_end_of_message(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, caps="100"))
    conn = pd.connect()
    for rc in ("a@gmail.com", "b@gmail.com", "c@outlook.com"):
        assert conn.ask(**rcpt(rc, instance="MSG1")) == "DUNNO"
    assert conn.ask(**eom("MIX1", instance="MSG1", recipient_count=3)) == "FILTER smtp-127.0.0.2:"
    conn.close()
    r = redis_server.client(decode_responses=True)
    day = r.hgetall("pf:day:{main}:127.0.0.2:%s" % time.strftime("%Y%m%d", time.gmtime()))
    assert day == {"all": "3", "msgs": "1", "p:gmail": "2", "p:microsoft": "1"}
    assert r.hget("pf:q:{MIX1}", "provider") == "mixed"
    hour = int(time.time()) // 3600

    def sent(provider):      # this hour or, right after an hour boundary, the previous one
        return sum(int(r.hget("pf:hl:{main}:127.0.0.2:%s:%d" % (provider, h), "sent") or 0)
                   for h in (hour - 1, hour))
    assert sent("gmail") == 2 and sent("microsoft") == 1
    assert r.hget("pf:q:{MIX1}", "rcpt") == ""          # several recipients: none recorded

    def domain_sent(provider):
        return sum(int(r.hget("pf:dh:{example.com}:%s:%d" % (provider, h), "sent") or 0)
                   for h in (hour - 1, hour))
    assert domain_sent("gmail") == 2 and domain_sent("microsoft") == 1


# ---- IP choice in a pool of two warming and two warm IPs -------------------------
#
# The rule (policy_script.c, the END-OF-MESSAGE script): among the IPs with
# budget left for the whole message, warming IPs (a schedule, stage before its
# last) come before warm ones; among warming IPs the one with the largest
# share of its budget left (1 - used/allowed) wins, among warm IPs the least
# used (today's recipients); a tie goes to the IP listed first in the pool.

def pool_config(redis_address):
    # Listed warm, warming, warm, warming, so that "warming first" is not just list order.
    text = config(redis_address, caps="10")
    text = text.replace('schedules = ( { name = "std"; caps = "10"; } );',
                        'schedules = ( { name = "big"; caps = "10"; }, { name = "small"; caps = "4"; } );')
    ips = ('{ address = "127.0.0.11"; }, '
           '{ address = "127.0.0.12"; schedule = "big"; }, '
           '{ address = "127.0.0.13"; }, '
           '{ address = "127.0.0.14"; schedule = "small"; }')
    text = text.replace('ips = ( { address = "127.0.0.2"; schedule = "std"; }, { address = "127.0.0.3"; } );',
                        'ips = ( %s );' % ips)
    assert "127.0.0.14" in text and "small" in text, text
    return text


def _chosen(answer):
    assert answer.startswith("FILTER smtp-") and answer.endswith(":"), answer
    return answer[len("FILTER smtp-"):-1]


def test_pool_spreads_over_warming_ips_by_share_left_then_warm_ips_by_least_used(redis_server, workdir, daemons):
    pd = daemons(workdir, pool_config(redis_server.address))
    conn = pd.connect()
    got = [_chosen(conn.ask(**eom("P%d" % i, recipient="r%d@example.org" % i))) for i in range(18)]
    conn.close()
    big, small, warm1, warm2 = "127.0.0.12", "127.0.0.14", "127.0.0.11", "127.0.0.13"
    # Worked by hand from the rule (share left of big /10, small /4, before each message):
    #  1.0/1.0 big (tie: listed first)   .9/1.0 small   .9/.75 big   .8/.75 big   .7/.75 small
    #  .7/.5 big   .6/.5 big   .5/.5 big (tie)   .4/.5 small   .4/.25 big   .3/.25 big
    #  .2/.25 small (now full: 4 of 4)   .2/- big   .1/- big (now full: 10 of 10)
    # then the warm IPs, least used first, a tie to the one listed first.
    assert got[:14] == [big, small, big, big, small, big, big, big, small, big, big, small, big, big]
    assert got[14:] == [warm1, warm2, warm1, warm2]
    # An IP with the most budget left in absolute terms is not simply preferred: after one
    # message on big (9 of 10 left) the small IP (4 of 4 left) was chosen.
    r = redis_server.client(decode_responses=True)
    day = time.strftime("%Y%m%d", time.gmtime())

    def used(ip):
        return int(r.hget("pf:day:{main}:%s:%s" % (ip, day), "all") or 0)
    assert (used(big), used(small), used(warm1), used(warm2)) == (10, 4, 2, 2)


def test_warming_ips_come_before_a_less_used_warm_ip_until_their_cap(redis_server, workdir, daemons):
    r = redis_server.client(decode_responses=True)
    day = time.strftime("%Y%m%d", time.gmtime())
    # Another node already sent through the warm IPs today: 127.0.0.11 more than 127.0.0.13.
    r.hset("pf:day:{main}:127.0.0.11:%s" % day, mapping={"all": 7, "msgs": 7})
    r.hset("pf:day:{main}:127.0.0.13:%s" % day, mapping={"all": 3, "msgs": 3})
    pd = daemons(workdir, pool_config(redis_server.address))
    # Messages of 2 recipients: big (10) takes 5, small (4) takes 2, in share-left order.
    got = [_chosen(pd.ask(**eom("V%d" % i, recipient_count=2))) for i in range(7)]
    assert sorted(got) == ["127.0.0.12"] * 5 + ["127.0.0.14"] * 2
    assert got[0] == "127.0.0.12" and got[1] == "127.0.0.14"
    # Only now the warm IPs: the less used one (3) until it catches up with the other (7), then
    # the tie goes to the one listed first, then they alternate.
    got = [_chosen(pd.ask(**eom("X%d" % i, recipient_count=2))) for i in range(4)]
    assert got == ["127.0.0.13", "127.0.0.13", "127.0.0.11", "127.0.0.13"]
    assert int(r.hget("pf:day:{main}:127.0.0.13:%s" % day, "all")) == 3 + 6
    assert int(r.hget("pf:day:{main}:127.0.0.11:%s" % day, "all")) == 7 + 2


def test_a_message_larger_than_a_warming_ips_budget_left_goes_to_the_other(redis_server, workdir, daemons):
    pd = daemons(workdir, pool_config(redis_server.address))
    # small (cap 4) has more share left than big after big took 3, but cannot take 5 recipients.
    assert _chosen(pd.ask(**eom("L1", recipient_count=3))) == "127.0.0.12"       # big 3/10
    assert _chosen(pd.ask(**eom("L2", recipient_count=5))) == "127.0.0.12"       # small: 5 > 4
    assert _chosen(pd.ask(**eom("L3", recipient_count=1))) == "127.0.0.14"       # small 1.0 > big .2
    # Big has 2 left, small 3: a message of 3 fits only small; one of 4 fits neither: warm.
    assert _chosen(pd.ask(**eom("L4", recipient_count=4))) == "127.0.0.11"
    assert _chosen(pd.ask(**eom("L5", recipient_count=3))) == "127.0.0.14"


# ---- start-up checks: exposed listeners, descriptor limit ----------------------------

def _netns_prefix():
    """A command prefix that runs a program in a private network namespace with only lo up."""
    import os
    import subprocess
    base = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]
    probe = subprocess.run(base + ["sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a private network namespace here (%s): the 0.0.0.0 listener is only "
                    "ever bound inside one" % probe.stderr.strip()[-200:])
    return base + ["sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def test_non_loopback_tcp_listener_is_warned_about_at_start(redis_server, workdir, bin_path):
    import os
    import subprocess
    from labproc import register_process, unregister
    conf = os.path.join(workdir, "exposed.conf")
    with open(conf, "w") as f:
        f.write(config(redis_server.address))       # Redis over its unix socket: reachable from the namespace
    logpath = os.path.join(workdir, "exposed.log")
    # The wildcard address is bound inside a network namespace of its own, where only lo exists:
    # nothing is exposed to the machine's networks, but to the daemon it is 0.0.0.0 all the same.
    port = 10040
    cmd = _netns_prefix() + [bin_path("policyd-warmup"), "-f", "-c", conf, "-p", "inet:0.0.0.0:%d" % port,
                             "-p", "inet:127.0.0.1:%d" % (port + 1), "-p", "unix:" + os.path.join(workdir, "s")]
    with open(logpath, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    key = register_process(proc.pid, "policyd-warmup in a network namespace")

    def text():
        with open(logpath, errors="replace") as f:
            return f.read()
    try:
        assert wait_until(lambda: "started" in text() or proc.poll() is not None, 10), text()
        assert proc.poll() is None, text()
    finally:
        proc.terminate()
        rc = proc.wait(10)
        unregister(key)
    assert rc == 0, text()
    warnings = [ln for ln in text().splitlines() if "not a loopback address" in ln]
    assert len(warnings) == 1, text()             # the loopback and unix listeners are not warned about
    assert "warning: listening on inet:0.0.0.0:%d (0.0.0.0): not a loopback address; " % port in warnings[0]
    assert "no authentication" in warnings[0]


def test_loopback_listener_gets_no_exposure_warning(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address))
    pd.wait_log("started")
    assert "listening on inet:127.0.0.1:" in pd.log()
    assert "not a loopback address" not in pd.log()


def _nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no Max open files line")


def test_descriptor_limit_is_raised_for_max_connections(redis_server, workdir, daemons):
    # Soft 100, hard 1000; max_connections = 10 needs 10 + 1 listener + 64: nothing to do.
    text = config(redis_server.address, extra_policy="max_connections = 10;")
    pd = daemons(workdir, text, wrapper=["prlimit", "--nofile=100:1000", "--"])
    pd.wait_log("started")
    assert _nofile(pd.proc.pid) == (100, 1000)
    assert "descriptor limit" not in pd.log()
    # 500 connections need 565 descriptors: the soft limit goes up that far, not to the hard limit.
    pd.reload(config(redis_server.address, extra_policy="max_connections = 500;"))
    assert _nofile(pd.proc.pid) == (565, 1000)
    assert "descriptor limit raised from 100 to 565 for max_connections = 500" in pd.log()
    assert "is below the" not in pd.log()
    # The daemon really serves more clients than the old soft limit allowed.
    conns = [pd.connect() for _ in range(150)]
    assert all(c.ask(**rcpt("m@example.org")) == "DUNNO" for c in conns)
    for c in conns:
        c.close()


def test_descriptor_limit_short_of_max_connections_is_warned_about(redis_server, workdir, daemons):
    text = config(redis_server.address, extra_policy="max_connections = 200;")   # needs 265
    pd = daemons(workdir, text, wrapper=["prlimit", "--nofile=100:150", "--"])
    pd.wait_log("started")
    assert _nofile(pd.proc.pid) == (150, 150)       # raised as far as the hard limit allows
    assert "descriptor limit raised from 100 to 150 for max_connections = 200" in pd.log()
    assert "warning: descriptor limit 150 (hard 150) is below the 265 that max_connections = 200 needs" \
        in pd.log()
