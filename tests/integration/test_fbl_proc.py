"""test_fbl_proc.py - fbl-proc as the pipe command, against a real redis-server.

The reports are built here as real mail: RFC 5965 ARF reports
(multipart/report; report-type=feedback-report, the returned original as
message/rfc822), an RFC 6591 auth-failure report and a Microsoft JMRP
report (multipart/mixed from a Hotmail address, the recipient redacted).
Their originals carry an X-Postflow-Trace header whose MAC this file
computes itself with Python's hmac module from docs/trace-header.md, so
verification is checked against the documented format.  Redis is read and
written with python3-redis, spelling keys as docs/redis-keys.md documents
them; the attribution records pf:q: are written here as policyd-warmup
writes them (with `rcpt` for a one-recipient message).

Covered: a verified abuse complaint suppresses for good (reason complaint,
no TTL, not replaced by a later hard bounce from bounce-proc), counts
`complaint` in pf:hl: and pf:dh: and streams to pf:complaints; not-spam
changes nothing but the stream; an opt-out suppresses with reason
unsubscribe (and a later complaint outranks it); an auth-failure report
alerts and counts `authfail`, suppressing nobody; a forged trace changes
nothing; a JMRP report with a redacted recipient is tied to its complainer
through the record's `rcpt` only when its trace verifies, and otherwise
stays a complaint without a recipient (counted for the IP when verified,
suppressing nobody); the same report twice acts once; Redis down exits 75
and the retry acts once.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time

import pytest

SECRET = b"fbl-proc-test-secret-0123456789abc"
KEY_ID = "k1"
POOL = "main"
IP = "192.0.2.10"
SENDER_DOMAIN = "news.example.org"
FBL_ADDRESS = "fbl@fbl.example.org"


def trace_value(qid, t=None, domain=SENDER_DOMAIN, secret=SECRET, key_id=KEY_ID):
    t = int(time.time()) if t is None else t
    base = "v=1; k=%s; q=%s; t=%d; d=%s;" % (key_id, qid, t, domain)
    mac = hmac.new(secret, base.encode(), hashlib.sha256).digest()[:16]
    return base + " m=" + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def original(rcpt, qid, trace=True, forged=False, msgid=None):
    """The message we sent, as the reporter returns it (CRLF lines)."""
    tv = trace_value(qid, secret=b"someone-else-secret-000000000000" if forged else SECRET)
    msgid = msgid or "<%s.%d@%s>" % (qid, int(time.time() * 1e6), SENDER_DOMAIN)
    lines = [
        "Return-Path: <bounces@bounce.example.org>",
        "Received: from out.example.org (out.example.org [%s])" % IP,
        "\tby mx.receiver.example with ESMTPS id 77ZZ; Thu, 3 Dec 2026 08:59:00 +0000",
        "DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=sel; h=from:to:subject; bh=x; b=y" % SENDER_DOMAIN,
    ]
    if trace:
        lines.append("X-Postflow-Trace: " + tv)
    lines += ["From: News <news@%s>" % SENDER_DOMAIN, "To: <%s>" % rcpt, "Subject: Our December news",
              "Message-ID: " + msgid, "MIME-Version: 1.0", "Content-Type: text/plain", "", "Hello.", ""]
    return "\r\n".join(lines)


def arf(rcpt, ftype="abuse", qid="4dQx1p2Wz3", report_rcpt=True, **kw):
    """An RFC 5965 report as the big mailbox providers send it."""
    fields = ["Feedback-Type: %s" % ftype, "User-Agent: ReceiverFBL/1.0", "Version: 1",
              "Original-Mail-From: <bounces@bounce.example.org>",
              "Arrival-Date: Thu, 3 Dec 2026 08:59:00 +0000", "Source-IP: %s" % IP,
              "Reported-Domain: %s" % SENDER_DOMAIN]
    if report_rcpt:
        fields.append("Original-Rcpt-To: <%s>" % rcpt)
    if ftype == "auth-failure":
        fields += ["Auth-Failure: dmarc", "Authentication-Results: mx.receiver.example; dmarc=fail "
                   "header.from=%s" % SENDER_DOMAIN]
    return ("From: Feedback Loop <fbl@receiver.example>\r\nTo: %s\r\nSubject: FW: Our December news\r\n"
            "Date: Thu, 3 Dec 2026 09:10:00 +0000\r\nMessage-ID: <fbl.%d@receiver.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"ARF\"\r\n\r\n"
            "--ARF\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            "This is an email abuse report for an email message received from IP %s.\r\n\r\n"
            "--ARF\r\nContent-Type: message/feedback-report\r\n\r\n%s\r\n\r\n"
            "--ARF\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n%s\r\n"
            "--ARF--\r\n" % (FBL_ADDRESS, time.time_ns(), IP, "\r\n".join(fields),
                             original(rcpt, qid, **kw))).encode()


def jmrp(qid="4dQx1p2Wz3", **kw):
    """Microsoft JMRP: multipart/mixed from Hotmail, the complainer's address redacted."""
    return ("From: staff@hotmail.com\r\nTo: %s\r\nSubject: complaint about message from %s\r\n"
            "Date: Thu, 3 Dec 2026 09:10:00 +0000\r\nMessage-ID: <jmrp.%d@hotmail.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"J\"\r\n\r\n"
            "--J\r\nContent-Type: text/plain\r\n\r\nThis is a Junk Mail Reporting Program complaint.\r\n\r\n"
            "--J\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n--J--\r\n"
            % (FBL_ADDRESS, IP, time.time_ns(), original("redacted@outlook.com", qid, **kw))).encode()


class Inbound:
    """One config for fbl-proc and bounce-proc (the fbl and bounce sections)."""

    def __init__(self, bin_path, workdir, redis_server):
        self.bin_path = bin_path
        secret = os.path.join(workdir, "trace.secret")
        with open(secret, "wb") as f:
            f.write(SECRET + b"\n")
        os.chmod(secret, 0o600)
        self.quarantine = os.path.join(workdir, "quarantine")
        os.mkdir(self.quarantine)
        self.conf = os.path.join(workdir, "postflow.conf")
        with open(self.conf, "w") as f:
            f.write(redis_server.redis_conf())
            f.write('trace = { key_id = "%s"; secret_file = "%s"; };\n' % (KEY_ID, secret))
            f.write('fbl = { quarantine_dir = "%s"; };\n' % self.quarantine)
            f.write('bounce = { };\nlog = { level = "info"; };\n')

    def run(self, msg, program="fbl-proc"):
        return subprocess.run([self.bin_path(program), "-f", "-c", self.conf, "--json", "", FBL_ADDRESS],
                              input=msg, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)

    def pipe(self, msg, program="fbl-proc"):
        p = self.run(msg, program)
        assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr.decode())
        return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


@pytest.fixture
def fp(bin_path, lab_dir, redis_server):
    return Inbound(bin_path, lab_dir("fbl"), redis_server)


@pytest.fixture
def r(redis_server):
    return redis_server.client(decode_responses=True)


def attribution(r, qid, provider="gmail", rcpt=None, rcpts=1):
    """pf:q:{qid} as policyd-warmup's END-OF-MESSAGE script writes it."""
    r.hset("pf:q:{%s}" % qid, mapping={"ip": IP, "pool": POOL, "provider": provider, "sender_domain": SENDER_DOMAIN,
                                       "sender": "bounces@bounce.example.org", "rcpts": str(rcpts),
                                       "rcpt": rcpt or "", "time": str(int(time.time())), "node": "mx1"})


def hour():
    return int(time.time()) // 3600


def health(r, provider="gmail"):
    return {k: int(v) for k, v in r.hgetall("pf:hl:{%s}:%s:%s:%d" % (POOL, IP, provider, hour())).items()}


def domain_health(r, provider="gmail"):
    return {k: int(v) for k, v in r.hgetall("pf:dh:{%s}:%s:%d" % (SENDER_DOMAIN, provider, hour())).items()}


def stream(r, name="pf:complaints"):
    return [e[1] for e in r.xrange(name)]


def dsn(rcpt, qid):
    """A Postfix DSN (hard, 5.1.1) about the same message, for bounce-proc."""
    return ("From: MAILER-DAEMON@mx.receiver.example\r\nTo: bounces@bounce.example.org\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.receiver.example\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n--B--\r\n"
            % (rcpt, rcpt, original(rcpt, qid).split("\r\n\r\n")[0] + "\r\n")).encode()


# ---- complaints ---------------------------------------------------------------------------------

def test_verified_abuse_complaint_suppresses_for_good_counts_and_streams(fp, r):
    attribution(r, "4dQx1p2Wz3", rcpt="angry@gmail.com")
    [j] = fp.pipe(arf("angry@gmail.com"))
    assert (j["type"], j["recipient"], j["feedback_type"], j["format"]) == \
        ("complaint", "angry@gmail.com", "abuse", "arf")
    assert j["verified"] is True and j["sending_ip"] == IP and j["provider"] == "gmail"
    sup = r.hgetall("pf:sup:{angry@gmail.com}")
    assert sup["reason"] == "complaint" and sup["source"] == "fbl-proc"
    assert sup["queue_id"] == "4dQx1p2Wz3" and sup["ip"] == IP
    assert r.ttl("pf:sup:{angry@gmail.com}") == -1                  # never expires
    assert health(r) == {"complaint": 1}
    assert domain_health(r) == {"complaint": 1}
    assert 0 < r.ttl("pf:dh:{%s}:gmail:%d" % (SENDER_DOMAIN, hour())) <= 691200
    [e] = stream(r)
    assert (e["type"], e["recipient"], e["action"], e["verified"], e["source"]) == \
        ("complaint", "angry@gmail.com", "complaint", "1", "fbl-proc")
    assert not stream(r, "pf:bounces")
    # a later hard bounce of the same address counts, and does not replace the complaint
    attribution(r, "5eRy2q3Xa4")
    [b] = fp.pipe(dsn("angry@gmail.com", "5eRy2q3Xa4"), program="bounce-proc")
    assert b["class"] == "hard" and b["verified"] is True
    assert r.hget("pf:sup:{angry@gmail.com}", "reason") == "complaint"
    assert r.hget("pf:sup:{angry@gmail.com}", "source") == "fbl-proc"
    assert r.ttl("pf:sup:{angry@gmail.com}") == -1
    assert health(r) == {"complaint": 1, "hard": 1}


def test_not_spam_changes_nothing_but_the_stream(fp, r):
    attribution(r, "4dQx1p2Wz3")
    [j] = fp.pipe(arf("happy@gmail.com", ftype="not-spam"))
    assert j["type"] == "complaint" and j["feedback_type"] == "not-spam" and j["verified"] is True
    assert not r.exists("pf:sup:{happy@gmail.com}")
    assert health(r) == {} and domain_health(r) == {}
    [e] = stream(r)
    assert e["recipient"] == "happy@gmail.com" and e["action"] == "" and e["category"] == "not-spam"


def test_opt_out_suppresses_as_unsubscribe_and_a_complaint_outranks_it(fp, r):
    attribution(r, "4dQx1p2Wz3")
    [j] = fp.pipe(arf("leaving@yahoo.com", ftype="opt-out"))
    assert j["feedback_type"] == "unsubscribe"
    assert r.hget("pf:sup:{leaving@yahoo.com}", "reason") == "unsubscribe"
    assert health(r) == {}                                          # not a complaint
    attribution(r, "6fSz3r4Yb5")
    fp.pipe(arf("leaving@yahoo.com", qid="6fSz3r4Yb5"))
    assert r.hget("pf:sup:{leaving@yahoo.com}", "reason") == "complaint"


def test_auth_failure_report_alerts_and_suppresses_nobody(fp, r):
    attribution(r, "4dQx1p2Wz3")
    [j] = fp.pipe(arf("someone@gmail.com", ftype="auth-failure"))
    assert j["type"] == "authfail"
    assert not r.exists("pf:sup:{someone@gmail.com}")
    assert health(r) == {"authfail": 1} and domain_health(r) == {"authfail": 1}
    [a] = stream(r, "pf:alerts")
    assert a["type"] == "authfail" and a["source"] == "fbl-proc" and a["sender_domain"] == SENDER_DOMAIN
    assert [e["type"] for e in stream(r)] == ["authfail"]


def test_forged_or_missing_trace_changes_nothing(fp, r):
    attribution(r, "4dQx1p2Wz3", rcpt="victim@gmail.com")
    [forged] = fp.pipe(arf("victim@gmail.com", forged=True))
    [untraced] = fp.pipe(arf("victim2@gmail.com", trace=False))
    assert forged["verified"] is False and untraced["verified"] is False
    assert not r.exists("pf:sup:{victim@gmail.com}") and not r.exists("pf:sup:{victim2@gmail.com}")
    assert health(r) == {} and domain_health(r) == {}
    assert [e["verified"] for e in stream(r)] == ["0", "0"]


# ---- redacted reports (JMRP) ----------------------------------------------------------------------

def test_redacted_jmrp_is_tied_to_the_recorded_recipient_when_verified(fp, r):
    attribution(r, "4dQx1p2Wz3", provider="microsoft", rcpt="reader@outlook.com")
    [j] = fp.pipe(jmrp())
    assert (j["format"], j["type"], j["recipient"], j["verified"]) == ("jmrp", "complaint", "reader@outlook.com",
                                                                       True)
    sup = r.hgetall("pf:sup:{reader@outlook.com}")
    assert sup["reason"] == "complaint" and sup["queue_id"] == "4dQx1p2Wz3"
    assert health(r, "microsoft") == {"complaint": 1}
    assert stream(r)[0]["recipient"] == "reader@outlook.com"
    assert not r.exists("pf:sup:{redacted@outlook.com}")


def test_redacted_report_under_a_forged_trace_names_nobody(fp, r):
    # the record is found (its queue id is in the forged trace), its rcpt is not believed
    attribution(r, "4dQx1p2Wz3", provider="microsoft", rcpt="reader@outlook.com")
    [j] = fp.pipe(jmrp(forged=True))
    assert j["recipient"] is None and j["verified"] is False and j["sending_ip"] == IP
    assert not r.exists("pf:sup:{reader@outlook.com}")
    assert health(r, "microsoft") == {}
    # an ARF report with no Original-Rcpt-To and a redacted To:, unverified: the same
    [a] = fp.pipe(arf("xxxxxxxx@gmail.com", report_rcpt=False, trace=False))
    assert a["recipient"] is None
    assert [k for k in r.scan_iter("pf:sup:*")] == []


def test_redacted_report_about_a_message_with_several_recipients_counts_for_the_ip_only(fp, r):
    attribution(r, "4dQx1p2Wz3", provider="microsoft", rcpts=3)          # no rcpt recorded
    [j] = fp.pipe(jmrp())
    assert j["recipient"] is None and j["verified"] is True
    assert [k for k in r.scan_iter("pf:sup:*")] == []
    assert health(r, "microsoft") == {"complaint": 1}


def test_no_recovery_in_a_dry_run(fp, r):
    attribution(r, "4dQx1p2Wz3", provider="microsoft", rcpt="reader@outlook.com")
    p = subprocess.run([fp.bin_path("fbl-proc"), "-c", fp.conf, "--dry-run", "--json", "", FBL_ADDRESS],
                       input=jmrp(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    [j] = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert j["recipient"] is None                               # a dry run asks no Redis
    assert not r.exists("pf:sup:{reader@outlook.com}") and not stream(r)


# ---- idempotency and Redis trouble -----------------------------------------------------------------

def test_the_same_report_twice_acts_once(fp, r):
    attribution(r, "4dQx1p2Wz3")
    msg = arf("twice@gmail.com")
    fp.pipe(msg)
    p = fp.run(msg)
    assert p.returncode == 0 and b"seen before" in p.stderr
    assert health(r) == {"complaint": 1} and domain_health(r) == {"complaint": 1}
    assert len(stream(r)) == 1


def test_redis_down_exits_75_and_the_retry_acts_once(fp, redis_server):
    msg = arf("later@gmail.com")
    redis_server.stop()
    p = fp.run(msg)
    assert p.returncode == 75, p.stderr.decode()
    assert b"Redis" in p.stderr
    redis_server.start()
    r = redis_server.client(decode_responses=True)
    attribution(r, "4dQx1p2Wz3")
    fp.pipe(msg)
    fp.pipe(msg)                                                # a second delivery of the same report
    assert r.hget("pf:sup:{later@gmail.com}", "reason") == "complaint"
    assert health(r) == {"complaint": 1}
    assert len(stream(r)) == 1
