"""test_warmupctl.py - warmupctl against a real redis-server.

Every command is run as the built binary (POSTFLOW_BIN) with a private
config pointing at a private redis-server (the `redis_server` fixture of
conftest.py).  The test reads and writes Redis directly with python3-redis,
spelling keys as docs/redis-keys.md documents them: that checks the tool
against the documented schema, not against its own code.

What is covered: every command; --json output parsed with json.loads;
`metrics` parsed by a strict Prometheus text-format parser written here;
CSV import of the postflow, SES and SendGrid layouts with bad rows; SCAN
(KEYS is disabled in the server); the Redis-down error; the key prefix.
"""

import csv
import json
import math
import os
import re
import socket
import subprocess
import time

import pytest

import postflow_lab as lab

POOL = "main"
IP1 = "192.0.2.10"
IP2 = "192.0.2.11"


# ---- helpers -----------------------------------------------------------------

class Ctl:
    """Runs warmupctl with a config file for one Redis."""

    def __init__(self, binary, workdir, address, prefix=None, policy="", wctl=""):
        self.binary = binary
        self.workdir = workdir
        self.conf = os.path.join(workdir, "postflow.conf")
        with open(self.conf, "w") as f:
            f.write('redis = { address = "%s";%s };\n'
                    % (address, ' key_prefix = "%s";' % prefix if prefix else ""))
            f.write('policy = { %s };\n' % policy)
            f.write('warmupctl = { node = "ctl-test"; %s };\n' % wctl)

    def run(self, *args, stdin=None, env=None):
        return subprocess.run([self.binary, "-c", self.conf] + list(args), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=env)

    def ok(self, *args, stdin=None):
        p = self.run(*args, stdin=stdin)
        assert p.returncode == 0, "warmupctl %s: exit %d\n%s" % (" ".join(args), p.returncode,
                                                                p.stderr.decode())
        return p.stdout.decode()

    def json(self, *args):
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def ctl(bin_path, redis_server, lab_dir):
    return Ctl(bin_path("warmupctl"), lab_dir("ctl"), redis_server.address)


@pytest.fixture
def r(redis_server):
    return redis_server.client(decode_responses=True)


def sup_key(addr):
    return "pf:sup:{%s}" % addr


def register_pool(r, pool=POOL, ips=(IP1, IP2)):
    """What policyd-warmup does at start: pf:pools and pf:pool:{pool}."""
    r.sadd("pf:pools", pool)
    for ip in ips:
        r.hset("pf:pool:{%s}" % pool, ip, "smtp-" + ip)


def today():
    return int(time.strftime("%Y%m%d", time.gmtime()))


# ---- a strict Prometheus text format (0.0.4) parser --------------------------

METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
VALUE_RE = re.compile(r"^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$")


def parse_prometheus(text):
    """Parse exposition text; raise AssertionError on any format violation.
    Returns {name: {"type": t, "help": h, "samples": {labels_tuple: value}}}."""
    assert text.endswith("\n"), "exposition must end with a newline"
    families = {}
    current = None
    closed = set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        assert line != "", "line %d: empty line" % n
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (\S+) (.*)$", line)
            assert m, "line %d: bad comment %r" % (n, line)
            kind, name, rest = m.groups()
            assert METRIC_RE.match(name), "line %d: bad metric name %r" % (n, name)
            if name != current:
                assert name not in closed and name not in families, \
                    "line %d: family %s not contiguous" % (n, name)
                if current is not None:
                    closed.add(current)
                current = name
                families[name] = {"type": None, "help": None, "samples": {}}
            fam = families[name]
            if kind == "HELP":
                assert fam["help"] is None, "line %d: second HELP" % n
                assert not re.search(r"\\[^\\n]", rest), "line %d: bad escape in HELP" % n
                fam["help"] = rest
            else:
                assert fam["type"] is None and not fam["samples"], "line %d: TYPE late or twice" % n
                assert rest in ("counter", "gauge", "untyped", "summary", "histogram"), rest
                fam["type"] = rest
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        assert m, "line %d: bad sample %r" % (n, line)
        name, labels, value = m.groups()
        assert name == current, "line %d: sample of %s outside its family" % (n, name)
        assert families[name]["type"] is not None, "line %d: sample before TYPE" % n
        assert VALUE_RE.match(value), "line %d: bad value %r" % (n, value)
        lab = ()
        if labels:
            body = labels[1:-1]
            pos, pairs = 0, []
            while pos < len(body):
                lm = LABEL_RE.match(body, pos)
                assert lm, "line %d: bad labels %r" % (n, labels)
                pairs.append((lm.group(1), lm.group(2)))
                pos = lm.end()
                if pos < len(body):
                    assert body[pos] == ",", "line %d: bad label separator" % n
                    pos += 1
            names = [p[0] for p in pairs]
            assert len(set(names)) == len(names), "line %d: repeated label" % n
            lab = tuple(sorted(pairs))
        assert lab not in families[name]["samples"], "line %d: duplicate series" % n
        families[name]["samples"][lab] = float(value)
    return families


def test_the_prometheus_parser_rejects_what_it_must():
    good = "# HELP a x\n# TYPE a gauge\na{l=\"v\"} 1\n"
    parse_prometheus(good)
    for bad in ["a 1",                                            # no final newline
                "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",  # family split
                "# TYPE a gauge\na{l=\"v\",l=\"w\"} 1\n",           # repeated label
                "# TYPE a gauge\na one\n",                          # bad value
                "# TYPE a gauge\na{l=\"v\"} 1\na{l=\"v\"} 2\n",     # duplicate series
                "a 1\n",                                            # sample before TYPE
                "# TYPE a-b gauge\n"]:                               # bad name
        with pytest.raises(AssertionError):
            parse_prometheus(bad)


# ---- basics --------------------------------------------------------------------

def test_help_and_version_need_no_redis(bin_path):
    p = subprocess.run([bin_path("warmupctl"), "--help"], stdout=subprocess.PIPE, timeout=10)
    assert p.returncode == 0
    for cmd in [b"status", b"ip pause", b"suppress import", b"counters", b"metrics"]:
        assert cmd in p.stdout
    p = subprocess.run([bin_path("warmupctl"), "--version"], stdout=subprocess.PIPE, timeout=10)
    assert p.returncode == 0 and p.stdout.startswith(b"warmupctl (postflow) ")


def test_usage_errors_exit_64(ctl):
    for args in [[], ["frob"], ["status", "extra"], ["status", "--limit", "3"],
                 ["suppress", "add"], ["ip", "set-stage", IP1], ["suppress", "export", "--json"]]:
        p = ctl.run(*args)
        assert p.returncode == 64, (args, p.stderr)
        assert p.stderr.startswith(b"warmupctl: ")


def test_check_and_print_config_touch_no_redis(bin_path, lab_dir):
    d = lab_dir("ctlcheck")
    conf = os.path.join(d, "ok.conf")
    with open(conf, "w") as f:                     # Redis address where nothing listens
        f.write('redis = { address = "unix:%s/none.sock"; };\nwarmupctl = { scan_count = 50; };\n' % d)
    p = subprocess.run([bin_path("warmupctl"), "-c", conf, "-n"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    p = subprocess.run([bin_path("warmupctl"), "-c", conf, "--print-config"], stdout=subprocess.PIPE, timeout=10)
    assert p.returncode == 0 and b"scan_count = 50" in p.stdout and b"none.sock" in p.stdout


def test_config_errors_exit_78(bin_path, lab_dir):
    d = lab_dir("ctlconf")
    conf = os.path.join(d, "bad.conf")
    with open(conf, "w") as f:
        f.write('warmupctl = { scan_count = 1; };\n')
    p = subprocess.run([bin_path("warmupctl"), "-c", conf, "status"], stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 78 and b"bad.conf:1" in p.stderr
    p = subprocess.run([bin_path("warmupctl"), "-c", conf, "-n"], stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 78 and b"bad.conf:1" in p.stderr
    p = subprocess.run([bin_path("warmupctl"), "-c", os.path.join(d, "missing.conf"), "status"],
                       stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 78


# ---- suppressions ----------------------------------------------------------------

def test_suppress_add_writes_the_documented_hash_lowercased(ctl, r):
    before = int(time.time())
    out = ctl.ok("suppress", "add", "John.Doe@Example.COM", "--detail", "asked by phone")
    assert "john.doe@example.com" in out
    h = r.hgetall(sup_key("john.doe@example.com"))
    assert h["reason"] == "manual" and h["source"] == "warmupctl"
    assert h["detail"] == "asked by phone"
    assert before <= int(h["time"]) <= int(time.time())
    assert r.dbsize() == 1


def test_suppress_add_replaces_an_entry_entirely(ctl, r):
    r.hset(sup_key("a@example.com"), mapping={"reason": "hard", "source": "bounce-proc", "time": "1",
                                              "detail": "5.1.1 userunknown", "queue_id": "4F2A1C"})
    doc = ctl.json("suppress", "add", "a@example.com", "--reason", "unsubscribe")
    assert doc == {"address": "a@example.com", "reason": "unsubscribe", "replaced": True}
    h = r.hgetall(sup_key("a@example.com"))
    assert h["reason"] == "unsubscribe" and "queue_id" not in h and h["detail"] == ""


def test_suppress_check_exit_status_and_json(ctl, r):
    ctl.ok("suppress", "add", "x@example.com", "--reason", "complaint")
    assert ctl.run("suppress", "check", "X@EXAMPLE.com").returncode == 0
    p = ctl.run("suppress", "check", "y@example.com")
    assert p.returncode == 1 and b"not suppressed" in p.stdout
    p = ctl.run("suppress", "check", "x@example.com", "--json")
    doc = json.loads(p.stdout)
    assert p.returncode == 0 and doc["suppressed"] is True
    assert doc["entry"]["reason"] == "complaint" and doc["entry"]["address"] == "x@example.com"
    p = ctl.run("suppress", "check", "y@example.com", "--json")
    assert p.returncode == 1 and json.loads(p.stdout) == {"address": "y@example.com", "suppressed": False}


def test_domain_entry_suppresses_every_address_of_the_domain(ctl, r):
    ctl.ok("suppress", "add", "@Spam.Example")
    assert r.exists(sup_key("@spam.example"))
    p = ctl.run("suppress", "check", "anyone@spam.example", "--json")
    assert p.returncode == 0
    assert json.loads(p.stdout)["entry"]["address"] == "@spam.example"
    assert ctl.run("suppress", "check", "anyone@ham.example").returncode == 1


def test_suppress_remove(ctl, r):
    ctl.ok("suppress", "add", "gone@example.com")
    assert json.loads(ctl.ok("suppress", "remove", "Gone@example.com", "--json"))["removed"] is True
    assert not r.exists(sup_key("gone@example.com"))
    out = ctl.ok("suppress", "remove", "gone@example.com")
    assert "was not suppressed" in out
    assert ctl.run("suppress", "check", "gone@example.com").returncode == 1


def test_removing_a_complaint_needs_force(ctl, r):
    r.hset(sup_key("angry@example.com"), mapping={"reason": "complaint", "source": "fbl-proc", "time": "1"})
    p = ctl.run("suppress", "remove", "angry@example.com")
    assert p.returncode == 1 and b"--force" in p.stderr
    assert r.hget(sup_key("angry@example.com"), "reason") == "complaint"
    assert json.loads(ctl.ok("suppress", "remove", "angry@example.com", "--force", "--json"))["removed"] is True
    assert not r.exists(sup_key("angry@example.com"))
    assert ctl.run("ip", "resume", IP1, "--force").returncode == 64   # --force belongs to suppress remove only


@pytest.mark.parametrize("bad", ["a\r\nb@example.com", "a b@example.com", "noatsign", "a@", "@",
                                 "x" * 65 + "@example.com", "a@" + "b" * 330 + ".com",
                                 "a@b@example.com", "a@ex..ample", "a\tb@example.com"])
def test_bad_addresses_are_refused_before_redis(ctl, r, bad):
    for cmd in (["suppress", "add", bad], ["suppress", "check", bad], ["suppress", "remove", bad]):
        p = ctl.run(*cmd)
        assert p.returncode == 64, (cmd, p.stderr)
        assert b"bad address" in p.stderr
        assert b"\r" not in p.stderr and p.stderr.count(b"\n") == 1
    assert r.dbsize() == 0


def test_overlong_or_control_detail_is_refused(ctl, r):
    assert ctl.run("suppress", "add", "a@example.com", "--detail", "x" * 201).returncode == 64
    assert ctl.run("suppress", "add", "a@example.com", "--detail", "a\nb").returncode == 64
    assert ctl.run("suppress", "add", "a@example.com", "--reason", "bored").returncode == 64
    assert r.dbsize() == 0


@pytest.fixture
def nokeys_ctl(bin_path, lab_dir):
    """A Redis where KEYS is disabled: warmupctl must walk the keyspace with SCAN."""
    d = lab_dir("nokeys")
    srv = lab.RedisServer(d, extra_conf=['rename-command KEYS ""']).start()
    try:
        yield Ctl(bin_path("warmupctl"), d, srv.address), srv.client(decode_responses=True)
    finally:
        srv.stop()


def test_suppress_list_uses_scan_and_filters(nokeys_ctl):
    ctl, r = nokeys_ctl
    with pytest.raises(Exception):
        r.keys("*")                                  # proves KEYS is really gone
    for i in range(1500):                            # more than one SCAN page
        reason = "hard" if i % 3 == 0 else "complaint"
        r.hset(sup_key("u%04d@example.com" % i), mapping={"reason": reason, "source": "bounce-proc",
                                                          "time": str(1700000000 + i)})
    r.set("pf:unrelated", "1")
    entries = json.loads(ctl.ok("suppress", "list", "--json"))
    assert len(entries) == 1500
    assert len({e["address"] for e in entries}) == 1500
    hard = json.loads(ctl.ok("suppress", "list", "--reason", "hard", "--json"))
    assert len(hard) == 500 and all(e["reason"] == "hard" for e in hard)
    assert len(json.loads(ctl.ok("suppress", "list", "--limit", "7", "--json"))) == 7
    table = ctl.ok("suppress", "list", "--reason", "complaint", "--limit", "3").splitlines()
    assert table[0].split() == ["ADDRESS", "REASON", "SOURCE", "TIME", "(UTC)", "DETAIL"]
    assert len(table) == 4 and all(" complaint " in row for row in table[1:])


def test_export_import_round_trip_keeps_reason_time_detail(ctl, r, lab_dir):
    tricky = 'said "stop", twice\u00e9'
    ctl.ok("suppress", "add", "a@example.com", "--detail", tricky)
    r.hset(sup_key("b@example.com"), mapping={"reason": "hard", "source": "bounce-proc",
                                              "time": "1700000000", "detail": "5.1.1 userunknown"})
    r.hset(sup_key("@c.example"), mapping={"reason": "complaint", "source": "fbl-proc", "time": "1700000001"})
    path = os.path.join(ctl.workdir, "export.csv")
    ctl.ok("suppress", "export", path)
    assert ctl.ok("suppress", "export") == open(path).read()
    rows = list(csv.DictReader(open(path, newline="")))
    assert sorted(rows[0].keys()) == ["address", "detail", "reason", "time"]
    before = {row["address"]: row for row in rows}
    assert before["a@example.com"]["detail"] == tricky
    r.flushdb()
    doc = ctl.json("suppress", "import", path)
    assert doc["format"] == "postflow"
    assert (doc["rows"], doc["imported"], doc["existing"], doc["bad"]) == (3, 3, 0, 0)
    for addr, row in before.items():
        h = r.hgetall(sup_key(addr))
        assert (h["reason"], h["time"], h["detail"]) == (row["reason"], row["time"], row["detail"])
        assert h["source"] == "import:export.csv"
    doc = ctl.json("suppress", "import", path)      # idempotent
    assert (doc["imported"], doc["existing"]) == (0, 3)
    assert not [f for f in os.listdir(ctl.workdir) if ".tmp." in f]


def write(ctl, name, text):
    path = os.path.join(ctl.workdir, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def test_import_ses_listing_with_bad_rows(ctl, r):
    path = write(ctl, "ses.csv",
                 "EmailAddress,Reason,LastUpdateTime\r\n"
                 "Bounce@SES.example,BOUNCE,2024-05-01T10:20:30.123Z\r\n"
                 "complain@ses.example,COMPLAINT,2024-05-01T12:20:30+02:00\r\n"
                 "bad address@ses.example,BOUNCE,\r\n"
                 "odd@ses.example,MAYBE,\r\n"
                 "late@ses.example,BOUNCE,not-a-time\r\n"
                 "quote@ses.example,BOU\"NCE,\r\n")
    p = ctl.run("suppress", "import", path, "--json")
    assert p.returncode == 1                       # bad rows -> 1, good rows imported
    doc = json.loads(p.stdout)
    assert (doc["format"], doc["rows"], doc["imported"], doc["bad"]) == ("ses", 6, 2, 4)
    err = p.stderr.decode()
    for line in (4, 5, 6, 7):
        assert "ses.csv:%d: " % line in err
    assert r.hget(sup_key("bounce@ses.example"), "reason") == "hard"
    assert r.hget(sup_key("bounce@ses.example"), "time") == "1714558830"
    assert r.hget(sup_key("complain@ses.example"), "reason") == "complaint"
    assert r.hget(sup_key("complain@ses.example"), "time") == "1714558830"
    assert r.dbsize() == 2


def test_import_ses_headerless_bulk_file(ctl, r):
    path = write(ctl, "ses-import.csv", "recipient1@example.com,BOUNCE\nrecipient2@example.com, COMPLAINT\n")
    out = ctl.ok("suppress", "import", path)
    assert "ses-import format, 2 rows: 2 imported" in out
    assert r.hget(sup_key("recipient2@example.com"), "reason") == "complaint"


def test_import_sendgrid_exports(ctl, r):
    bounces = write(ctl, "bounces.csv",
                    'email,created,reason,status\n'
                    '"hard@sg.example",1700000000,"550 5.1.1 ""user unknown"", sorry",5.1.1\n'
                    'block@sg.example,2024-01-02 03:04:05,"421 try later",4.0.0\n'
                    '"multi@sg.example",1700000000,"line one\nline two",5.0.0\n')
    doc = ctl.json("suppress", "import", bounces)
    assert (doc["format"], doc["rows"], doc["imported"], doc["bad"]) == ("sendgrid", 3, 3, 0)
    h = r.hgetall(sup_key("hard@sg.example"))
    assert h["reason"] == "hard" and h["time"] == "1700000000"
    assert h["detail"] == 'sendgrid 5.1.1 550 5.1.1 "user unknown", sorry'
    assert r.hget(sup_key("block@sg.example"), "reason") == "import"
    assert r.hget(sup_key("block@sg.example"), "time") == "1704164645"
    assert r.hget(sup_key("multi@sg.example"), "detail") == "sendgrid 5.0.0 line one?line two"
    spam = write(ctl, "spam.csv", "email,created,ip\nspam@sg.example,1700000000,192.0.2.1\n")
    unsub = write(ctl, "unsub.csv", "email,created\nunsub@sg.example,1700000000\n")
    ctl.ok("suppress", "import", spam)
    ctl.ok("suppress", "import", unsub)
    assert r.hget(sup_key("spam@sg.example"), "reason") == "complaint"
    assert r.hget(sup_key("unsub@sg.example"), "reason") == "unsubscribe"
    forced = write(ctl, "forced.csv", "email,created\nforced@sg.example,\n")
    ctl.ok("suppress", "import", forced, "--reason", "manual")
    assert r.hget(sup_key("forced@sg.example"), "reason") == "manual"


def test_import_of_many_rows_counts_duplicates_and_existing(ctl, r):
    r.hset(sup_key("u0007@example.com"), mapping={"reason": "complaint", "source": "fbl-proc", "time": "5"})
    rows = ["u%04d@example.com,hard,%d," % (i, 1700000000 + i) for i in range(100)]
    rows.insert(50, "U0042@Example.com,hard,1,")        # the same address again, other case
    path = write(ctl, "many.csv", "address,reason,time,detail\n" + "\n".join(rows) + "\n")
    doc = ctl.json("suppress", "import", path)
    assert (doc["rows"], doc["imported"], doc["existing"], doc["bad"]) == (101, 99, 2, 0)
    assert r.dbsize() == 100
    assert r.hget(sup_key("u0007@example.com"), "reason") == "complaint"     # left alone
    assert r.hget(sup_key("u0042@example.com"), "time") == str(1700000042)   # first one wins
    assert r.hget(sup_key("u0099@example.com"), "time") == str(1700000099)


def test_import_refuses_unknown_layout_and_missing_file(ctl, r):
    path = write(ctl, "contacts.csv", "name,phone\nalice,123\n")
    p = ctl.run("suppress", "import", path)
    assert p.returncode == 64 and b"contacts.csv:1: unrecognised header" in p.stderr
    p = ctl.run("suppress", "import", os.path.join(ctl.workdir, "nope.csv"))
    assert p.returncode == 1 and b"cannot open" in p.stderr
    assert r.dbsize() == 0


def test_import_hostile_bytes_never_crash(ctl, r):
    data = (b"address,reason,time,detail\n"
            b"ok@example.com,hard,,\"x\x00y\"\n"
            b"\xff\xfe@\x01.example,hard,,\n"
            b"\"unterminated@example.com,hard\n")
    path = os.path.join(ctl.workdir, "hostile.csv")
    with open(path, "wb") as f:
        f.write(data)
    p = ctl.run("suppress", "import", path, "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["bad"] == 3 and doc["imported"] == 0
    p = ctl.run("suppress", "import", "-", "--json", stdin=b"a@example.com,BOUNCE\n")
    assert p.returncode == 0 and json.loads(p.stdout)["imported"] == 1


# ---- IPs -------------------------------------------------------------------------

def events(r):
    return [fields for _id, fields in r.xrange("pf:events")]


def test_ip_pause_resume_write_state_and_events(ctl, r):
    register_pool(r)
    r.hset("pf:ip:{main}:" + IP1, mapping={"stage": "2", "paused": "0", "start": "20261101"})
    doc = ctl.json("ip", "pause", IP1, "--reason", "complaints from gmail")
    assert doc == {"pool": "main", "ip": IP1, "event": "pause", "from": 2, "to": 2, "was_paused": False}
    h = r.hgetall("pf:ip:{main}:" + IP1)
    assert h["paused"] == "1" and h["paused_reason"] == "operator: complaints from gmail"
    assert abs(int(h["paused_at"]) - time.time()) < 60 and h["stage"] == "2" and h["start"] == "20261101"
    ev = events(r)[-1]
    assert ev["event"] == "pause" and ev["pool"] == "main" and ev["ip"] == IP1
    assert ev["node"] == "ctl-test" and ev["reason"] == "operator: complaints from gmail"
    assert ev["from"] == "2" and ev["to"] == "2" and abs(int(ev["time"]) - time.time()) < 60
    out = ctl.ok("ip", "resume", IP1)
    assert "resumed" in out
    h = r.hgetall("pf:ip:{main}:" + IP1)
    assert h["paused"] == "0" and "paused_reason" not in h and "paused_at" not in h
    assert events(r)[-1]["event"] == "resume"
    assert "was not paused" in ctl.ok("ip", "resume", IP1)


def test_ip_set_stage_and_reset(ctl, r):
    register_pool(r)
    r.hset("pf:ip:{main}:" + IP2, mapping={"stage": "1", "paused": "1", "paused_reason": "x",
                                           "start": "20261101", "last_eval": "20261101"})
    out = ctl.ok("ip", "set-stage", IP2, "4")
    assert "stage 1 -> 4" in out
    yesterday = int(time.strftime("%Y%m%d", time.gmtime(time.time() - 86400)))
    h = r.hgetall("pf:ip:{main}:" + IP2)
    assert h["stage"] == "4" and h["stage_since"] == str(today()) and h["last_eval"] == str(yesterday)
    assert h["paused"] == "1"                      # set-stage does not resume
    ctl.ok("ip", "reset", IP2)
    h = r.hgetall("pf:ip:{main}:" + IP2)
    assert h["stage"] == "0" and h["start"] == str(today()) and h["paused"] == "0"
    assert "paused_reason" not in h
    assert [e["event"] for e in events(r)] == ["set-stage", "reset"]
    assert [(e["from"], e["to"]) for e in events(r)] == [("1", "4"), ("4", "0")]
    shown = ctl.json("events")                      # newest first, every field, the stream id
    assert [(e["event"], e["from"], e["to"], e["node"]) for e in shown] == \
        [("reset", "4", "0", "ctl-test"), ("set-stage", "1", "4", "ctl-test")]
    assert shown[0]["id"] == r.xrevrange("pf:events", count=1)[0][0]
    assert len(ctl.json("events", "--limit", "1")) == 1
    table = ctl.ok("events").splitlines()
    assert table[0].split()[:4] == ["TIME", "(UTC)", "NODE", "POOL"] and len(table) == 3
    assert table[1].split()[-4:] == ["reset", "4", "0", "operator"]


def test_ip_errors(ctl, r):
    register_pool(r)
    assert ctl.run("ip", "pause", "not-an-ip").returncode == 64
    assert ctl.run("ip", "set-stage", IP1, "-1").returncode == 64
    assert ctl.run("ip", "set-stage", IP1, "two").returncode == 64
    p = ctl.run("ip", "pause", "198.51.100.7")
    assert p.returncode == 1 and b"in no pool of this host's policy config nor of the Redis registry" in p.stderr
    r.sadd("pf:pools", "other")
    r.hset("pf:pool:{other}", IP1, "smtp-x")
    p = ctl.run("ip", "pause", IP1)
    assert p.returncode == 64 and b"several pools" in p.stderr
    assert not r.exists("pf:events")
    ctl.ok("ip", "pause", IP1, "--pool", "other")
    assert r.hget("pf:ip:{other}:" + IP1, "paused") == "1"
    assert not r.exists("pf:ip:{main}:" + IP1)
    ctl.ok("ip", "pause", "2001:DB8::1", "--pool", "v6")          # lowercased like every key value
    assert r.hget("pf:ip:{v6}:2001:db8::1", "paused") == "1"


# ---- the log line of each operator change -----------------------------------------

def _changes(p):
    return [ln for ln in p.stderr.decode().splitlines() if ": change by " in ln]


def test_each_operator_change_logs_one_line_with_who_and_old_and_new(bin_path, redis_server, lab_dir, r):
    import pwd
    ctl = Ctl(bin_path("warmupctl"), lab_dir("ctl"), redis_server.address, wctl='audit_log = "stderr";')
    env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
    uid = os.getuid()
    who = "change by %s (uid %d) on ctl-test: " % (pwd.getpwuid(uid).pw_name, uid)
    register_pool(r)
    r.hset("pf:ip:{main}:" + IP1, mapping={"stage": "1", "paused": "0"})

    def change(*args, stdin=None):
        p = ctl.run(*args, stdin=stdin, env=env)
        assert p.returncode == 0, p.stderr.decode()
        lines = _changes(p)
        assert len(lines) == 1, (args, p.stderr.decode())
        assert re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z warmupctl\[\d+\]: notice: ", lines[0]), lines[0]
        assert who in lines[0], lines[0]
        return lines[0].split(who, 1)[1]
    assert change("ip", "set-stage", IP1, "3") == \
        "ip set-stage %s (pool main): stage 1 -> 3, paused 0 -> 0 (operator)" % IP1
    assert change("ip", "pause", IP1, "--reason", "complaints from gmail") == \
        "ip pause %s (pool main): stage 3 -> 3, paused 0 -> 1 (operator: complaints from gmail)" % IP1
    assert change("ip", "resume", IP1) == "ip resume %s (pool main): stage 3 -> 3, paused 1 -> 0 (operator)" % IP1
    assert change("ip", "reset", IP1, "--reason", "new start") == \
        "ip reset %s (pool main): stage 3 -> 0, paused 0 -> 0 (operator: new start)" % IP1
    assert change("ip", "pause", IP2) == "ip pause %s (pool main): stage none -> none, paused 0 -> 1 (operator)" % IP2
    assert change("suppress", "add", "Some.One@Example.ORG") == "suppress add some.one@example.org: none -> manual"
    assert change("suppress", "add", "some.one@example.org", "--reason", "hard") == \
        "suppress add some.one@example.org: manual -> hard"
    assert change("suppress", "remove", "some.one@example.org") == "suppress remove some.one@example.org: hard -> none"
    # Reading, or removing what is not there, changes nothing and logs nothing.
    for args, code in ((("suppress", "remove", "some.one@example.org"), 0), (("suppress", "check", "x@example.org"), 1),
                       (("suppress", "list"), 0), (("status",), 0), (("events",), 0), (("counters",), 0),
                       (("metrics",), 0)):
        p = ctl.run(*args, env=env)
        assert p.returncode == code and _changes(p) == [], (args, p.returncode, p.stderr.decode())
    # An import is one line for the file, with its counts (rows could be millions).
    r.hset(sup_key("old@example.org"), mapping={"reason": "complaint", "time": "1"})
    rows = "email,reason\nnew1@example.org,hard\nnew2@example.org,hard\nold@example.org,hard\nnot-an-address,hard\n"
    p = ctl.run("suppress", "import", "-", stdin=rows.encode(), env=env)
    assert p.returncode == 1                        # one bad row
    lines = _changes(p)
    assert len(lines) == 1 and who in lines[0], p.stderr.decode()
    line = lines[0].split(who, 1)[1]
    assert line.startswith("suppress import - (") and "none -> the file's reasons for 2 address(es)" in line
    assert "4 row(s), 1 already suppressed (left as they were), 1 bad" in line, line
    # The same file again adds nothing: no line.
    p = ctl.run("suppress", "import", "-", stdin=rows.encode(), env=env)
    assert _changes(p) == []


def test_change_lines_name_the_sudo_user_and_go_nowhere_when_disabled(bin_path, redis_server, lab_dir, r):
    register_pool(r)
    ctl = Ctl(bin_path("warmupctl"), lab_dir("ctl"), redis_server.address, wctl='audit_log = "stderr";')
    env = dict(os.environ, SUDO_USER="alice\nforged line")
    p = ctl.run("suppress", "add", "a@example.org", env=env)
    assert p.returncode == 0 and len(_changes(p)) == 1
    if os.getuid() == 0:     # sudo sets SUDO_USER; it is believed (and made printable) only for root
        assert " via sudo by alice\\x0aforged line on ctl-test: " in _changes(p)[0], p.stderr.decode()
    else:
        assert "sudo" not in _changes(p)[0]
    assert len(p.stderr.decode().splitlines()) == 1
    # audit_log = "none": nothing anywhere; the default (syslog) writes nothing on stderr either.
    for setting in ('audit_log = "none";', ""):
        quiet = Ctl(bin_path("warmupctl"), lab_dir("ctl"), redis_server.address, wctl=setting)
        p = quiet.run("ip", "pause", IP1)
        assert p.returncode == 0 and p.stderr == b"", p.stderr.decode()
        assert r.hget("pf:ip:{main}:" + IP1, "paused") == "1"


# ---- status, counters, metrics ---------------------------------------------------

def seed_warmup(r):
    register_pool(r)
    now = int(time.time())
    hour = now // 3600
    r.hset("pf:ip:{main}:" + IP1, mapping={"stage": "2", "paused": "0", "start": "20261101",
                                           "stage_since": "20261120", "schedule": "default"})
    r.hset("pf:ip:{main}:" + IP2, mapping={"stage": "0", "paused": "1",
                                           "paused_reason": "complaints 0.25% > 0.10% on 20261127"})
    r.hset("pf:day:{main}:%s:%d" % (IP1, today()), mapping={"all": "1500", "msgs": "700",
                                                            "p:gmail": "900"})
    # within the last 24 hours: counted
    r.hset("pf:hl:{main}:%s:gmail:%d" % (IP1, hour), mapping={"sent": "600", "hard": "9"})
    r.hset("pf:hl:{main}:%s:gmail:%d" % (IP1, hour - 23), mapping={"sent": "400", "hard": "3",
                                                                   "soft": "5", "complaint": "1"})
    r.hset("pf:hl:{main}:%s:yahoo:%d" % (IP1, hour - 5), mapping={"sent": "1000", "soft": "25"})
    # 24 hours ago and older: not counted
    r.hset("pf:hl:{main}:%s:gmail:%d" % (IP1, hour - 24), mapping={"sent": "99999", "hard": "999"})
    r.hset("pf:metrics:mx1", mapping={"requests": "5000", "suppressed": "12", "warmup_steered": "700",
                                      "started": "1700000000", "updated": str(now)})
    r.hset("pf:metrics:mx2", mapping={"requests": "10", "redis_errors": "3", "hostname": "mx2.example"})


def test_status_table_and_json(ctl, r):
    seed_warmup(r)
    doc = ctl.json("status")
    by_ip = {row["ip"]: row for row in doc["ips"]}
    assert set(by_ip) == {IP1, IP2} and doc["day"] == today()
    a = by_ip[IP1]
    assert (a["pool"], a["stage"], a["state"], a["used"], a["messages"]) == ("main", 2, "warming", 1500, 700)
    assert (a["sent_24h"], a["hard_24h"], a["soft_24h"], a["complaints_24h"]) == (2000, 12, 30, 1)
    assert math.isclose(a["hard_rate"], 0.006) and math.isclose(a["complaint_rate"], 0.0005)
    assert a["providers"]["gmail"] == {"sent_24h": 1000, "hard_24h": 12, "soft_24h": 5, "complaints_24h": 1,
                                       "delivered_24h": 0, "deferred_24h": 0, "rejected_24h": 0}
    assert a["deferral_rate"] is None            # no delivery answers counted (maillog-tap not running)
    assert a["providers"]["yahoo"]["soft_24h"] == 25
    assert a["transport"] == "smtp-" + IP1 and a["schedule"] == "default"
    b = by_ip[IP2]
    assert b["state"] == "paused" and b["paused_reason"].startswith("complaints 0.25%")
    assert b["sent_24h"] == 0 and b["hard_rate"] is None
    lines = ctl.ok("status").splitlines()
    assert lines[0].split() == ["POOL", "IP", "STAGE", "CAP", "USED", "LEFT", "SENT24H", "HARD%",
                                "SOFT%", "COMPL%", "DEFER%", "STATE"]
    row1 = lines[1].split()
    assert row1[:3] == ["main", IP1, "2"] and row1[4] == "1500" and row1[6:] == ["2000", "0.60", "1.50",
                                                                                "0.05", "-", "warming"]
    assert lines[2].split()[-1] == "paused"


def test_status_with_no_pools(ctl):
    assert "no pools registered" in ctl.ok("status")
    assert ctl.json("status")["ips"] == []
    assert ctl.ok("events") == "no events\n" and ctl.json("events") == []


def test_ip_commands_find_the_pool_in_the_policy_config(bin_path, redis_server, lab_dir, r):
    ctl = Ctl(bin_path("warmupctl"), lab_dir("cfgpool"), redis_server.address, policy=POLICY)
    ctl.ok("ip", "pause", "198.51.100.9")            # in the config, not (yet) in Redis's registry
    assert r.hget("pf:ip:{main}:198.51.100.9", "paused") == "1"
    r.sadd("pf:pools", "second")
    r.hset("pf:pool:{second}", IP1, "smtp-x")        # the registry says IP1 is in another pool too
    p = ctl.run("ip", "pause", IP1)
    assert p.returncode == 64 and b"several pools (main, second)" in p.stderr


def test_status_reads_the_providers_of_the_policy_config(bin_path, redis_server, lab_dir, r):
    ctl = Ctl(bin_path("warmupctl"), lab_dir("prov"), redis_server.address,
              policy='providers = ( { name = "gmail"; domains = [ "gmail.com" ]; },'
                     '              { name = "gmx"; domains = [ "gmx.de", "gmx.net" ]; } );')
    seed_warmup(r)
    r.hset("pf:hl:{main}:%s:gmx:%d" % (IP1, int(time.time()) // 3600), "sent", "7")
    a = [row for row in ctl.json("status")["ips"] if row["ip"] == IP1][0]
    assert sorted(a["providers"]) == ["gmail", "gmx", "other"] and a["providers"]["gmx"]["sent_24h"] == 7
    assert a["sent_24h"] == 1007                   # yahoo is not a provider here: its hash is not read


POLICY = ('warmup = { smoothing_hours = 0;'
          '  schedules = ( { name = "std"; caps = "100, 500, 2000, 10000"; } );'
          '  pools = ( { name = "main"; sender_domains = [ "example.com" ];'
          '              ips = ( { address = "%s"; schedule = "std"; },'
          '                      { address = "%s"; schedule = "std"; },'
          '                      { address = "198.51.100.9"; } ); } ); };' % (IP1, IP2))


def test_status_caps_come_from_the_policy_schedules(bin_path, redis_server, lab_dir, r):
    ctl = Ctl(bin_path("warmupctl"), lab_dir("caps"), redis_server.address, policy=POLICY)
    seed_warmup(r)
    rows = {row["ip"]: row for row in ctl.json("status")["ips"]}
    a = rows[IP1]                                   # stage 2 of 100, 500, 2000, 10000
    assert (a["cap"], a["used"], a["left"], a["budget_now"], a["configured"]) == (2000, 1500, 500, 2000, True)
    assert (rows[IP2]["cap"], rows[IP2]["left"]) == (100, 100)
    warm = rows["198.51.100.9"]                     # in the config only, no schedule: warm
    assert (warm["cap"], warm["state"], warm["stage"], warm["transport"]) == \
        ("unlimited", "warm", None, "smtp-198.51.100.9")
    r.hset("pf:ip:{main}:" + IP1, "stage", "4")     # past the last stage: unlimited
    rows = {row["ip"]: row for row in ctl.json("status")["ips"]}
    assert rows[IP1]["cap"] == "unlimited" and rows[IP1]["state"] == "warm"
    table = ctl.ok("status").splitlines()
    assert [line.split()[1] for line in table[1:]] == [IP1, IP2, "198.51.100.9"]
    assert table[2].split()[3:6] == ["100", "0", "100"]
    fams = parse_prometheus(ctl.ok("metrics"))
    caps = fams["postflow_warmup_ip_cap"]["samples"]
    assert caps[(("ip", IP2), ("pool", "main"))] == 100
    assert math.isinf(caps[(("ip", IP1), ("pool", "main"))])


def test_bad_policy_section_is_a_config_error(bin_path, redis_server, lab_dir):
    ctl = Ctl(bin_path("warmupctl"), lab_dir("badpol"), redis_server.address,
              policy='warmup = { pools = ( { name = "p"; ips = ( { address = "192.0.2.1"; '
                     'schedule = "missing"; } ); } ); };')
    p = ctl.run("status")
    assert p.returncode == 78 and b"missing" in p.stderr


def test_metrics_is_valid_prometheus_text(ctl, r):
    seed_warmup(r)
    text = ctl.ok("metrics")
    fams = parse_prometheus(text)
    assert fams["postflow_warmup_ip_stage"]["type"] == "gauge"
    assert fams["postflow_warmup_ip_stage"]["samples"][(("ip", IP1), ("pool", "main"))] == 2
    assert fams["postflow_warmup_ip_paused"]["samples"][(("ip", IP2), ("pool", "main"))] == 1
    assert fams["postflow_warmup_ip_used_today"]["samples"][(("ip", IP1), ("pool", "main"))] == 1500
    sent = fams["postflow_warmup_sent_24h"]["samples"]
    assert sent[(("ip", IP1), ("pool", "main"), ("provider", "gmail"))] == 1000
    assert sent[(("ip", IP1), ("pool", "main"), ("provider", "yahoo"))] == 1000
    assert fams["postflow_warmup_hard_bounces_24h"]["samples"][
        (("ip", IP1), ("pool", "main"), ("provider", "gmail"))] == 12
    req = fams["postflow_policyd_requests_total"]
    assert req["type"] == "counter"
    assert req["samples"] == {(("node", "mx1"),): 5000, (("node", "mx2"),): 10}
    assert fams["postflow_policyd_redis_errors_total"]["samples"] == {(("node", "mx2"),): 3}
    assert fams["postflow_policyd_started_timestamp_seconds"]["type"] == "gauge"
    assert not any("hostname" in name for name in fams)          # not a number: not a metric
    assert abs(fams["postflow_warmupctl_collected_timestamp_seconds"]["samples"][()] - time.time()) < 60
    for name, fam in fams.items():
        assert name.startswith("postflow_") and fam["help"], name


def test_metrics_file_for_the_textfile_collector_and_json(ctl, r):
    seed_warmup(r)
    path = os.path.join(ctl.workdir, "postflow.prom")
    assert ctl.ok("metrics", path) == ""
    parse_prometheus(open(path).read())
    assert not [f for f in os.listdir(ctl.workdir) if ".tmp." in f]
    doc = ctl.json("metrics")
    assert doc["nodes"]["mx1"]["requests"] == 5000
    assert {row["ip"] for row in doc["status"]["ips"]} == {IP1, IP2}


def test_metrics_label_values_are_escaped(ctl, r):
    r.sadd("pf:pools", 'we"ird\\pool')
    r.hset('pf:pool:{we"ird\\pool}', IP1, "smtp-x")
    fams = parse_prometheus(ctl.ok("metrics"))
    keys = list(fams["postflow_warmup_ip_used_today"]["samples"])
    assert keys == [(("ip", IP1), ("pool", 'we\\"ird\\\\pool'))]


def test_counters_show_raw_keys(ctl, r):
    seed_warmup(r)
    ctl.ok("suppress", "add", "a@example.com")
    ctl.ok("ip", "pause", IP1)
    doc = ctl.json("counters")
    keys = {e["key"]: e for e in doc}
    assert keys["pf:day:{main}:%s:%d" % (IP1, today())]["value"]["all"] == "1500"
    assert keys["pf:pools"]["type"] == "set" and keys["pf:pools"]["value"] == ["main"]
    assert keys["pf:events"]["value"] == {"length": 1}
    assert sup_key("a@example.com") not in keys                  # suppressions only on request
    assert [e["key"] for e in doc] == sorted(e["key"] for e in doc)
    day = ctl.json("counters", "day:*")
    assert [e["key"] for e in day] == ["pf:day:{main}:%s:%d" % (IP1, today())]
    sup = ctl.json("counters", "sup:*")
    assert [e["key"] for e in sup] == [sup_key("a@example.com")]
    text = ctl.ok("counters", "metrics:*")
    assert "pf:metrics:mx1  hash" in text and "    requests = 5000" in text
    assert len(ctl.json("counters", "--limit", "2")) == 2
    assert ctl.run("counters", "bad pattern").returncode == 64


def test_key_prefix_is_honoured(bin_path, redis_server, lab_dir, r):
    ctl = Ctl(bin_path("warmupctl"), lab_dir("pfx"), redis_server.address, prefix="t1:")
    ctl.ok("suppress", "add", "a@example.com")
    assert r.exists("t1:sup:{a@example.com}") and not r.exists(sup_key("a@example.com"))
    r.hset(sup_key("other@example.com"), "reason", "hard")      # another installation's entry
    assert [e["address"] for e in ctl.json("suppress", "list")] == ["a@example.com"]
    assert [e["key"] for e in ctl.json("counters")] == []
    odd = Ctl(bin_path("warmupctl"), lab_dir("pfx2"), redis_server.address, prefix="t[2]*:")
    r.set("t2x:stranger", "1")                                  # would match an unescaped glob
    odd.ok("suppress", "add", "b@example.com")
    assert [e["key"] for e in odd.json("counters", "*")] == ["t[2]*:sup:{b@example.com}"]


# ---- Redis unreachable -----------------------------------------------------------

READ_AND_WRITE = [["status"], ["metrics"], ["counters"], ["suppress", "list"], ["suppress", "export"],
                  ["suppress", "check", "a@example.com"], ["suppress", "add", "a@example.com"],
                  ["suppress", "remove", "a@example.com"], ["ip", "pause", IP1]]


def test_redis_down_gives_clear_error_and_75(ctl, redis_server):
    redis_server.kill()
    for args in READ_AND_WRITE:
        p = ctl.run(*args)
        assert p.returncode == 75, args
        assert p.stdout == b""
        assert p.stderr.decode().startswith("warmupctl: cannot reach Redis at %s: " % redis_server.address)


def test_redis_refusing_connections(bin_path, lab_dir):
    with socket.socket() as s:                     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = Ctl(bin_path("warmupctl"), lab_dir("refused"), "127.0.0.1:%d" % port)
    p = ctl.run("status")
    assert p.returncode == 75
    assert p.stderr.decode() == "warmupctl: cannot reach Redis at 127.0.0.1:%d: Connection refused\n" % port
    # a unix socket file with nobody behind it
    path = os.path.join(ctl.workdir, "dead.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
    ctl = Ctl(bin_path("warmupctl"), ctl.workdir, "unix:" + path)
    p = ctl.run("suppress", "check", "a@example.com")
    assert p.returncode == 75
    assert p.stderr.decode() == "warmupctl: cannot reach Redis at unix:%s: Connection refused\n" % path


# ---- end to end with the real policyd-warmup ----------------------------------------

E2E_CONF = """
redis = { address = "%s"; };
policy = {
  node_name = "mx-e2e";
  warmup = {
    smoothing_hours = 0;
    schedules = ( { name = "std"; caps = "3, 10"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; } ); } );
  };
};
warmupctl = { node = "ops"; };
"""


@pytest.fixture
def e2e(bin_path, redis_server, lab_dir):
    """One postflow.conf shared by a running policyd-warmup and warmupctl."""
    from policyd_lab import Policyd
    d = lab_dir("e2e")
    pd = Policyd(bin_path("policyd-warmup"), d, E2E_CONF % redis_server.address).start()
    ctl = Ctl(bin_path("warmupctl"), d, redis_server.address)
    ctl.conf = pd.conf_path                        # the very same file
    try:
        yield pd, ctl
    finally:
        pd.stop()


def test_suppression_by_warmupctl_is_rejected_by_the_daemon_at_rcpt(e2e, lab_dir):
    from policyd_lab import rcpt
    pd, ctl = e2e
    assert pd.ask(**rcpt("Target@Example.org")) == "DUNNO"
    ctl.ok("suppress", "add", "TARGET@example.ORG", "--detail", "asked to stop")
    answer = pd.ask(**rcpt("Target@Example.org"))
    assert answer.startswith("550 5.1.1 ") and "added by an operator" in answer
    ctl.ok("suppress", "remove", "target@example.org")
    assert pd.ask(**rcpt("Target@Example.org")) == "DUNNO"
    ctl.ok("suppress", "add", "@closed.example")
    assert pd.ask(**rcpt("anyone@closed.example")).startswith("550 5.1.1 ")
    path = write(ctl, "ses.csv", "bounced@example.net,BOUNCE\n")
    ctl.ok("suppress", "import", path)
    answer = pd.ask(**rcpt("bounced@example.net"))
    assert answer.startswith("550 5.1.1 ") and "hard bounce" in answer


def test_ip_pause_by_warmupctl_stops_the_daemon_steering_and_status_shows_its_counts(e2e):
    from policyd_lab import eom
    pd, ctl = e2e
    assert pd.ask(**eom("Q1", recipient_count=2)) == "FILTER smtp-127.0.0.2:"
    row = ctl.json("status")["ips"][0]
    assert (row["ip"], row["stage"], row["cap"], row["used"], row["left"], row["messages"]) == \
        ("127.0.0.2", 0, 3, 2, 1, 1)
    assert row["sent_24h"] == 2 and row["state"] == "warming"
    ctl.ok("ip", "pause", "127.0.0.2", "--reason", "e2e")
    answer = pd.ask(**eom("Q2"))
    assert answer.startswith("DEFER_IF_PERMIT 4.7.1"), answer
    assert ctl.json("status")["ips"][0]["state"] == "paused"
    ctl.ok("ip", "resume", "127.0.0.2")
    assert pd.ask(**eom("Q3")) == "FILTER smtp-127.0.0.2:"
    assert pd.ask(**eom("Q4")).startswith("DEFER_IF_PERMIT 4.7.1")   # cap of 3 reached
    ctl.ok("ip", "set-stage", "127.0.0.2", "1")                        # operator raises it to 10
    assert pd.ask(**eom("Q5")) == "FILTER smtp-127.0.0.2:"
    kinds = [e["event"] for e in events(ctl_redis(e2e))]
    assert kinds[-3:] == ["pause", "resume", "set-stage"]


def ctl_redis(e2e):
    import redis as redis_py
    pd, ctl = e2e
    path = open(pd.conf_path).read().split('address = "unix:')[1].split('"')[0]
    return redis_py.Redis(unix_socket_path=path, decode_responses=True)


def test_metrics_include_the_running_daemons_counters(e2e):
    from policyd_lab import rcpt
    pd, ctl = e2e
    for i in range(3):
        pd.ask(**rcpt("m%d@example.org" % i))

    def exported():
        fams = parse_prometheus(ctl.ok("metrics"))
        fam = fams.get("postflow_policyd_requests_total", {"samples": {}})
        return fam["samples"].get((("node", "mx-e2e"),), 0) >= 3
    assert lab.wait_until(exported, 25, interval=0.5), ctl.ok("counters", "metrics:*")


def test_redis_password(bin_path, lab_dir):
    d = lab_dir("auth")
    srv = lab.RedisServer(d, password="s3cret").start()
    try:
        good = Ctl(bin_path("warmupctl"), d, srv.address)
        conf = 'redis = { address = "%s"; password = "%s"; };\n'
        with open(good.conf, "w") as f:
            f.write(conf % (srv.address, "s3cret"))
        good.ok("suppress", "add", "a@example.com")
        assert srv.client(decode_responses=True).hget(sup_key("a@example.com"), "reason") == "manual"
        with open(good.conf, "w") as f:
            f.write(conf % (srv.address, "wrong"))
        p = good.run("status")
        assert p.returncode == 78                  # retrying cannot help: a config problem
        assert p.stderr.startswith(b"warmupctl: Redis at %s: AUTH refused" % srv.address.encode())
    finally:
        srv.stop()


# ---- complaint rates per sender domain (pf:dh:) -------------------------------------

def seed_domains(r, hour):
    """pf:dh:{domain}:provider:hour as docs/redis-keys.md documents it (policyd-warmup writes
    sent, fbl-proc complaint, bounce-proc hard/soft)."""
    r.hset("pf:dh:{news.example.com}:gmail:%d" % hour, mapping={"sent": "10000", "complaint": "5", "hard": "7"})
    r.hset("pf:dh:{news.example.com}:gmail:%d" % (hour - 23), mapping={"complaint": "10"})   # 15 / 10000
    r.hset("pf:dh:{news.example.com}:gmail:%d" % (hour - 24), mapping={"sent": "1", "complaint": "999"})
    r.hset("pf:dh:{news.example.com}:yahoo:%d" % (hour - 2), mapping={"sent": "1000", "complaint": "3"})
    r.hset("pf:dh:{news.example.com}:microsoft:%d" % (hour - 1), mapping={"sent": "2000", "complaint": "1"})
    r.hset("pf:dh:{from.example.org}:gmail:%d" % hour, mapping={"complaint": "2"})          # no sent here
    r.hset("pf:dh:{news.example.com}:gmail:%d" % (hour + 1), mapping={"sent": "5"})         # not yet
    r.hset("pf:hl:{main}:%s:gmail:%d" % (IP1, hour), mapping={"sent": "600"})                # not a domain key
    # enough other domains that the keys span several SCAN pages and Lua chunks
    for i in range(400):
        r.hset("pf:dh:{d%03d.example.net}:other:%d" % (i, hour - i % 24), mapping={"sent": "100"})


def test_domain_complaint_rates_in_status_and_metrics_through_scan(nokeys_ctl):
    ctl, r = nokeys_ctl
    hour = int(time.time()) // 3600
    seed_domains(r, hour)
    doc = ctl.json("status")
    rows = {(d["domain"], d["provider"]): d for d in doc["domains"]}
    assert len(rows) == 3 + 1 + 400
    g = rows[("news.example.com", "gmail")]
    assert (g["sent_24h"], g["complaints_24h"], g["hard_24h"]) == (10000, 15, 7)
    assert math.isclose(g["complaint_rate"], 0.0015) and g["level"] == "warn"     # 0.15 %: over 0.1 %
    y = rows[("news.example.com", "yahoo")]
    assert math.isclose(y["complaint_rate"], 0.003) and y["level"] == "over"      # 0.3 %: the limit
    m = rows[("news.example.com", "microsoft")]
    assert m["level"] == "ok"                                                     # 0.05 %
    f = rows[("from.example.org", "gmail")]
    assert (f["sent_24h"], f["complaints_24h"], f["complaint_rate"], f["level"]) == (0, 2, None, None)
    assert all(rows[("d%03d.example.net" % i, "other")]["sent_24h"] == 100 for i in range(400))
    assert doc["ips"] == []
    text = ctl.ok("status")
    lines = text.splitlines()
    head = [i for i, line in enumerate(lines) if line.split()[:2] == ["DOMAIN", "PROVIDER"]]
    assert len(head) == 1 and "0.1 %" in lines[head[0] - 1] and "0.3 %" in lines[head[0] - 1]
    table = {tuple(line.split()[:2]): line.split()[2:] for line in lines[head[0] + 1:]}
    assert table[("news.example.com", "gmail")] == ["10000", "15", "0.15", "warn"]
    assert table[("news.example.com", "yahoo")] == ["1000", "3", "0.30", "over"]
    assert table[("from.example.org", "gmail")] == ["0", "2", "-", "-"]
    fams = parse_prometheus(ctl.ok("metrics"))
    sent = fams["postflow_domain_sent_24h"]
    compl = fams["postflow_domain_complaints_24h"]
    assert sent["type"] == compl["type"] == "gauge"
    key = (("domain", "news.example.com"), ("provider", "gmail"))
    assert sent["samples"][key] == 10000 and compl["samples"][key] == 15
    assert compl["samples"][(("domain", "from.example.org"), ("provider", "gmail"))] == 2
    assert len(sent["samples"]) == 404
    mdoc = ctl.json("metrics")
    assert {(d["domain"], d["provider"]) for d in mdoc["domains"]} == set(rows)
    assert "inbound" in mdoc and "nodes" in mdoc


def test_no_domain_keys_no_domain_table(ctl, r):
    seed_warmup(r)
    assert "DOMAIN" not in ctl.ok("status")
    assert ctl.json("status")["domains"] == []
    assert "postflow_domain_" not in ctl.ok("metrics")


def test_domain_keys_follow_the_key_prefix(bin_path, redis_server, lab_dir, r):
    hour = int(time.time()) // 3600
    r.hset("mx:dh:{example.com}:gmail:%d" % hour, mapping={"sent": "300", "complaint": "1"})
    r.hset("pf:dh:{example.com}:gmail:%d" % hour, mapping={"sent": "7"})
    ctl = Ctl(bin_path("warmupctl"), lab_dir("dhprefix"), redis_server.address, prefix="mx:")
    [d] = ctl.json("status")["domains"]
    assert (d["domain"], d["sent_24h"], d["complaints_24h"], d["level"]) == ("example.com", 300, 1, "over")
