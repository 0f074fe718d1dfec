"""test_policy_health - warm-up health judged per mailbox provider, against a real redis-server.

Receivers judge an IP's reputation per provider, so policyd-warmup judges the health counters of every
provider of an IP on its own (from health.min_provider_sent sent) as well as their total: one provider
over a limit must not be diluted by clean mail to the others.  Each test starts its own redis-server
and a real policyd-warmup; the hourly health hashes pf:hl:{pool}:IP:PROVIDER:HOUR are written the way
policyd-warmup (sent) and bounce-proc / fbl-proc (hard, soft, complaint) write them (docs/redis-keys.md),
so the exact rates are known; the daily evaluation is reached with the test-only clock_offset, as in
test_policy_redis.py.
"""

import time

import pytest

from postflow_lab import wait_until


def config(redis_address, *, clock_offset=0, health="", ips=("127.0.0.2",)):
    ip_list = ", ".join('{ address = "%s"; schedule = "std"; }' % ip for ip in ips)
    return """
log = { level = "info"; };
redis = { address = "%s"; command_timeout_ms = 500; connect_timeout_ms = 500;
          retry_min_ms = 50; retry_max_ms = 200; };
policy = {
  clock_offset = %d;
  warmup = {
    smoothing_hours = 0;
    health = { evaluate_interval = 1; %s };
    schedules = ( { name = "std"; caps = "100, 200, 400, 4000, 10000"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ]; ips = ( %s ); } );
  };
};
""" % (redis_address, clock_offset, health, ip_list)


@pytest.fixture
def workdir(lab_dir):
    return lab_dir("health")


def _state(r, ip="127.0.0.2"):
    return r.hgetall("pf:ip:{main}:%s" % ip)


def _events(r, ip=None):
    return [f for _id, f in r.xrange("pf:events") if ip is None or f.get("ip") == ip]


def _count(r, ip, provider, **fields):
    """Adds to this hour's health hash of (ip, provider), as the policy and the processors do."""
    hour = int(time.time()) // 3600
    key = "pf:hl:{main}:%s:%s:%d" % (ip, provider, hour)
    for field, n in fields.items():
        r.hincrby(key, field, n)


def test_daily_evaluation_judges_each_provider_not_only_the_total(redis_server, workdir, daemons):
    ips = ("127.0.0.2", "127.0.0.4")
    pd = daemons(workdir, config(redis_server.address, ips=ips))
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: all(_state(r, ip).get("stage") == "0" for ip in ips), 10), pd.log()
    for ip in ips:
        r.hset("pf:ip:{main}:%s" % ip, "stage", "3")       # as `warmupctl ip set-stage` would (cap 4000)
    # Both IPs: 4000 sent, 15 hard bounces (0.37 % of all).  On .2 they all come from gmail
    # (1.50 % of 1000): gmail is over the 1 % limit.  On .4 they are spread (0.40 % / 0.37 %): healthy.
    _count(r, "127.0.0.2", "gmail", sent=1000, hard=15)
    _count(r, "127.0.0.2", "other", sent=3000)
    _count(r, "127.0.0.4", "gmail", sent=1000, hard=4)
    _count(r, "127.0.0.4", "other", sent=3000, hard=11)
    pd.reload(config(redis_server.address, ips=ips, clock_offset=86400))    # the next day: evaluate today
    assert wait_until(lambda: _state(r, "127.0.0.2").get("stage") == "2"
                      and _state(r, "127.0.0.4").get("stage") == "4", 10), pd.log()
    back = [e for e in _events(r, "127.0.0.2") if e["event"] == "stepback"]
    assert len(back) == 1, _events(r)
    assert back[0]["reason"] == ("gmail: hard bounces 1.50% of 1000 over the limit "
                                 "(all providers 0.38% of 4000)")
    assert "127.0.0.2 day %s: stepback stage 3 -> 2 (gmail: hard bounces" % time.strftime(
        "%Y%m%d", time.gmtime()) in pd.log()
    assert [e["event"] for e in _events(r, "127.0.0.4") if e["event"] != "create"] == ["advance"]


def test_complaint_watch_pauses_for_one_provider_once_it_has_enough_mail(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address, health="min_provider_sent = 200;"))
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: _state(r).get("paused") == "0", 10), pd.log()
    # One complaint in 150 gmail messages (0.67 %) is too little evidence to judge gmail alone,
    # and the total (1 of 3150, 0.03 %) is clean: the IP keeps sending.
    _count(r, "127.0.0.2", "gmail", sent=150, complaint=1)
    _count(r, "127.0.0.2", "other", sent=3000)
    time.sleep(2.5)                                          # two watch rounds (evaluate_interval = 1)
    assert _state(r)["paused"] == "0", pd.log()
    # 250 gmail messages, still one complaint: 0.40 % is judged on its own and pauses the IP.
    _count(r, "127.0.0.2", "gmail", sent=100)
    assert wait_until(lambda: _state(r).get("paused") == "1", 10), pd.log()
    reason = ("gmail: complaints 0.40% of 250 over the limit (all providers 0.03% of 3250) "
              "in the last 24 h")
    assert _state(r)["paused_reason"] == reason
    pauses = [e for e in _events(r) if e["event"] == "pause"]
    assert len(pauses) == 1 and pauses[0]["reason"] == reason


# ---- lost IP state ---------------------------------------------------------------

def test_lost_ip_state_is_recreated_with_a_warning(redis_server, workdir, daemons):
    pd = daemons(workdir, config(redis_server.address))
    r = redis_server.client(decode_responses=True)
    assert wait_until(lambda: _state(r).get("stage") == "0", 10), pd.log()
    created = [e for e in _events(r) if e["event"] == "create"]
    assert [e["reason"] for e in created] == ["first seen in the configuration"]
    assert "Redis lost data?" not in pd.log()
    r.hset("pf:ip:{main}:127.0.0.2", mapping={"stage": "3", "paused": "1"})
    # The state key alone disappears (evicted, deleted by hand): the pool registry still knows the IP.
    r.delete("pf:ip:{main}:127.0.0.2")
    pd.wait_log("IP 127.0.0.2 had warm-up state (known from pool registry, this node) but Redis has none "
                "now: re-created at stage 0, not paused")
    assert _state(r)["stage"] == "0" and _state(r)["paused"] == "0"
    recreated = [e for e in _events(r) if e["event"] == "create"][1:]
    assert [e["reason"] for e in recreated] == [
        "state lost (known from pool registry, this node): re-created at stage 0"]
    # Everything is gone (FLUSHALL, failover to an empty replica): only this daemon remembers the IP.
    r.flushall()
    assert wait_until(lambda: pd.log().count("had warm-up state") == 2, 10), pd.log()
    assert "IP 127.0.0.2 had warm-up state (known from this node)" in pd.log()
    assert [e["reason"] for e in _events(r)] == ["state lost (known from this node): re-created at stage 0"]


def test_state_missing_for_an_ip_named_in_the_events_is_reported(redis_server, workdir, daemons):
    # A daemon starting against a Redis that kept its event log but lost the IP states and the pool
    # registry (e.g. keys evicted under maxmemory-policy allkeys-lru) still notices.
    r = redis_server.client(decode_responses=True)
    r.xadd("pf:events", {"time": "1", "node": "old", "pool": "main", "ip": "127.0.0.2", "event": "advance",
                         "from": "2", "to": "3", "reason": "healthy day", "day": "20261101"})
    r.xadd("pf:events", {"time": "2", "node": "old", "pool": "other", "ip": "127.0.0.9", "event": "create",
                         "from": "", "to": "0", "reason": "first seen in the configuration"})
    pd = daemons(workdir, config(redis_server.address, ips=("127.0.0.2", "127.0.0.9")))
    pd.wait_log("IP 127.0.0.2 had warm-up state (known from events)")
    assert wait_until(lambda: _state(r, "127.0.0.9").get("stage") == "0", 10), pd.log()
    # 127.0.0.9 appears in the events only for another pool: new here, no warning.
    assert "IP 127.0.0.9 had warm-up state" not in pd.log()
    assert "1 new IP(s) start warming up" in pd.log()
