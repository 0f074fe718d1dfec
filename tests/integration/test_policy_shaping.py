"""test_policy_shaping - policyd-warmup honours traffic-shaping effects.

The effects are written into Redis in the documented layout
(common/shaping.h, docs/redis-keys.md: one field of the pool's or the
sender domain's index per effect) and a real policyd-warmup, talking to a
real redis-server, must steer around them at END-OF-MESSAGE: a suspended
IP x provider gets no mail for that provider, a slow-down caps the IP's
hourly volume to the provider and ramps back up one step per clean period,
an effect on the sender domain holds back every IP, and a hold keeps the
stage at the daily evaluation.  maillog-tap's own writing of these effects
is tested in test_maillog_tap_daemon.py.
"""

import time

from policyd_lab import eom
from postflow_lab import wait_until
from test_policy_redis import config, workdir  # noqa: F401  (fixture)

WARMING, WARM = "FILTER smtp-127.0.0.2:", "FILTER smtp-127.0.0.3:"


def effect(r, field, until, *, ends=None, factor=1.0, step=1, floor=0, clean=0, base=0, rule="test-rule",
           index="pf:fx:{main}"):
    """One index field exactly as common/shaping_lua.c writes it."""
    r.hset(index, field, "%d %d %.4f %d %d %d %d %s" % (until, ends if ends is not None else until, factor,
                                                         step, floor, clean, base, rule))


def test_a_suspended_ip_gets_no_mail_for_that_provider_only(redis_server, workdir, daemons):  # noqa: F811
    pd = daemons(workdir, config(redis_server.address, caps="100"))
    r = redis_server.client(decode_responses=True)
    assert pd.ask(**eom("S0", recipient="a@gmail.com")) == WARMING
    effect(r, "suspend|127.0.0.2|gmail", int(time.time()) + 600, rule="gmail-rate-ip")
    assert pd.ask(**eom("S1", recipient="b@gmail.com")) == WARM          # steered elsewhere
    assert pd.ask(**eom("S2", recipient="c@yahoo.com")) == WARMING       # other providers untouched
    assert pd.ask(**eom("S3", recipient="d@googlemail.com")) == WARM     # the provider, not the domain
    r.hdel("pf:fx:{main}", "suspend|127.0.0.2|gmail")                     # cancelled: at once
    assert pd.ask(**eom("S4", recipient="e@gmail.com")) == WARMING


def test_every_ip_suspended_defers_naming_the_effect(redis_server, workdir, daemons):  # noqa: F811
    pd = daemons(workdir, config(redis_server.address, caps="100"))
    r = redis_server.client(decode_responses=True)
    now = int(time.time())
    effect(r, "suspend|127.0.0.0/24|gmail", now + 1200, rule="gmail-rate-netblock")   # both IPs' /24
    answer = pd.ask(**eom("N1", recipient="a@gmail.com"))
    assert answer.startswith("DEFER_IF_PERMIT 4.7.0 receivers asked us to slow down: "
                             "suspend 127.0.0.0/24 gmail (rule gmail-rate-netblock), retry in "), answer
    assert pd.ask(**eom("N2", recipient="a@yahoo.com")) == WARMING
    day = time.strftime("%Y%m%d", time.gmtime())
    # a deferred message is not counted anywhere
    assert r.hget("pf:day:{main}:127.0.0.2:%s" % day, "p:gmail") is None
    assert r.hget("pf:day:{main}:127.0.0.3:%s" % day, "p:gmail") is None


def test_an_ended_effect_or_an_effect_on_all_providers(redis_server, workdir, daemons):  # noqa: F811
    pd = daemons(workdir, config(redis_server.address, caps="100"))
    r = redis_server.client(decode_responses=True)
    now = int(time.time())
    effect(r, "suspend|127.0.0.2|gmail", now - 1)                    # over: ignored
    assert pd.ask(**eom("E1", recipient="a@gmail.com")) == WARMING
    effect(r, "suspend|127.0.0.2|all", now + 300)                    # an operator's: every provider
    assert pd.ask(**eom("E2", recipient="a@gmail.com")) == WARM
    assert pd.ask(**eom("E3", recipient="a@yahoo.com")) == WARM
    r.hset("pf:fx:{main}", "suspend|127.0.0.3|all", "garbage")       # unreadable: ignored, never a crash
    assert pd.ask(**eom("E4", recipient="a@yahoo.com")) == WARM


def test_a_slow_down_caps_the_hourly_volume_and_ramps_back(redis_server, workdir, daemons):  # noqa: F811
    pd = daemons(workdir, config(redis_server.address, caps="1000", warm_ip=False))
    r = redis_server.client(decode_responses=True)
    now = int(time.time())
    hour_key = "pf:hl:{main}:127.0.0.2:gmail:%d" % (now // 3600)
    # base 8/h, one step of 0.5 -> 4 per hour to gmail; yahoo unaffected
    effect(r, "slow|127.0.0.2|gmail", now + 3600, ends=now + 3600, factor=0.5, step=1, floor=2, clean=3600,
           base=8, rule="gmail-rate-dkim")
    sent = int(r.hget(hour_key, "sent") or 0)
    answers = [pd.ask(**eom("L%d" % i, recipient="x%d@gmail.com" % i)) for i in range(6)]
    allowed = max(0, 4 - sent)
    assert answers[:allowed] == [WARMING] * allowed
    assert all(a.startswith("DEFER_IF_PERMIT 4.7.0 receivers asked us to slow down: slow 127.0.0.2 gmail")
               for a in answers[allowed:]), answers
    assert int(r.hget(hour_key, "sent")) == 4
    assert pd.ask(**eom("LY", recipient="y@yahoo.com")) == WARMING
    # a multi-recipient message that would pass the limit is held back whole
    effect(r, "slow|127.0.0.2|gmail", now + 3600, factor=0.5, step=1, floor=2, clean=3600, base=20)  # 10/h
    assert pd.ask(**eom("LM", recipient="m@gmail.com", recipient_count=7)).startswith("DEFER_IF_PERMIT 4.7.0")
    assert pd.ask(**eom("LN", recipient="n@gmail.com", recipient_count=6)) == WARMING
    # two steps deep, the clean period after `until` passed once: one step back up (base x 0.5 = 10/h)
    effect(r, "slow|127.0.0.2|gmail", now - 10, ends=now + 3590, factor=0.5, step=2, floor=1, clean=3600, base=20)
    assert pd.ask(**eom("LR", recipient="r@gmail.com")) == "DEFER_IF_PERMIT 4.7.0 receivers asked us to slow " \
        "down: slow 127.0.0.2 gmail (rule test-rule), retry in 1 min"    # 10 sent this hour already
    # all steps climbed back: the effect is over though its key lingers
    effect(r, "slow|127.0.0.2|gmail", now - 7300, ends=now + 100, factor=0.5, step=2, floor=1, clean=3600,
           base=20)
    assert pd.ask(**eom("LS", recipient="s@gmail.com")) == WARMING


def test_a_sender_domain_effect_holds_back_every_ip(redis_server, workdir, daemons):  # noqa: F811
    pd = daemons(workdir, config(redis_server.address, caps="100"))
    r = redis_server.client(decode_responses=True)
    effect(r, "suspend|dkim|gmail", int(time.time()) + 600, rule="gmail-rate-dkim", index="pf:fxd:{example.com}")
    assert pd.ask(**eom("D1", recipient="a@gmail.com")).startswith(
        "DEFER_IF_PERMIT 4.7.0 receivers asked us to slow down: suspend dkim gmail (rule gmail-rate-dkim)")
    assert pd.ask(**eom("D2", recipient="a@yahoo.com")) == WARMING
    assert pd.ask(**eom("D3", sender="x@other.example.com", recipient="a@gmail.com")) == "DUNNO"   # unpooled


def _events(r):
    return [fields for _id, fields in r.xrange("pf:events")]


def test_a_hold_keeps_the_stage_at_the_daily_evaluation(redis_server, workdir, daemons):  # noqa: F811
    text = config(redis_server.address, caps="4, 10", warm_ip=False)
    pd = daemons(workdir, text)
    r = redis_server.client(decode_responses=True)
    assert [pd.ask(**eom("H%d" % i)) for i in range(4)] == [WARMING] * 4     # a full, healthy day
    # a hold running at tomorrow's evaluation (the daemon's clock moves a day ahead)
    effect(r, "hold|127.0.0.0/24|gmail", int(time.time()) + 2 * 86400, rule="gmail-low-rep-ip")
    pd.reload(config(redis_server.address, caps="4, 10", warm_ip=False, clock_offset=86400))
    assert wait_until(lambda: any(e["event"] == "hold" for e in _events(r)), 10), pd.log()
    ev = [e for e in _events(r) if e["event"] == "hold"][0]
    assert "shaping hold: hold|127.0.0.0/24|gmail (rule gmail-low-rep-ip" in ev["reason"], ev
    assert r.hget("pf:ip:{main}:127.0.0.2", "stage") == "0"


def test_without_the_hold_the_same_day_advances(redis_server, workdir, daemons):  # noqa: F811
    text = config(redis_server.address, caps="4, 10", warm_ip=False)
    pd = daemons(workdir, text)
    r = redis_server.client(decode_responses=True)
    assert [pd.ask(**eom("A%d" % i)) for i in range(4)] == [WARMING] * 4
    effect(r, "hold|127.0.0.2|gmail", int(time.time()) + 3600, rule="gmail-low-rep-ip")   # over by then
    pd.reload(config(redis_server.address, caps="4, 10", warm_ip=False, clock_offset=86400))
    assert wait_until(lambda: r.hget("pf:ip:{main}:127.0.0.2", "stage") == "1", 10), pd.log()
