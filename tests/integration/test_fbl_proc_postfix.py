"""test_fbl_proc_postfix.py - the complaint half of the loop through a real Postfix.

One private Postfix (the lab) plays both sides: its submission listener has
milter-dkim (signing, with the trace header) and policyd-warmup (IP choice,
attribution records with the one recipient, suppression check at RCPT, the
complaint watch) attached; the FBL domain fbl.example.net is one of the
lab's extra pipe domains, its pipe transport running the real fbl-proc as
the shipped conf/master.cf.snippet entry `fblproc` does (flags=Rq, the
envelope on argv), staged where the pipe user (nobody) can read it.

The scenario, step by step: a message goes out through 127.0.0.2 and
reaches the sink signed, with its trace header; the test builds an ARF
report (RFC 5965) about it from what the sink received - the original
attached as message/rfc822, as a mailbox provider returns it - and sends it
to the FBL address; fbl-proc verifies the trace, suppresses the recipient
(reason complaint) and moves the complaint counter of 127.0.0.2; the next
message to that address is refused at RCPT; policyd-warmup's complaint watch
pauses 127.0.0.2; warmupctl shows the sender domain over the 0.3 % line.  A
Microsoft JMRP report with the recipient redacted is tied to its complainer
through the attribution record's rcpt.  A forged ARF (the trace's MAC made
with another secret) changes nothing.
"""

import json
import os
import pwd
import re
import subprocess
import time

import pytest

import labsnippet
import postflow_lab as lab
from milter_dkim_helpers import Daemon, Key
from policyd_lab import Policyd

SECRET = b"fbl-loop-secret-0123456789abcdefgh"
TRANSPORTS = lab.shipped_ip_transports(("127.0.0.2",))
FBL_DOMAIN = "fbl.example.net"
FBL_ADDRESS = "fbl@" + FBL_DOMAIN
POSTFIX_LAB_OPTIONS = {
    "extra_master_cf": TRANSPORTS,
    "policy_snippet": True,
    "policy_stages": ("rcpt", "data_end"),
    "extra_pipes": {FBL_DOMAIN: None},      # the pipe recorder until the fixture stages fbl-proc
}
SENDER = "news@example.com"


def policy_config(redis_address):
    # the complaint watch every second, judging a provider from its first recipient
    return """
redis = { address = "%s"; };
policy = {
  warmup = {
    smoothing_hours = 0;
    health = { evaluate_interval = 1; min_provider_sent = 1; };
    schedules = ( { name = "std"; caps = "1000"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; } ); } );
  };
};
""" % redis_address


@pytest.fixture
def loop(bin_path, redis_server, lab_dir, postfix_lab):
    """milter-dkim + policyd-warmup on the submission port, fbl-proc on the FBL domain."""
    work = lab_dir("fblloop")
    nobody = pwd.getpwnam("nobody")
    secret = os.path.join(work, "trace.secret")
    with open(secret, "wb") as f:
        f.write(SECRET + b"\n")
    os.chmod(secret, 0o600)
    key = Key(bin_path("dkim-keygen"), work, "example.com", "sel", "ed25519")
    mconf = os.path.join(work, "milter.conf")
    with open(mconf, "w") as f:
        f.write('milter_dkim = { keys = ( { name = "k"; domain = "example.com"; selector = "sel"; '
                'key_file = "%s"; } ); signing_table = ( { from = "example.com"; keys = ["k"]; } ); '
                'trace_header = true; };\n' % key.path)
        f.write('trace = { secret_file = "%s"; key_id = "k1"; };\n' % secret)
    milter = Daemon(bin_path("milter-dkim"), ["-c", mconf], os.path.join(work, "milter.log"))
    pd = Policyd(bin_path("policyd-warmup"), lab_dir("policyd"), policy_config(redis_server.address)).start()
    # fbl-proc runs as nobody: its config, its copy of the secret (0600, nobody's) and itself staged
    os.makedirs(postfix_lab.bin_dir, mode=0o755, exist_ok=True)
    fsecret = os.path.join(postfix_lab.bin_dir, "fbl.secret")
    with open(fsecret, "wb") as f:
        f.write(SECRET + b"\n")
    os.chmod(fsecret, 0o600)
    os.chown(fsecret, nobody.pw_uid, nobody.pw_gid)
    fconf = os.path.join(work, "fbl.conf")
    with open(fconf, "w") as f:
        f.write('redis = { address = "%s"; };\n' % redis_server.tcp_address)
        f.write('trace = { secret_file = "%s"; key_id = "k1"; };\n' % fsecret)
        f.write('fbl = { };\nlog = { level = "info"; };\n')
    # the shipped master.cf entry, with the lab's paths: the same flags and envelope arguments
    shipped = labsnippet.pipe_transport("fblproc")
    assert shipped["flags"] == "Rq" and shipped["argv"][0].endswith("/fbl-proc")
    assert shipped["argv"][1:3] == ["-c", "/etc/postflow/postflow.conf"]
    postfix_lab.set_extra_pipe_command(FBL_DOMAIN, [postfix_lab.stage_file(bin_path("fbl-proc")), "-c",
                                                    postfix_lab.stage_file(fconf, 0o644)] + shipped["argv"][3:])
    postfix_lab.set_hooks(milter="inet:127.0.0.1:%d" % milter.port, policy=pd.socket)
    ctl_conf = os.path.join(work, "warmupctl.conf")
    with open(ctl_conf, "w") as f:
        f.write('redis = { address = "%s"; };\n' % redis_server.address)
    yield redis_server.client(decode_responses=True), [bin_path("warmupctl"), "-c", ctl_conf]
    postfix_lab.set_hooks(milter=None, policy=None)
    postfix_lab.set_extra_pipe_command(FBL_DOMAIN, None)
    milter.stop()
    assert pd.stop() == 0, pd.log()[-3000:]


def message(rcpt, tag):
    msgid = "<fbl-%s-%d@example.com>" % (tag, time.time_ns())
    return msgid, ("From: News <news@example.com>\r\nTo: <%s>\r\nSubject: news %s\r\n"
                   "Message-ID: %s\r\n\r\nhello\r\n" % (rcpt, tag, msgid)).encode()


def send_out(pf, rcpt, tag):
    """Sends one message; returns (queue id, the message as the sink received it, CRLF lines)."""
    msgid, data = message(rcpt, tag)
    res = pf.send(SENDER, [rcpt], data)
    env, got = pf.wait_sink_message(msgid)
    assert env["client_addr"] == "127.0.0.2", env      # steered to the pool's IP
    got = re.sub(rb"\r?\n", b"\r\n", got)
    assert re.search(rb"(?im)^X-Postflow-Trace: .*q=%s;" % re.escape(res.queue_id.encode()), got), got[:2000]
    return res.queue_id, got


def arf_about(original, rcpt, ftype="abuse"):
    """An RFC 5965 report about ORIGINAL (bytes), returned whole as message/rfc822."""
    return (b"From: Feedback Loop <feedback@receiver.example>\r\nTo: " + FBL_ADDRESS.encode() +
            b"\r\nSubject: FW: complaint\r\nMessage-ID: <arf.%d@receiver.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=feedback-report; boundary=\"R\"\r\n\r\n"
            b"--R\r\nContent-Type: text/plain\r\n\r\nA user marked this message as spam.\r\n\r\n"
            b"--R\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: " % time.time_ns() + ftype.encode() +
            b"\r\nUser-Agent: ReceiverFBL/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <" + SENDER.encode() +
            b">\r\nOriginal-Rcpt-To: <" + rcpt.encode() + b">\r\nSource-IP: 127.0.0.2\r\n\r\n"
            b"--R\r\nContent-Type: message/rfc822\r\n\r\n" + original + b"\r\n--R--\r\n")


def jmrp_about(original):
    """Microsoft JMRP: multipart/mixed from Hotmail, the complainer's address redacted in the original."""
    redacted = re.sub(rb"(?im)^To: .*$", b"To: <redacted@outlook.com>", original, count=1)
    return (b"From: staff@hotmail.com\r\nTo: " + FBL_ADDRESS.encode() + b"\r\nSubject: complaint about message\r\n"
            b"Message-ID: <jmrp.%d@hotmail.com>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"J\"\r\n\r\n"
            b"--J\r\nContent-Type: text/plain\r\n\r\nThis is a JMRP complaint.\r\n\r\n"
            b"--J\r\nContent-Type: message/rfc822\r\n\r\n" % time.time_ns() + redacted + b"\r\n--J--\r\n")


def deliver_report(pf, report):
    res = pf.send_inbound("feedback@receiver.example", [FBL_ADDRESS], report)
    pf.wait_delivery(res.queue_id, status="sent", recipient=FBL_ADDRESS)
    return res.queue_id


def health(r):
    out = {}
    for key in r.scan_iter("pf:hl:{main}:127.0.0.2:*"):
        for k, v in r.hgetall(key).items():
            out[k] = out.get(k, 0) + int(v)
    return out


def test_a_complaint_suppresses_the_recipient_refuses_the_next_message_and_pauses_the_ip(loop, postfix_lab):
    r, ctl = loop
    rcpt = "angry@sink.example.org"
    qid, original = send_out(postfix_lab, rcpt, "abuse")
    record = r.hgetall("pf:q:{%s}" % qid)
    assert record["ip"] == "127.0.0.2" and record["rcpt"] == rcpt and record["sender_domain"] == "example.com"
    assert health(r).get("sent") == 1
    deliver_report(postfix_lab, arf_about(original, rcpt))
    assert lab.wait_until(lambda: r.exists("pf:sup:{%s}" % rcpt), 30), postfix_lab.maillog_tail()
    sup = r.hgetall("pf:sup:{%s}" % rcpt)
    assert sup["reason"] == "complaint" and sup["source"] == "fbl-proc" and sup["queue_id"] == qid
    assert sup["ip"] == "127.0.0.2" and r.ttl("pf:sup:{%s}" % rcpt) == -1
    assert health(r).get("complaint") == 1
    [e] = [e for _, e in r.xrange("pf:complaints")]
    assert e["verified"] == "1" and e["recipient"] == rcpt and e["action"] == "complaint"
    # the next message to the address is refused at RCPT by policyd-warmup
    res = postfix_lab.try_send(SENDER, [rcpt], message(rcpt, "again")[1])
    assert res.stage == "rcpt"
    code, text = res.refused[rcpt]
    assert code == 550 and "complaint" in text
    # one complaint in one message sent: the complaint watch pauses the IP
    assert lab.wait_until(lambda: r.hget("pf:ip:{main}:127.0.0.2", "paused") == "1", 15)
    assert "complaints" in r.hget("pf:ip:{main}:127.0.0.2", "paused_reason")
    # and warmupctl shows the sender domain over the line (sent by policyd-warmup, complaint by fbl-proc)
    p = subprocess.run(ctl + ["status", "--json"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    [d] = [d for d in json.loads(p.stdout)["domains"] if d["domain"] == "example.com"]
    assert (d["sent_24h"], d["complaints_24h"], d["level"]) == (1, 1, "over")


def test_a_redacted_jmrp_report_reaches_the_recorded_recipient(loop, postfix_lab):
    r, _ = loop
    rcpt = "reader@sink.example.org"
    qid, original = send_out(postfix_lab, rcpt, "jmrp")
    assert r.hget("pf:q:{%s}" % qid, "rcpt") == rcpt
    deliver_report(postfix_lab, jmrp_about(original))
    assert lab.wait_until(lambda: r.exists("pf:sup:{%s}" % rcpt), 30), postfix_lab.maillog_tail()
    assert r.hget("pf:sup:{%s}" % rcpt, "reason") == "complaint"
    assert not r.exists("pf:sup:{redacted@outlook.com}")
    [e] = [e for _, e in r.xrange("pf:complaints")]
    assert e["recipient"] == rcpt and e["verified"] == "1"


def test_a_forged_report_changes_nothing(loop, postfix_lab):
    r, _ = loop
    rcpt = "victim@sink.example.org"
    qid, original = send_out(postfix_lab, rcpt, "forged")
    # the same trace with another MAC: what someone without our secret can make
    forged = re.sub(rb"(?im)^(X-Postflow-Trace: .*m=)[A-Za-z0-9_-]+", rb"\g<1>AAAAAAAAAAAAAAAAAAAAAA", original)
    assert forged != original
    deliver_report(postfix_lab, arf_about(forged, rcpt))
    assert lab.wait_until(lambda: r.exists("pf:complaints"), 30), postfix_lab.maillog_tail()
    [e] = [e for _, e in r.xrange("pf:complaints")]
    assert e["verified"] == "0" and e["recipient"] == rcpt and e["action"] == ""
    assert not r.exists("pf:sup:{%s}" % rcpt)
    assert "complaint" not in health(r)
    time.sleep(2.5)                                          # two complaint-watch rounds
    assert r.hget("pf:ip:{main}:127.0.0.2", "paused") == "0"
    res = postfix_lab.try_send(SENDER, [rcpt], message(rcpt, "still")[1])
    assert res.accepted, res


def test_redis_down_defers_the_report_and_the_retry_counts_once(loop, postfix_lab, redis_server):
    r, _ = loop
    rcpt = "later@sink.example.org"
    qid, original = send_out(postfix_lab, rcpt, "later")
    record = r.hgetall("pf:q:{%s}" % qid)
    # the report waits in the queue (defer_transports) while Redis goes away
    postfix_lab.postconf("defer_transports=pipe1")
    postfix_lab.reload()
    try:
        res = postfix_lab.send_inbound("feedback@receiver.example", [FBL_ADDRESS], arf_about(original, rcpt))
        postfix_lab.log.wait(r"%s: to=<%s>, relay=none, .*status=deferred" % (res.queue_id, FBL_ADDRESS))
        redis_server.stop()
    finally:
        postfix_lab.postconf("defer_transports=")
        postfix_lab.reload()
    postfix_lab.flush()
    deferred = postfix_lab.log.wait(r"%s: to=<%s>, relay=pipe1, .*status=deferred (.*)" % (res.queue_id, FBL_ADDRESS))
    assert "Redis" in deferred.group(1), deferred.group(0)   # fbl-proc's exit 75, with its reason
    redis_server.start()
    r = redis_server.client(decode_responses=True)
    r.hset("pf:q:{%s}" % qid, mapping=record)     # the lab's Redis keeps no data over a restart; a real one does
    postfix_lab.flush()
    postfix_lab.log.wait(r"%s: to=<%s>, relay=pipe1, .*status=sent" % (res.queue_id, FBL_ADDRESS))
    sup = r.hgetall("pf:sup:{%s}" % rcpt)
    assert sup["reason"] == "complaint" and sup["queue_id"] == qid
    assert health(r).get("complaint") == 1
    assert [e["recipient"] for _, e in r.xrange("pf:complaints")] == [rcpt]
