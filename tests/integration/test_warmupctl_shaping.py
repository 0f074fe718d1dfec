"""test_warmupctl_shaping.py - `warmupctl shaping list|show|cancel|extend`,
and the effects in `status` and `metrics`, against a real redis-server.

The effects are written by the writer's own Lua script (shaping_write_lua,
read out of common/shaping_lua.c and run with EVAL, with KEYS and ARGV as
maillog-tap's tap_store.c passes them), so the test checks warmupctl against
what maillog-tap really stores, detail key and index field alike.  The keys
are spelled here as docs/redis-keys.md documents them, not through the
tool's code.
"""

import json
import os
import re
import time

import pytest

from test_warmupctl import Ctl, parse_prometheus

HERE = os.path.dirname(os.path.abspath(__file__))
LUA_SOURCE = os.path.join(HERE, "..", "..", "common", "shaping_lua.c")


# ---- the writer's script, out of its C source ----------------------------------

def _c_strings(text):
    """The concatenation of the C string literals in text (escapes \\n \\" \\\\ only)."""
    out = []
    for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', text):
        out.append(re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), lit))
    return "".join(out)


def writer_script():
    src = open(LUA_SOURCE).read()
    macros = {}
    for m in re.finditer(r"#define (\w+) \\\n((?:.*\\\n)*.*\n)", src):
        macros[m.group(1)] = _c_strings(m.group(2))
    m = re.search(r"const char shaping_write_lua\[\] =(.*?);\n", src, re.S)
    assert m, "shaping_write_lua not found in " + LUA_SOURCE
    body = m.group(1)
    parts = re.findall(r'"(?:[^"\\\n]|\\.)*"|\b[A-Z_]+\b', body)
    script = "".join(macros[p] if p in macros else _c_strings(p) for p in parts)
    assert "HSET" in script and "EXPIRE" in script
    return script


def write_effect(r, *, action, until, step=1, factor=1.0, floor=0, clean=0, rule="rule-x", reason="421 try later",
                 evidence="1 reply", pool="main", subject="192.0.2.10", kind="ip", provider="gmail",
                 domain=None, base_sent=(0, 0), now=None, queue_id="4ABCD"):
    """One effect as tap_store.c writes it; returns (detail key, index key, index field)."""
    now = int(time.time()) if now is None else now
    hour = now // 3600
    if domain is None:
        detail = "pf:fx:{%s}:%s:%s:%s" % (pool, subject, provider, action)
        index = "pf:fx:{%s}" % pool
        field = "%s|%s|%s" % (action, subject, provider)
        base = ["pf:hl:{%s}:%s:%s:%d" % (pool, subject, provider, h) for h in (hour - 1, hour)]
    else:
        subject = domain
        detail = "pf:fxd:{%s}:%s:%s:%s" % (domain, kind, provider, action)
        index = "pf:fxd:{%s}" % domain
        field = "%s|%s|%s" % (action, kind, provider)
        base = ["pf:dh:{%s}:%s:%d" % (domain, provider, h) for h in (hour - 1, hour)]
    for key, sent in zip(base, base_sent):
        r.hset(key, "sent", str(sent))
    args = [action, str(until), str(now), "%.4f" % factor, str(floor), str(step), rule, reason, evidence,
            str(now - 60), "maillog-tap@mx1", subject, kind, provider, queue_id, str(clean), field]
    assert r.eval(writer_script(), 2 + len(base), detail, index, *base, *args) == 1
    return detail, index, field


# ---- fixtures -------------------------------------------------------------------

@pytest.fixture
def r(redis_server):
    return redis_server.client(decode_responses=True)


@pytest.fixture
def ctl(bin_path, redis_server, lab_dir):
    return Ctl(bin_path("warmupctl"), lab_dir("shctl"), redis_server.address, wctl='audit_log = "stderr";')


def changes(p):
    return [ln.split(": change by ", 1)[1] for ln in p.stderr.decode().splitlines() if ": change by " in ln]


SLOW = "main/192.0.2.0/24/gmail/slow"
SUSPEND = "main/192.0.2.10/yahoo/suspend"
DKIM = "@example.com/dkim/all/suspend"


def seed(r):
    now = int(time.time())
    # a slow-down on the netblock: step 2 of a 0.5 factor from 400/h (the larger hour) -> 100/h
    write_effect(r, action="slow", until=now + 3600, step=2, factor=0.5, floor=20, clean=1800, subject="192.0.2.0/24",
                 kind="netblock", base_sent=(400, 150), rule="gmail-rate", reason="421-4.7.28 unusual rate",
                 evidence="3 replies in 600 s")
    write_effect(r, action="suspend", until=now + 7200, provider="yahoo", rule="yahoo-ts03",
                 reason="421 4.7.0 [TSS04] Messages temporarily deferred", evidence="1 reply")
    write_effect(r, action="suspend", until=now + 600, domain="example.com", kind="dkim", provider="all",
                 rule="dkim-fail", reason="550 5.7.26 DKIM check failed", evidence="2 replies")
    return now


# ---- list ------------------------------------------------------------------------

def test_list_shows_every_active_effect_with_its_limit(ctl, r):
    seed(r)
    docs = ctl.json("shaping", "list")
    by = {d["name"]: d for d in docs}
    assert set(by) == {SLOW, SUSPEND, DKIM}
    s = by[SLOW]
    assert (s["pool"], s["subject"], s["kind"], s["provider"], s["action"]) == \
        ("main", "192.0.2.0/24", "netblock", "gmail", "slow")
    assert (s["base"], s["step"], s["limit_per_hour"], s["ramping"]) == (400, 2, 100, False)
    assert s["ends"] == s["until"] + 1800 and s["origin"] == "maillog-tap@mx1" and s["rule"] == "gmail-rate"
    assert by[SUSPEND]["limit_per_hour"] is None and by[SUSPEND]["evidence"] == "1 reply"
    assert by[DKIM]["domain"] == "example.com" and "pool" not in by[DKIM]
    lines = ctl.ok("shaping", "list").splitlines()
    assert lines[0].split()[:2] == ["EFFECT", "RULE"]
    rows = {ln.split()[0]: ln for ln in lines[1:]}
    assert set(rows) == {SLOW, SUSPEND, DKIM}
    assert " 100 " in rows[SLOW] and "gmail-rate" in rows[SLOW] and "3 replies in 600 s" in rows[SLOW]
    assert "yahoo-ts03" in rows[SUSPEND] and "maillog-tap@mx1" in rows[SUSPEND]


def test_a_slow_down_after_until_ramps_back_up_one_step_per_clean_period(ctl, r):
    now = int(time.time())
    # step 3 from 800/h x 0.5; until passed 2000 s ago with clean = 1800: one step back -> step 1: 400/h
    write_effect(r, action="slow", until=now - 2000, step=3, factor=0.5, floor=10, clean=1800, base_sent=(800, 0))
    [d] = ctl.json("shaping", "list")
    assert d["ramping"] is True and d["limit_per_hour"] == 400 and d["ends"] == now - 2000 + 3600
    [row] = ctl.ok("shaping", "list").splitlines()[1:]
    assert "ramping, 400/h now" in row
    # the floor bounds the limit from below
    r.flushall()
    write_effect(r, action="slow", until=now + 600, step=4, factor=0.5, floor=30, clean=60, base_sent=(100, 0))
    assert ctl.json("shaping", "list")[0]["limit_per_hour"] == 30


def test_ended_effects_and_other_keys_are_not_listed(ctl, r):
    now = int(time.time())
    write_effect(r, action="suspend", until=now - 10, now=now - 20)      # over, the key outlives it by 60 s
    assert r.exists("pf:fx:{main}:192.0.2.10:gmail:suspend")
    r.hset("pf:fx:{main}:junk", "action", "slow")                       # no effect fields: not an effect
    r.hset("pf:fx:{main}:192.0.2.9:gmail:hold", mapping={                # fields that name another key
        "action": "hold", "subject": "192.0.2.99", "kind": "ip", "provider": "gmail", "until": str(now + 99)})
    assert ctl.json("shaping", "list") == []
    assert ctl.ok("shaping", "list") == "no shaping effects\n"


# ---- show ------------------------------------------------------------------------

def test_show_gives_one_effect_in_full_with_the_reply_text(ctl, r):
    seed(r)
    text = ctl.ok("shaping", "show", SUSPEND)
    fields = {ln[:12].strip(): ln[13:] for ln in text.splitlines()}
    assert fields["reply"] == "421 4.7.0 [TSS04] Messages temporarily deferred"
    assert fields["key"] == "pf:fx:{main}:192.0.2.10:yahoo:suspend" and fields["rule"] == "yahoo-ts03"
    assert 7000 < int(fields["ttl"].split()[0]) <= 7260
    d = ctl.json("shaping", "show", SLOW)
    assert d["reason"] == "421-4.7.28 unusual rate" and d["queue_id"] == "4ABCD" and d["limit_per_hour"] == 100
    assert "100/h now" in ctl.ok("shaping", "show", SLOW)
    assert ctl.json("shaping", "show", "@EXAMPLE.com/DKIM/all/suspend")["name"] == DKIM   # case as in the key


def test_hostile_reply_text_cannot_drive_the_terminal(ctl, r):
    write_effect(r, action="suspend", until=int(time.time()) + 60, reason="421 \x1b[2Jgone\r\nforged: line")
    text = ctl.ok("shaping", "show", "main/192.0.2.10/gmail/suspend")
    assert "\x1b" not in text and "\r" not in text and "forged: line" in text
    assert len([ln for ln in text.splitlines() if ln.startswith("reply")]) == 1
    assert ctl.json("shaping", "show", "main/192.0.2.10/gmail/suspend")["reason"].startswith("421 \x1b[2J")


@pytest.mark.parametrize("name", ["main/192.0.2.10/gmail", "main//gmail/slow", "/192.0.2.10/gmail/slow",
                                  "main/192.0.2.10/gmail/stop", "main/192.0.2.10//slow", "@/dkim/all/slow",
                                  "main/192.0.2.10/gmail/", "main/a b/gmail/slow", "x" * 2000])
def test_malformed_names_are_usage_errors(ctl, r, name):
    for args in (("show", name), ("cancel", name), ("extend", name, "1h")):
        p = ctl.run("shaping", *args)
        assert p.returncode == 64, (args, p.stderr)
        assert p.stderr.count(b"\n") == 1 and changes(p) == []


def test_unknown_names_exit_1(ctl, r):
    seed(r)
    before = {k: r.dump(k) for k in r.scan_iter("*")}
    for args in (("show", "main/192.0.2.10/gmail/suspend"), ("cancel", "other/192.0.2.0/24/gmail/slow"),
                 ("extend", "@example.org/dkim/all/suspend", "1h")):
        p = ctl.run("shaping", *args)
        assert p.returncode == 1 and b"no shaping effect" in p.stderr, (args, p.stderr)
        assert changes(p) == []
    assert {k: r.dump(k) for k in r.scan_iter("*")} == before


# ---- cancel ----------------------------------------------------------------------

def test_cancel_removes_the_detail_key_and_the_index_field_and_logs_the_change(ctl, r):
    seed(r)
    p = ctl.run("shaping", "cancel", SLOW, "--reason", "gmail postmaster says fine")
    assert p.returncode == 0, p.stderr.decode()
    assert not r.exists("pf:fx:{main}:192.0.2.0/24:gmail:slow")
    assert set(r.hkeys("pf:fx:{main}")) == {"suspend|192.0.2.10|yahoo"}      # the other effect stays
    [line] = changes(p)
    assert re.search(r" on ctl-test: shaping cancel %s: slow until \d{4}-\d\d-\d\d [\d:]+ -> none "
                     r"\(operator: gmail postmaster says fine\)$" % re.escape(SLOW), line), line
    assert {d["name"] for d in ctl.json("shaping", "list")} == {SUSPEND, DKIM}
    p = ctl.run("shaping", "cancel", SLOW)                                   # gone: nothing to cancel
    assert p.returncode == 1 and changes(p) == []
    doc = json.loads(ctl.ok("shaping", "cancel", DKIM, "--json"))
    assert doc["cancelled"] is True and doc["was"]["rule"] == "dkim-fail"
    assert not r.exists("pf:fxd:{example.com}:dkim:all:suspend") and not r.hexists("pf:fxd:{example.com}",
                                                                                  "suspend|dkim|all")


def test_cancel_also_clears_an_index_field_left_without_its_detail_key(ctl, r):
    seed(r)
    r.delete("pf:fx:{main}:192.0.2.10:yahoo:suspend")
    p = ctl.run("shaping", "cancel", SUSPEND)
    assert p.returncode == 0 and not r.hexists("pf:fx:{main}", "suspend|192.0.2.10|yahoo")
    assert "until ? -> none" in changes(p)[0]


# ---- extend ----------------------------------------------------------------------

def test_extend_sets_until_from_now_in_both_places_and_logs_the_change(ctl, r):
    now = seed(r)
    p = ctl.run("shaping", "extend", SUSPEND, "2h", "--reason", "still deferring")
    assert p.returncode == 0, p.stderr.decode()
    until = int(r.hget("pf:fx:{main}:192.0.2.10:yahoo:suspend", "until"))
    assert now + 7200 <= until <= int(time.time()) + 7200
    idx = r.hget("pf:fx:{main}", "suspend|192.0.2.10|yahoo").split()
    assert (int(idx[0]), int(idx[1]), idx[7]) == (until, until, "yahoo-ts03")
    assert 7200 <= r.ttl("pf:fx:{main}:192.0.2.10:yahoo:suspend") <= 7260
    assert "still deferring" in r.hget("pf:fx:{main}:192.0.2.10:yahoo:suspend", "extended_by")
    [line] = changes(p)
    assert re.search(r"shaping extend %s: until [\d -:]+ -> [\d -:]+ \(operator: still deferring\)$"
                     % re.escape(SUSPEND), line), line
    # a slow-down: its ramp back up starts at the new until; the index keeps its step, factor, base
    ctl.ok("shaping", "extend", SLOW, "1d")
    d = ctl.json("shaping", "show", SLOW)
    assert now + 86400 <= d["until"] <= int(time.time()) + 86400 and d["ends"] == d["until"] + 1800
    assert r.hget("pf:fx:{main}", "slow|192.0.2.0/24|gmail").split()[1:] == \
        [str(d["ends"]), "0.5000", "2", "20", "1800", "400", "gmail-rate"]
    assert 86400 + 1800 <= r.ttl("pf:fx:{main}:192.0.2.0/24:gmail:slow") <= 86400 + 1800 + 60
    assert ctl.json("shaping", "extend", DKIM, "30m")["until"] == int(r.hget("pf:fxd:{example.com}:dkim:all:suspend",
                                                                             "until"))


@pytest.mark.parametrize("duration", ["", "0", "-1h", "2x", "1.5h", "400d", "h"])
def test_bad_durations_are_usage_errors_and_change_nothing(ctl, r, duration):
    seed(r)
    before = r.hgetall("pf:fx:{main}")
    p = ctl.run("shaping", "extend", SUSPEND, duration)
    assert p.returncode == 64, (duration, p.stderr)
    assert r.hgetall("pf:fx:{main}") == before and changes(p) == []


def test_reason_is_checked_and_options_are_checked(ctl, r):
    seed(r)
    assert ctl.run("shaping", "cancel", SUSPEND, "--reason", "a\nb").returncode == 64
    assert ctl.run("shaping", "extend", SUSPEND, "1h", "--reason", "x" * 201).returncode == 64
    assert ctl.run("shaping", "list", "--reason", "x").returncode == 64
    assert ctl.run("shaping", "show").returncode == 64
    assert ctl.run("shaping", "extend", SUSPEND).returncode == 64
    assert r.exists("pf:fx:{main}:192.0.2.10:yahoo:suspend")


# ---- status and metrics -------------------------------------------------------------

def test_status_shows_the_active_effects(ctl, r):
    assert "shaping" not in ctl.ok("status")
    assert ctl.json("status")["shaping"] == []
    seed(r)
    text = ctl.ok("status")
    section = text.split("shaping effects: 3\n", 1)[1].splitlines()
    assert section[0].split() == ["EFFECT", "NOW", "RULE"]
    rows = {ln.split()[0]: ln for ln in section[1:]}
    assert set(rows) == {SLOW, SUSPEND, DKIM}
    assert "slow 100/h until" in rows[SLOW] and "suspend until" in rows[SUSPEND]
    assert {d["name"] for d in ctl.json("status")["shaping"]} == {SLOW, SUSPEND, DKIM}


def test_metrics_count_the_active_effects_per_action_and_provider(ctl, r):
    now = seed(r)
    write_effect(r, action="suspend", until=now + 60, subject="192.0.2.11", provider="yahoo")
    fams = parse_prometheus(ctl.ok("metrics"))
    fx = fams["postflow_shaping_effects"]
    assert fx["type"] == "gauge" and fx["help"]
    assert fx["samples"] == {(("action", "slow"), ("provider", "gmail")): 1,
                             (("action", "suspend"), ("provider", "yahoo")): 2,
                             (("action", "suspend"), ("provider", "all")): 1}
    doc = ctl.json("metrics")
    assert len(doc["shaping"]) == 4 and "status" in doc and "domains" in doc
    r.flushall()
    assert "postflow_shaping_effects" not in ctl.ok("metrics")


def test_effects_follow_the_key_prefix(bin_path, redis_server, lab_dir, r):
    now = int(time.time())
    write_effect(r, action="hold", until=now + 600)                       # pf: - not ours
    r.eval(writer_script(), 2, "mx:fx:{main}:192.0.2.10:gmail:hold", "mx:fx:{main}",
           "hold", str(now + 900), str(now), "1.0000", "0", "1", "r", "t", "e", str(now), "o", "192.0.2.10", "ip",
           "gmail", "q", "0", "hold|192.0.2.10|gmail")
    ctl = Ctl(bin_path("warmupctl"), lab_dir("fxprefix"), redis_server.address, prefix="mx:")
    [d] = ctl.json("shaping", "list")
    assert (d["name"], d["until"], d["key"]) == ("main/192.0.2.10/gmail/hold", now + 900,
                                                 "mx:fx:{main}:192.0.2.10:gmail:hold")
    ctl.ok("shaping", "cancel", "main/192.0.2.10/gmail/hold")
    assert not r.exists("mx:fx:{main}:192.0.2.10:gmail:hold") and r.exists("pf:fx:{main}:192.0.2.10:gmail:hold")
