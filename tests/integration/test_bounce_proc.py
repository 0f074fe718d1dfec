"""test_bounce_proc.py - bounce-proc as the pipe command and in batch mode,
against a real redis-server.

The bounces are built here as real mail (RFC 3464 DSNs in the layout Postfix
writes, an Exim text bounce), their returned originals carrying an
X-Postflow-Trace header whose MAC this file computes itself with Python's
hmac module from docs/trace-header.md - so verification is checked against
the documented format, not against our own C code.  Redis is read and
written with python3-redis, spelling keys as docs/redis-keys.md documents
them.

Covered: a verified hard bounce suppresses, counts pf:hl: and pf:dh:, and
streams; the same report twice acts once; a forged or untraced bounce
changes nothing but the stream; stronger suppressions are never weakened;
soft bounces escalate into an expiring suppression; our-own-fault answers
alert and never suppress; delay warnings count soft and never suppress;
unreadable mail is quarantined (exit 0) and a quarantine that cannot be
written exits 75; Redis down exits 75 and the retry then works; batch runs
over a directory and an mbox print a summary and re-runs count nothing
twice; usage and configuration errors exit 64 and 78; Exim's environment.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time

import pytest

SECRET = b"bounce-proc-test-secret-0123456789"
KEY_ID = "k1"
POOL = "main"
IP = "192.0.2.10"
SENDER_DOMAIN = "news.example.org"


def trace_value(qid, t=None, domain=SENDER_DOMAIN, secret=SECRET, key_id=KEY_ID):
    t = int(time.time()) if t is None else t
    base = "v=1; k=%s; q=%s; t=%d; d=%s;" % (key_id, qid, t, domain)
    mac = hmac.new(secret, base.encode(), hashlib.sha256).digest()[:16]
    return base + " m=" + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def dsn(rcpt, status="5.1.1", diag="550 5.1.1 <{r}>: Recipient address rejected: User unknown in local "
        "recipient table", action="failed", qid="4dQx1p2Wz3", trace=True, msgid=None, forged=False):
    """A DSN as Postfix writes it (multipart/report, three parts)."""
    tv = trace_value(qid, secret=b"not-our-secret-xxxxxxxxxxxxxxxx" if forged else SECRET)
    msgid = msgid or "<%s.%d@%s>" % (qid, int(time.time() * 1e6), SENDER_DOMAIN)
    return ("""Return-Path: <>
From: MAILER-DAEMON@mx.receiver.example (Mail Delivery System)
To: bounces@bounce.example.org
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"
Message-Id: <20261203.{qid}@mx.receiver.example>

--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.receiver.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host mx.example.net[192.0.2.99] said: {diag} (in reply to RCPT TO command)

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.receiver.example
X-Postfix-Queue-ID: 5ABCDEF
Arrival-Date: Thu,  3 Dec 2026 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diag}

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bounces@bounce.example.org>
Received: from app.example.org (app.example.org [192.0.2.1])
\tby out.example.org (Postfix) with ESMTPS id {qid}
\tfor <{rcpt}>; Thu,  3 Dec 2026 08:59:00 +0000 (UTC)
{trace}From: News <news@{sd}>
To: <{rcpt}>
Subject: Our December news
Message-ID: {msgid}

--B1--
""".replace("{diag}", diag.replace("{r}", rcpt)).replace("{rcpt}", rcpt).replace("{status}", status)
            .replace("{action}", action).replace("{qid}", qid).replace("{msgid}", msgid)
            .replace("{sd}", SENDER_DOMAIN)
            .replace("{trace}", "X-Postflow-Trace: %s\n" % tv if trace else "")).encode()


class BounceProc:
    def __init__(self, binary, workdir, redis_server, extra="", quarantine=None):
        self.binary = binary
        self.workdir = workdir
        secret = os.path.join(workdir, "trace.secret")
        with open(secret, "wb") as f:
            f.write(SECRET + b"\n")
        os.chmod(secret, 0o600)
        self.quarantine = quarantine or os.path.join(workdir, "quarantine")
        if quarantine is None:
            os.mkdir(self.quarantine)
        self.conf = os.path.join(workdir, "postflow.conf")
        self.redis_server, self.secret = redis_server, secret
        self.configure(extra)

    def configure(self, extra=""):
        """(Re)writes the config; EXTRA goes into the bounce section."""
        with open(self.conf, "w") as f:
            f.write(self.redis_server.redis_conf())
            f.write('trace = { key_id = "%s"; secret_file = "%s"; };\n' % (KEY_ID, self.secret))
            f.write('bounce = { quarantine_dir = "%s"; %s };\n' % (self.quarantine, extra))
            f.write('log = { level = "info"; };\n')

    def run(self, *args, stdin=b"", env=None, conf=True):
        argv = [self.binary] + (["-f", "-c", self.conf] if conf else []) + list(args)
        return subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60, env=env)

    def pipe(self, msg, *args):
        """As master.cf's pipe runs it: argv = ${sender} ${recipient}."""
        p = self.run("--json", "", "bounces@bounce.example.org", *args, stdin=msg)
        assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr.decode())
        return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


@pytest.fixture
def bp(bin_path, lab_dir, redis_server):
    return BounceProc(bin_path("bounce-proc"), lab_dir("bounce"), redis_server)


def attribution(r, qid, provider="gmail"):
    r.hset("pf:q:{%s}" % qid, mapping={"ip": IP, "pool": POOL, "provider": provider,
                                       "sender_domain": SENDER_DOMAIN, "sender": "bounces@bounce.example.org",
                                       "rcpts": "1", "time": str(int(time.time()))})


def hour():
    return int(time.time()) // 3600


def health(r, provider="gmail"):
    return {k.decode(): int(v) for k, v in r.hgetall("pf:hl:{%s}:%s:%s:%d" % (POOL, IP, provider, hour())).items()}


def stream(r, name="pf:bounces"):
    return [{k.decode(): v.decode() for k, v in e[1].items()} for e in r.xrange(name)]


# ---- the pipe command --------------------------------------------------------------------------

def test_verified_hard_bounce_suppresses_counts_and_streams(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    lines = bp.pipe(dsn("gone@gmail.com"))
    assert len(lines) == 1
    j = lines[0]
    assert (j["type"], j["recipient"], j["status"], j["class"], j["category"]) == \
        ("bounce", "gone@gmail.com", "5.1.1", "hard", "userunknown")
    assert j["verified"] is True and j["verified_by"] == "trace"
    assert j["sending_ip"] == IP and j["provider"] == "gmail" and j["why"]
    sup = {k.decode(): v.decode() for k, v in r.hgetall("pf:sup:{gone@gmail.com}").items()}
    assert sup["reason"] == "hard" and sup["source"] == "bounce-proc"
    assert sup["detail"] == "5.1.1 userunknown" and sup["queue_id"] == "4dQx1p2Wz3" and sup["ip"] == IP
    assert r.ttl("pf:sup:{gone@gmail.com}") == -1          # hard suppressions do not expire
    assert health(r) == {"hard": 1}
    assert 0 < r.ttl("pf:hl:{%s}:%s:gmail:%d" % (POOL, IP, hour())) <= 691200
    dh = r.hgetall("pf:dh:{%s}:gmail:%d" % (SENDER_DOMAIN, hour()))
    assert dh == {b"hard": b"1"}
    s = stream(r)
    assert len(s) == 1 and s[0]["recipient"] == "gone@gmail.com" and s[0]["verified"] == "1"
    assert s[0]["action"] == "hard" and s[0]["category"] == "userunknown"


def test_same_report_twice_acts_once(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    msg = dsn("gone@gmail.com")
    bp.pipe(msg)
    p = bp.run("", "bounces@bounce.example.org", stdin=msg)
    assert p.returncode == 0
    assert b"seen before" in p.stderr
    assert health(r) == {"hard": 1}
    assert len(stream(r)) == 1


def test_forged_and_untraced_bounces_change_nothing_but_the_stream(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    forged = bp.pipe(dsn("victim@gmail.com", forged=True))
    untraced = bp.pipe(dsn("victim2@gmail.com", trace=False))
    assert forged[0]["verified"] is False and untraced[0]["verified"] is False
    assert not r.exists("pf:sup:{victim@gmail.com}") and not r.exists("pf:sup:{victim2@gmail.com}")
    assert health(r) == {}
    assert [e["verified"] for e in stream(r)] == ["0", "0"]


def test_accept_unverified_acts_on_untraced_bounces(bin_path, lab_dir, redis_server):
    bp = BounceProc(bin_path("bounce-proc"), lab_dir("bounce"), redis_server, extra="accept_unverified = true;")
    r = redis_server.client()
    bp.pipe(dsn("gone@example.net", trace=False))
    assert r.hget("pf:sup:{gone@example.net}", "reason") == b"hard"


def test_a_stronger_suppression_is_never_weakened(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    r.hset("pf:sup:{angry@gmail.com}", mapping={"reason": "complaint", "source": "fbl-proc", "time": "1"})
    bp.pipe(dsn("angry@gmail.com"))
    assert r.hget("pf:sup:{angry@gmail.com}", "reason") == b"complaint"
    assert r.hget("pf:sup:{angry@gmail.com}", "source") == b"fbl-proc"
    assert health(r) == {"hard": 1}                        # the bounce still counts


def test_soft_bounces_escalate_into_an_expiring_suppression(bin_path, lab_dir, redis_server):
    bp = BounceProc(bin_path("bounce-proc"), lab_dir("bounce"), redis_server,
                    extra='soft_escalate = ( { category = "mailboxfull"; count = 3; span = 0; } ); '
                          'soft_suppress_ttl = "7d";')
    r = redis_server.client()
    full = "552 5.2.2 <{r}>: Mailbox full, quota exceeded"
    for i in range(3):
        qid = "Q%d" % i
        attribution(r, qid)
        j = bp.pipe(dsn("full@gmail.com", status="5.2.2", diag=full, qid=qid))[0]
        assert (j["class"], j["category"]) == ("soft", "mailboxfull")
        if i < 2:
            assert not r.exists("pf:sup:{full@gmail.com}")
            assert int(r.hget("pf:sb:{full@gmail.com}", "n")) == i + 1
    sup = {k.decode(): v.decode() for k, v in r.hgetall("pf:sup:{full@gmail.com}").items()}
    assert sup["reason"] == "soft" and sup["category"] == "mailboxfull" and sup["status"] == "5.2.2"
    assert sup["detail"].startswith("3 soft bounces (mailboxfull)") and sup["why"]
    assert 6 * 86400 < r.ttl("pf:sup:{full@gmail.com}") <= 7 * 86400
    assert not r.exists("pf:sb:{full@gmail.com}")
    assert health(r) == {"soft": 3}
    # a later hard bounce makes it permanent
    attribution(r, "Q9")
    bp.pipe(dsn("full@gmail.com", qid="Q9"))
    assert r.hget("pf:sup:{full@gmail.com}", "reason") == b"hard"
    assert r.ttl("pf:sup:{full@gmail.com}") == -1


def test_soft_escalation_needs_its_span(bin_path, lab_dir, redis_server):
    bp = BounceProc(bin_path("bounce-proc"), lab_dir("bounce"), redis_server,
                    extra='soft_escalate = ( { category = "mailboxfull"; count = 2; span = "3d"; } );')
    r = redis_server.client()
    for i in range(4):
        attribution(r, "S%d" % i)
        bp.pipe(dsn("full@gmail.com", status="4.2.2", diag="452 4.2.2 Mailbox full", qid="S%d" % i))
    assert not r.exists("pf:sup:{full@gmail.com}")         # four in a minute are not three days
    assert int(r.hget("pf:sb:{full@gmail.com}", "n")) == 4


def test_default_escalation_waits_72_hours_and_other_soft_categories_never_escalate(bp, redis_server):
    r = redis_server.client()
    for i in range(5):
        attribution(r, "F%d" % i)
        bp.pipe(dsn("full@gmail.com", status="5.2.2", diag="552 5.2.2 Mailbox full", qid="F%d" % i))
        bp.pipe(dsn("spam@gmail.com", status="5.7.1", diag="550 5.7.1 Message rejected as spam", qid="F%d" % i))
    assert int(r.hget("pf:sb:{full@gmail.com}", "n")) == 5
    assert not r.exists("pf:sup:{full@gmail.com}")         # five within a minute: not 72 hours
    # the first of them three days ago (as if): the next one escalates
    r.hset("pf:sb:{full@gmail.com}", "first", int(time.time()) - 73 * 3600)
    attribution(r, "F9")
    bp.pipe(dsn("full@gmail.com", status="5.2.2", diag="552 5.2.2 Mailbox full", qid="F9"))
    assert r.hget("pf:sup:{full@gmail.com}", "reason") == b"soft"
    assert not r.exists("pf:sup:{spam@gmail.com}")         # spamdetected has no escalation rule


def test_our_own_fault_alerts_and_never_suppresses(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    diag = ("550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires "
            "all senders to authenticate with either SPF or DKIM.")
    j = bp.pipe(dsn("fine@gmail.com", status="5.7.26", diag=diag))[0]
    assert j["our_fault"] is True and j["class"] == "soft"
    assert not r.exists("pf:sup:{fine@gmail.com}")
    assert health(r) == {}
    alerts = stream(r, "pf:alerts")
    assert len(alerts) == 1 and alerts[0]["recipient"] == "fine@gmail.com" and alerts[0]["status"] == "5.7.26"


def test_delay_warning_counts_soft_and_never_suppresses(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    diag = "421 4.7.0 [TSS04] Messages from 192.0.2.10 temporarily deferred due to unexpected volume"
    j = bp.pipe(dsn("slow@yahoo.com", status="4.7.0", diag=diag, action="delayed"))[0]
    assert j["action"] == "delayed" and j["class"] != "hard"
    assert not r.exists("pf:sup:{slow@yahoo.com}")
    assert not r.exists("pf:sb:{slow@yahoo.com}")
    assert health(r) == {"soft": 1}


def test_exim_text_bounce_from_the_environment(bp, redis_server):
    r = redis_server.client()
    attribution(r, "1vXyZa-000Abc-9Q")
    msg = ("""Return-path: <>
X-Failed-Recipients: nobody@example.net
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: bounces@bounce.example.org
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  nobody@example.net
    host mx.example.net [192.0.2.99]
    SMTP error from remote mail server after RCPT TO:<nobody@example.net>:
    550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <bounces@bounce.example.org>
X-Postflow-Trace: %s
From: news@%s
To: nobody@example.net
Subject: hello

hello
""" % (trace_value("1vXyZa-000Abc-9Q"), SENDER_DOMAIN)).encode()
    env = dict(os.environ, SENDER="", RECIPIENT="bounces@bounce.example.org")
    p = bp.run("--json", stdin=msg, env=env)
    assert p.returncode == 0, p.stderr.decode()
    j = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [x["recipient"] for x in j] == ["nobody@example.net"]
    assert j[0]["verified"] is True and j[0]["class"] == "hard" and j[0]["format"] == "text"
    assert r.hget("pf:sup:{nobody@example.net}", "reason") == b"hard"


# ---- nothing lost ------------------------------------------------------------------------------

def test_unrecognized_mail_is_quarantined(bp, redis_server):
    msg = b"From: friend@example.com\nTo: bounces@bounce.example.org\nSubject: hi\n\njust saying hello\n"
    p = bp.run("", "bounces@bounce.example.org", stdin=msg)
    assert p.returncode == 0, p.stderr.decode()
    kept = os.listdir(bp.quarantine)
    assert len(kept) == 1
    with open(os.path.join(bp.quarantine, kept[0]), "rb") as f:
        assert f.read() == msg
    assert os.stat(os.path.join(bp.quarantine, kept[0])).st_mode & 0o077 == 0


def test_a_quarantine_that_cannot_be_written_exits_75(bin_path, lab_dir, redis_server):
    # a directory below a regular file cannot be written by anyone, root included
    bp = BounceProc(bin_path("bounce-proc"), lab_dir("bounce"), redis_server, quarantine="/dev/null/quarantine")
    p = bp.run("", "x@example.org", stdin=b"Subject: hi\n\nhello\n")
    assert p.returncode == 75, p.stderr.decode()
    assert b"quarantine" in p.stderr


def test_redis_down_exits_75_and_the_retry_works(bp, redis_server):
    msg = dsn("gone@gmail.com")
    redis_server.stop()
    p = bp.run("", "bounces@bounce.example.org", stdin=msg)
    assert p.returncode == 75, p.stderr.decode()
    assert b"Redis" in p.stderr
    redis_server.start()
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    bp.pipe(msg)
    assert r.hget("pf:sup:{gone@gmail.com}", "reason") == b"hard"


def test_usage_and_configuration_errors(bp, lab_dir):
    assert bp.run("--no-such-option").returncode == 64
    bad = os.path.join(lab_dir("bad"), "bad.conf")
    with open(bad, "w") as f:
        f.write("bounce = { no_such_key = 1; };\n")
    p = subprocess.run([bp.binary, "-c", bad, "-n"], capture_output=True, timeout=30)
    assert p.returncode == 78 and b"no_such_key" in p.stderr
    assert bp.run("-n").returncode == 0
    v = bp.run("--version", conf=False)
    assert v.returncode == 0 and b"bounce-proc" in v.stdout


# ---- batch -------------------------------------------------------------------------------------

def test_batch_directory_and_mbox_summary_and_rerun(bp, redis_server, lab_dir):
    r = redis_server.client()
    d = lab_dir("archive")
    for i, rcpt in enumerate(["a@gmail.com", "b@gmail.com"]):
        attribution(r, "B%d" % i)
        with open(os.path.join(d, "%d.eml" % i), "wb") as f:
            f.write(dsn(rcpt, qid="B%d" % i))
    attribution(r, "B2")
    attribution(r, "B3")
    mbox = os.path.join(lab_dir("mbox"), "bounces.mbox")
    with open(mbox, "wb") as f:
        for qid, rcpt in (("B2", "c@gmail.com"), ("B3", "d@gmail.com")):
            f.write(b"From MAILER-DAEMON Thu Dec  3 09:00:00 2026\n" + dsn(rcpt, qid=qid) + b"\n")
    p = bp.run("--json", d, mbox)
    assert p.returncode == 0, p.stderr.decode()
    got = sorted(json.loads(x)["recipient"] for x in p.stdout.decode().splitlines())
    assert got == ["a@gmail.com", "b@gmail.com", "c@gmail.com", "d@gmail.com"]
    err = p.stderr.decode()
    assert "4 messages" in err and "4 bounce" in err and "userunknown" in err
    assert health(r) == {"hard": 4}
    again = bp.run(d, mbox)
    assert again.returncode == 0 and "4 seen before" in again.stderr.decode()
    assert health(r) == {"hard": 4}


def test_dry_run_touches_no_redis(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    p = bp.run("--dry-run", "--json", stdin=dsn("gone@gmail.com"))
    assert p.returncode == 0
    assert json.loads(p.stdout)["recipient"] == "gone@gmail.com"
    assert sorted(k.decode() for k in r.scan_iter()) == ["pf:q:{4dQx1p2Wz3}"]


# ---- reclassify ----------------------------------------------------------------------------------

def test_reclassify_undoes_a_suppression_a_new_rule_no_longer_supports(bin_path, lab_dir, redis_server):
    work = lab_dir("bounce")
    rules = os.path.join(work, "local.rules")
    with open(rules, "w") as f:
        f.write("# a local rule, added after the bounce arrived\n"
                "zorblat-block  *  *  blocked  soft  -  /zorblat filter/\n")
    bp = BounceProc(bin_path("bounce-proc"), work, redis_server)
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    j = bp.pipe(dsn("kept@gmail.com", diag="550 5.1.1 refused by the zorblat filter"))[0]
    assert (j["class"], j["category"]) == ("hard", "userunknown")
    assert r.hget("pf:sup:{kept@gmail.com}", "reason") == b"hard"
    bp.configure('rules_file = "%s";' % rules)          # the same configuration with the new rule
    dry = bp.run("--dry-run", "--json", "reclassify")
    assert dry.returncode == 0, dry.stderr.decode()
    lines = [json.loads(x) for x in dry.stdout.decode().splitlines()]
    assert [(x["recipient"], x["old_class"], x["class"], x["category"], x["done"]) for x in lines] == \
        [("kept@gmail.com", "hard", "soft", "blocked", "would unsuppress")]
    assert r.exists("pf:sup:{kept@gmail.com}")
    real = bp.run("--json", "reclassify")
    assert real.returncode == 0, real.stderr.decode()
    assert [json.loads(x)["done"] for x in real.stdout.decode().splitlines()] == ["unsuppressed"]
    assert not r.exists("pf:sup:{kept@gmail.com}")
    again = bp.run("--json", "reclassify")
    assert [json.loads(x)["done"] for x in again.stdout.decode().splitlines()] == ["reported"]


def test_reclassify_processes_what_the_quarantine_now_holds_readable(bp, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    # a bounce an older version could not read, and a message nobody can
    with open(os.path.join(bp.quarantine, "1.eml"), "wb") as f:
        f.write(dsn("old@gmail.com"))
    with open(os.path.join(bp.quarantine, "2.eml"), "wb") as f:
        f.write(b"Subject: hello\n\njust a letter\n")
    p = bp.run("reclassify")
    assert p.returncode == 0, p.stderr.decode()
    assert "quarantine 2 message(s), 1 now recognized" in p.stderr.decode()
    assert r.hget("pf:sup:{old@gmail.com}", "reason") == b"hard"
    assert sorted(os.listdir(bp.quarantine)) == ["2.eml"]


def test_reclassify_with_redis_down_exits_75(bp, redis_server):
    redis_server.stop()
    assert bp.run("reclassify").returncode == 75


# ---- operators see it ----------------------------------------------------------------------------

def test_warmupctl_shows_why_and_counts_by_category_class_and_verification(bp, bin_path, redis_server):
    r = redis_server.client()
    attribution(r, "4dQx1p2Wz3")
    bp.pipe(dsn("gone@gmail.com"))
    bp.pipe(dsn("other@gmail.com", trace=False))
    ctl = bin_path("warmupctl")
    check = subprocess.run([ctl, "-c", bp.conf, "suppress", "check", "gone@gmail.com"], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert "reason hard" in check.stdout and "bounce-proc" in check.stdout and "5.1.1 userunknown" in check.stdout
    assert "why: " in check.stdout
    js = json.loads(subprocess.run([ctl, "-c", bp.conf, "suppress", "check", "gone@gmail.com", "--json"],
                                   capture_output=True, text=True, timeout=30).stdout)
    assert js["entry"]["category"] == "userunknown" and js["entry"]["status"] == "5.1.1" and js["entry"]["why"]
    m = subprocess.run([ctl, "-c", bp.conf, "metrics"], capture_output=True, text=True, timeout=30)
    assert m.returncode == 0, m.stderr
    lines = [x for x in m.stdout.splitlines() if x.startswith("postflow_inbound_events_total{")]
    want = {'program="bounce-proc"', 'type="bounce"', 'class="hard"', 'category="userunknown"'}
    verified = [x for x in lines if all(w in x for w in want) and 'verified="verified"' in x]
    unverified = [x for x in lines if all(w in x for w in want) and 'verified="unverified"' in x]
    assert len(verified) == 1 and verified[0].endswith(" 1"), lines
    assert len(unverified) == 1 and unverified[0].endswith(" 1"), lines
    assert "# TYPE postflow_inbound_events_total counter" in m.stdout
    mj = json.loads(subprocess.run([ctl, "-c", bp.conf, "metrics", "--json"], capture_output=True, text=True,
                                   timeout=30).stdout)
    assert mj["inbound"]["bounce-proc"]["bounce|hard|userunknown|verified"] == 1
