"""test_bounce_proc_postfix.py - the bounce half of the loop through a real Postfix.

One private Postfix (the lab) plays both sides: its submission listener has
milter-dkim (signing, with the trace header) and policyd-warmup (IP choice,
attribution records, suppression check at RCPT) attached, and the bounce
domain bounce.example.net is delivered by the lab's `bounceproc` pipe
transport - the entry of conf/master.cf.snippet: flags=Rq, user=nobody,
bounce-proc with the envelope on argv - to the real bounce-proc binary,
staged where the pipe user can read it.

The scenario, checked step by step: a message goes out through 127.0.0.2;
the receiving end (smtp-sink) refuses the recipient with 550 5.1.1; Postfix
writes a real DSN to the return path; it comes back through the pipe;
bounce-proc verifies the trace, suppresses the address and moves the hard
counter of 127.0.0.2; the next message to that address is refused at RCPT by
policyd-warmup.  With Redis stopped, Postfix defers the DSN (exit 75) and,
once Redis is back, the retry is processed exactly once.  A forged DSN (a
trace made with another secret) sent to the bounce domain suppresses
nobody.
"""

import base64
import hashlib
import hmac
import os
import pwd
import time

import pytest

import labsnippet
import postflow_lab as lab
from milter_dkim_helpers import Daemon, Key
from policyd_lab import Policyd

SECRET = b"loop-test-secret-0123456789abcdef"
TRANSPORTS = lab.shipped_ip_transports(("127.0.0.2",))
POSTFIX_LAB_OPTIONS = {
    "extra_master_cf": TRANSPORTS,
    "policy_snippet": True,
    "policy_stages": ("rcpt", "data_end"),
}
RETURN_PATH = "bounces@bounce.example.net"


def policy_config(redis_address):
    return """
redis = { address = "%s"; };
policy = {
  warmup = {
    smoothing_hours = 0;
    schedules = ( { name = "std"; caps = "1000"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com", "bounce.example.net" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; } ); } );
  };
};
""" % redis_address


@pytest.fixture
def loop(bin_path, redis_server, lab_dir, postfix_lab):
    """milter-dkim + policyd-warmup on the submission port, bounce-proc on the bounce domain."""
    work = lab_dir("loop")
    nobody = pwd.getpwnam("nobody")
    secret = os.path.join(work, "trace.secret")
    with open(secret, "wb") as f:
        f.write(SECRET + b"\n")
    key = Key(bin_path("dkim-keygen"), work, "example.com", "sel", "ed25519")
    mconf = os.path.join(work, "milter.conf")
    with open(mconf, "w") as f:
        f.write('milter_dkim = { keys = ( { name = "k"; domain = "example.com"; selector = "sel"; '
                'key_file = "%s"; } ); signing_table = ( { from = "example.com"; keys = ["k"]; } ); '
                'trace_header = true; };\n' % key.path)
        f.write('trace = { secret_file = "%s"; key_id = "k1"; };\n' % secret)
    os.chmod(secret, 0o600)
    milter = Daemon(bin_path("milter-dkim"), ["-c", mconf], os.path.join(work, "milter.log"))
    pd = Policyd(bin_path("policyd-warmup"), lab_dir("policyd"), policy_config(redis_server.address)).start()
    # bounce-proc runs as nobody: its config, its copy of the secret (0600, nobody's) and itself staged
    bsecret = os.path.join(postfix_lab.bin_dir, "bounce.secret")
    os.makedirs(postfix_lab.bin_dir, mode=0o755, exist_ok=True)
    with open(bsecret, "wb") as f:
        f.write(SECRET + b"\n")
    os.chmod(bsecret, 0o600)
    os.chown(bsecret, nobody.pw_uid, nobody.pw_gid)
    bconf = os.path.join(work, "bounce.conf")
    with open(bconf, "w") as f:
        f.write('redis = { address = "%s"; };\n' % redis_server.tcp_address)
        f.write('trace = { secret_file = "%s"; key_id = "k1"; };\n' % bsecret)
        f.write('bounce = { };\nlog = { level = "info"; };\n')
    # the shipped master.cf entry, with the lab's paths: the same flags and envelope arguments
    shipped = labsnippet.pipe_transport("bounceproc")
    assert shipped["flags"] == "Rq" and shipped["argv"][1:3] == ["-c", "/etc/postflow/postflow.conf"]
    postfix_lab.set_pipe_command([postfix_lab.stage_file(bin_path("bounce-proc")), "-c",
                                  postfix_lab.stage_file(bconf, 0o644)] + shipped["argv"][3:])
    postfix_lab.set_hooks(milter="inet:127.0.0.1:%d" % milter.port, policy=pd.socket)
    yield redis_server.client()
    postfix_lab.set_hooks(milter=None, policy=None)
    postfix_lab.set_pipe_command(None)
    milter.stop()
    assert pd.stop() == 0, pd.log()[-3000:]


def message(rcpt, n):
    return ("From: News <news@example.com>\r\nTo: <%s>\r\nSubject: loop %d\r\n"
            "Message-ID: <loop-%d-%d@example.com>\r\n\r\nhello\r\n" % (rcpt, n, n, int(time.time() * 1e6))).encode()


def health(r):
    out = {}
    for key in r.scan_iter("pf:hl:{main}:127.0.0.2:*"):
        for k, v in r.hgetall(key).items():
            out[k.decode()] = out.get(k.decode(), 0) + int(v)
    return out


def bounce_out(pf, rcpt, n):
    with pf.rejecting_sink("550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt):
        res = pf.send(RETURN_PATH, [rcpt], message(rcpt, n))
        pf.wait_delivery(res.queue_id, status="bounced", recipient=rcpt)
    return res.queue_id


def test_a_real_dsn_suppresses_the_address_and_the_next_message_is_refused_at_rcpt(loop, postfix_lab):
    r = loop
    qid = bounce_out(postfix_lab, "gone@sink.example.org", 1)
    assert r.hget("pf:q:{%s}" % qid, "ip") == b"127.0.0.2"
    assert lab.wait_until(lambda: r.exists("pf:sup:{gone@sink.example.org}"), 30), \
        "no suppression after the DSN:\n" + postfix_lab.maillog_tail()
    sup = {k.decode(): v.decode() for k, v in r.hgetall("pf:sup:{gone@sink.example.org}").items()}
    assert sup["reason"] == "hard" and sup["source"] == "bounce-proc" and sup["status"] == "5.1.1"
    assert sup["queue_id"] == qid and sup["ip"] == "127.0.0.2"
    assert health(r).get("hard") == 1
    entry = r.xrange("pf:bounces")[-1][1]
    assert entry[b"verified"] == b"1" and entry[b"recipient"] == b"gone@sink.example.org"
    res = postfix_lab.try_send(RETURN_PATH, ["gone@sink.example.org"], message("gone@sink.example.org", 2))
    assert res.stage == "rcpt"
    code, text = res.refused["gone@sink.example.org"]
    assert code == 550 and "5.1.1" in text


def test_redis_down_defers_the_dsn_and_the_retry_counts_once(loop, postfix_lab, redis_server):
    # the DSN is held in the queue (defer_transports) while the outbound side still needs Redis
    postfix_lab.postconf("defer_transports=bounceproc")
    postfix_lab.reload()
    try:
        qid = bounce_out(postfix_lab, "later@sink.example.org", 3)
        dsn = postfix_lab.log.wait(r"%s: sender non-delivery notification: (\w+)" % qid).group(1)
        record = loop.hgetall("pf:q:{%s}" % qid)
        assert record[b"ip"] == b"127.0.0.2"
        redis_server.stop()
    finally:
        postfix_lab.postconf("defer_transports=")
        postfix_lab.reload()
    postfix_lab.flush()
    deferred = postfix_lab.log.wait(r"%s: to=<%s>, relay=bounceproc, .*status=deferred (.*)" % (dsn, RETURN_PATH))
    assert "Redis" in deferred.group(1), deferred.group(0)   # bounce-proc's exit 75, with its reason
    redis_server.start()
    r = redis_server.client()
    r.hset("pf:q:{%s}" % qid, mapping=record)   # the lab's Redis keeps no data over a restart; a real one does
    postfix_lab.flush()
    postfix_lab.log.wait(r"%s: to=<%s>, relay=bounceproc, .*status=sent" % (dsn, RETURN_PATH))
    sup = r.hgetall("pf:sup:{later@sink.example.org}")
    assert sup[b"reason"] == b"hard" and sup[b"queue_id"] == qid.encode()
    assert health(r).get("hard") == 1
    assert sum(1 for _, e in r.xrange("pf:bounces") if e[b"recipient"] == b"later@sink.example.org") == 1


def test_a_forged_dsn_suppresses_nobody(loop, postfix_lab):
    r = loop
    base = "v=1; k=k1; q=4FORGED; t=%d; d=example.com;" % int(time.time())
    mac = hmac.new(b"someone-else-secret-000000000000", base.encode(), hashlib.sha256).digest()[:16]
    forged = base + " m=" + base64.urlsafe_b64encode(mac).decode().rstrip("=")
    dsn = ("From: MAILER-DAEMON@mx.sink.example.org\r\nTo: %s\r\nSubject: Undelivered Mail\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
           "--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n\r\n--B\r\n"
           "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.sink.example.org\r\n\r\n"
           "Final-Recipient: rfc822; victim@sink.example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
           "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@example.com\r\nX-Postflow-Trace: %s\r\n"
           "Message-ID: <forged@example.com>\r\n\r\n--B--\r\n" % (RETURN_PATH, forged)).encode()
    res = postfix_lab.send_inbound("", [RETURN_PATH], dsn)
    postfix_lab.wait_delivery(res.queue_id, recipient=RETURN_PATH)
    assert lab.wait_until(lambda: any(e[b"recipient"] == b"victim@sink.example.org"
                                      for _, e in r.xrange("pf:bounces")), 30), postfix_lab.maillog_tail()
    assert not r.exists("pf:sup:{victim@sink.example.org}")
    assert [e[b"verified"] for _, e in r.xrange("pf:bounces") if e[b"recipient"] == b"victim@sink.example.org"] \
        == [b"0"]
    assert health(r).get("hard") is None
