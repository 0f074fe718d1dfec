"""test_lab.py - proves the real-service test lab itself works.

These tests exercise tests/lab/postflow_lab.py against the real redis-server
(and, below, the real Postfix and smtp-sink): if they fail, every other
integration test's result is meaningless.
"""

import os

import pytest
import redis

import postflow_lab as lab


# ---- redis-server ----------------------------------------------------------

def test_redis_answers_on_unix_socket_and_tcp_port(redis_server):
    redis_server.client().set("lab:key", "v1")
    host, port = redis_server.tcp_address.split(":")
    tcp = redis.Redis(host=host, port=int(port))
    assert tcp.get("lab:key") == b"v1"
    assert redis_server.address == "unix:" + redis_server.unix_socket
    assert os.path.exists(redis_server.unix_socket)


def test_redis_has_no_persistence(redis_server):
    cfg = redis_server.client().config_get("save")
    assert cfg["save"] == ""
    assert redis_server.client().config_get("appendonly")["appendonly"] == "no"


def test_redis_kill_makes_it_unreachable_and_restart_brings_it_back_empty(redis_server):
    c = redis_server.client()
    c.set("before", "1")
    old_pid = redis_server.pid
    redis_server.kill()
    assert not lab.proc_alive(old_pid)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis_server.client(socket_connect_timeout=1).ping()
    redis_server.restart()
    assert redis_server.pid != old_pid
    fresh = redis_server.client()
    assert fresh.ping()
    # No persistence: the key written before the crash is gone.
    assert fresh.get("before") is None
    # Same TCP port as before the crash.
    host, port = redis_server.tcp_address.split(":")
    assert redis.Redis(host=host, port=int(port)).ping()


def test_redis_on_a_taken_port_fails_loudly_and_a_picked_port_moves(lab_dir):
    import socket
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        with pytest.raises(lab.LabError, match="Address already in use"):
            lab.RedisServer(lab_dir("redis-taken"), port=taken).start(timeout=5)
        srv = lab.RedisServer(lab_dir("redis-moves"))
        srv._port = taken  # as if another program took the picked port first
        srv.start()
        try:
            assert srv.port != taken and srv.client().ping()
        finally:
            srv.stop()


def test_redis_stop_leaves_no_process(lab_dir):
    srv = lab.RedisServer(lab_dir("redis")).start()
    pid = srv.pid
    srv.stop()
    assert not lab.proc_alive(pid)
    assert not any(line.startswith("%d " % pid) for line in lab.leftovers())


# ---- Postfix + smtp-sink + pipe ----------------------------------------------

import smtplib  # noqa: E402
import uuid  # noqa: E402

import labstubs  # noqa: E402

# One extra transport with its own source address, as the warm-up policy
# daemon will select with "FILTER smtp-127.0.0.2:".
POSTFIX_LAB_OPTIONS = {"extra_master_cf": [lab.ip_transport("127.0.0.2")]}

BOUNCE = "bounce.example.net"


def make_message(subject, body=b"Hello from the lab.\n", sender="app@example.org",
                 to="user@example.com"):
    """A small message with a unique Message-ID; returns (message-id, bytes)."""
    mid = "<%s@lab.test>" % uuid.uuid4().hex
    head = ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: %s\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0000\n\n" % (sender, to, subject, mid))
    return mid, head.encode() + body


def test_submitted_message_arrives_in_sink_unchanged(postfix_lab):
    body = b"line one\n.a line starting with a dot\n8-bit: caf\xc3\xa9\n\nlast line\n"
    mid, msg = make_message("sink test", body)
    res = postfix_lab.send("app@example.org", ["user@example.com", "other@example.net"], msg)
    assert res.accepted and res.code == 250 and not res.refused

    env, got = postfix_lab.wait_sink_message(mid)
    # Postfix prepends its Received: header; everything the client sent
    # follows byte for byte (dot-stuffing undone, LF line ends in the file).
    assert got.startswith(b"Received: from client.lab.test")
    assert got.endswith(msg)
    assert ("id %s" % res.queue_id).encode() in got
    assert env["mail"] == "<app@example.org>"
    assert sorted(r.split()[0] for r in env["rcpt"]) == ["<other@example.net>",
                                                         "<user@example.com>"]
    assert env["client_addr"] == "127.0.0.1"
    for rcpt in ("user@example.com", "other@example.net"):
        d = postfix_lab.wait_delivery(res.queue_id, recipient=rcpt)
        assert d["status"] == "sent" and d["service"] == "smtp"
        assert d["relay"] == "127.0.0.1[127.0.0.1]:%d" % postfix_lab.sink_port


def test_bounce_domain_mail_reaches_pipe_with_envelope_and_exact_message(postfix_lab):
    mid, msg = make_message("bounce", sender="mailer-daemon@remote.example",
                            to="exit-0@" + BOUNCE)
    res = postfix_lab.send_inbound("mailer-daemon@remote.example", ["exit-0@" + BOUNCE], msg)
    rec = postfix_lab.wait_pipe_record(res.queue_id)
    sender, rcpt, orig, nexthop, qid, client, user, ext = rec["argv"]
    assert (sender, rcpt, orig, nexthop, qid, client, user, ext) == (
        "mailer-daemon@remote.example", "exit-0@" + BOUNCE, "exit-0@" + BOUNCE, BOUNCE,
        res.queue_id, "127.0.0.1", "exit-0", "")
    assert rec["uid"] == 65534  # user=nobody
    # stdin: Return-Path (flag R), Postfix's Received:, then the message as sent.
    stdin = rec["message"]
    assert stdin.startswith(b"Return-Path: <mailer-daemon@remote.example>\nReceived: from ")
    assert stdin.endswith(msg)
    assert postfix_lab.wait_delivery(res.queue_id, status="sent")["relay"] == "bounceproc"


def test_null_sender_reaches_pipe_as_empty_argument(postfix_lab):
    mid, msg = make_message("null sender", sender="MAILER-DAEMON@remote.example",
                            to="exit-0@" + BOUNCE)
    res = postfix_lab.send_inbound("", ["exit-0@" + BOUNCE], msg)
    rec = postfix_lab.wait_pipe_record(res.queue_id)
    assert rec["argv"][0] == ""
    assert rec["message"].startswith(b"Return-Path: <>\n")
    assert rec["message"].endswith(msg)


def test_virtual_alias_gives_original_recipient(postfix_lab):
    _, msg = make_message("alias")
    res = postfix_lab.send_inbound("dsn@remote.example", ["alias@" + BOUNCE], msg)
    rec = postfix_lab.wait_pipe_record(res.queue_id)
    assert rec["argv"][1] == "exit-0@" + BOUNCE
    assert rec["argv"][2] == "alias@" + BOUNCE


def test_recipient_delimiter_splits_user_and_extension(postfix_lab):
    _, msg = make_message("extension")
    res = postfix_lab.send_inbound("dsn@remote.example", ["b+a1b2c3=example.com@" + BOUNCE], msg)
    rec = postfix_lab.wait_pipe_record(res.queue_id)
    assert rec["argv"][1] == "b+a1b2c3=example.com@" + BOUNCE
    assert rec["argv"][6] == "b"
    assert rec["argv"][7] == "a1b2c3=example.com"


def test_pipe_exit_75_defers_and_exit_0_is_sent(postfix_lab):
    _, msg = make_message("tempfail")
    res75 = postfix_lab.send_inbound("dsn@remote.example", ["exit-75@" + BOUNCE], msg)
    res0 = postfix_lab.send_inbound("dsn@remote.example", ["exit-0@" + BOUNCE], msg)
    assert postfix_lab.wait_pipe_record(res75.queue_id)["exit"] == 75
    d75 = postfix_lab.wait_delivery(res75.queue_id)
    assert (d75["status"], d75["dsn"]) == ("deferred", "4.3.0")
    d0 = postfix_lab.wait_delivery(res0.queue_id)
    assert (d0["status"], d0["dsn"]) == ("sent", "2.0.0")
    # The deferred message is still queued, the delivered one is not.
    ids = lab.wait_until(lambda: {q["queue_id"] for q in postfix_lab.queue()} or None, 10)
    assert res75.queue_id in ids and res0.queue_id not in ids


def test_pipe_other_exit_codes_bounce(postfix_lab):
    # Why postflow's pipe commands may only exit 0 or 75: Postfix bounces on 1.
    _, msg = make_message("exit 1")
    res = postfix_lab.send_inbound("dsn@remote.example", ["exit-1@" + BOUNCE], msg)
    assert postfix_lab.wait_delivery(res.queue_id)["status"] == "bounced"


def test_inbound_listener_is_not_an_open_relay(postfix_lab):
    _, msg = make_message("relay attempt")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        postfix_lab.send_inbound("spammer@remote.example", ["victim@example.com"], msg)
    code, text = err.value.recipients["victim@example.com"]
    assert code == 554 and "Relay access denied" in text


def test_policy_hook_applies_after_set_hooks_and_goes_away_with_none(postfix_lab):
    _, msg = make_message("policy")
    with labstubs.PolicyStub() as stub:
        postfix_lab.set_hooks(policy=stub.address)
        try:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
                postfix_lab.send("app@example.org", ["reject-me@example.com"], msg)
            assert err.value.recipients["reject-me@example.com"][0] == 554
            res = postfix_lab.try_send("app@example.org",
                                       ["defer-me@example.com", "ok-me@example.com"], msg)
            assert res.accepted
            assert res.refused["defer-me@example.com"][0] == 450
            states = [(r["protocol_state"], r["recipient"]) for r in stub.requests]
            assert ("RCPT", "reject-me@example.com") in states
            assert ("END-OF-MESSAGE", "ok-me@example.com") in states
        finally:
            postfix_lab.set_hooks(policy=None)
        seen = len(stub.requests)
        res = postfix_lab.send("app@example.org", ["reject-me@example.com"], msg)
        assert res.accepted and len(stub.requests) == seen


def test_unreachable_policy_service_gives_451(postfix_lab):
    postfix_lab.set_hooks(policy="inet:127.0.0.1:%d" % lab.free_port())
    try:
        _, msg = make_message("no policy")
        res = postfix_lab.try_send("app@example.org", ["ok@example.com"], msg, timeout=60)
        assert (res.stage, res.code) == ("rcpt", 451)
    finally:
        postfix_lab.set_hooks(policy=None)


def test_filter_selects_per_ip_transport_and_log_names_it(postfix_lab):
    mid, msg = make_message("per-ip")
    with labstubs.PolicyStub() as stub:
        postfix_lab.set_hooks(policy=stub.address)
        try:
            res = postfix_lab.send("app@example.org", ["via-127-0-0-2@example.com"], msg)
        finally:
            postfix_lab.set_hooks(policy=None)
    d = postfix_lab.wait_delivery(res.queue_id, status="sent")
    assert d["service"] == "smtp-127.0.0.2"
    env, _ = postfix_lab.wait_sink_message(mid)
    assert env["client_addr"] == "127.0.0.2"


def test_filter_overrides_transport_maps_and_relayhost(postfix_lab):
    # Postfix behaviour the warm-up design must live with, pinned here:
    # "FILTER smtp-IP:" (empty next hop) replaces the transport_maps entry
    # of the recipient (hardbounce.example.com's error transport is not used)
    # and takes the recipient's domain as next hop instead of relayhost; in
    # the lab only smtp_fallback_relay brings it to the sink.
    mid, msg = make_message("filter vs transport_maps")
    rcpt = "via-127-0-0-2@" + lab.HARDBOUNCE_DOMAIN
    with labstubs.PolicyStub() as stub:
        postfix_lab.set_hooks(policy=stub.address)
        try:
            res = postfix_lab.send("app@example.org", [rcpt], msg)
        finally:
            postfix_lab.set_hooks(policy=None)
    d = postfix_lab.wait_delivery(res.queue_id)
    assert (d["status"], d["service"]) == ("sent", "smtp-127.0.0.2")
    assert postfix_lab.wait_sink_message(mid)[0]["client_addr"] == "127.0.0.2"
    # The same recipient without the policy hook is bounced by transport_maps.
    res = postfix_lab.send("app@example.org", [rcpt], msg)
    assert postfix_lab.wait_delivery(res.queue_id)["status"] == "bounced"


def test_filter_next_hop_is_the_recipient_domain_not_relayhost(lab_dir):
    # Without the lab's smtp_fallback_relay the FILTERed message goes
    # nowhere: Postfix looks up the recipient's domain (no DNS here), so
    # relayhost does NOT apply to "FILTER smtp-IP:".
    pf = lab.PostfixLab(lab_dir("postfix-nofallback"), extra_main_cf={"smtp_fallback_relay": ""},
                        extra_master_cf=[lab.ip_transport("127.0.0.2")])
    with labstubs.PolicyStub() as stub:
        pf.policy = stub.address
        pf.start()
        try:
            _, msg = make_message("no fallback")
            res = pf.send("app@example.org", ["via-127-0-0-2@example.com"], msg)
            d = pf.wait_delivery(res.queue_id)
        finally:
            pf.stop()
    assert d["relay"] == "none"
    assert "look up host example.com" in d["text"]


def test_postfix_stop_leaves_no_process(lab_dir):
    pf = lab.PostfixLab(lab_dir("postfix-stop"))
    pf.start()
    try:
        # Deliver one message so that smtpd, cleanup, smtp, postlogd... run too.
        _, msg = make_message("before stop")
        pf.send("app@example.org", ["user@example.com"], msg)
        pf.wait_sink(1)
        procs = pf.processes()
        names = set()
        for pid, _ in procs:
            with open("/proc/%d/comm" % pid) as f:
                names.add(f.read().strip())
        assert {"master", "qmgr", "postlogd", "smtpd", "cleanup", "smtp-sink"} <= names
        master_pid = pf.master_pid
    finally:
        pf.stop()
    assert [p for p in procs if lab.proc_alive(*p)] == []
    assert not pf.running
    # Nothing re-parented away either: Postfix's session is empty.
    assert lab.session_members(master_pid) == []


def test_hard_bounce_comes_back_to_the_pipe_as_a_real_dsn(postfix_lab):
    # The whole bounce loop inside the lab: Postfix refuses the recipient,
    # writes a DSN to the (VERP-style) sender in the bounce domain, and that
    # DSN arrives at the pipe command with a null sender.
    mid, msg = make_message("will bounce", sender="news@example.org",
                            to="gone@" + lab.HARDBOUNCE_DOMAIN)
    res = postfix_lab.send("b+t0k3n@" + BOUNCE, ["gone@" + lab.HARDBOUNCE_DOMAIN], msg)
    assert postfix_lab.wait_delivery(res.queue_id)["status"] == "bounced"
    recs = lab.wait_until(lambda: [r for r in postfix_lab.pipe_records()
                                   if r["argv"][1] == "b+t0k3n@" + BOUNCE], 30)
    assert recs, postfix_lab.maillog_tail()
    rec = recs[0]
    assert rec["argv"][0] == ""            # null sender
    assert rec["argv"][7] == "t0k3n"       # the extension carries the token
    dsn = rec["message"]
    assert b"Content-Type: multipart/report; report-type=delivery-status" in dsn
    assert b"Status: 5.1.1" in dsn
    assert b"Final-Recipient: rfc822; gone@" + lab.HARDBOUNCE_DOMAIN.encode() in dsn
    assert mid.encode() in dsn             # the returned original message


def test_sanitizer_options_reach_the_pipe_command(lab_dir, monkeypatch):
    # An ASan build of a pipe command must see ASAN_OPTIONS (make asan);
    # Postfix cleans its environment unless told otherwise.
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    pf = lab.PostfixLab(lab_dir("postfix-env"))
    pf.start()
    try:
        _, msg = make_message("env")
        res = pf.send_inbound("dsn@remote.example", ["exit-0@" + BOUNCE], msg)
        rec = pf.wait_pipe_record(res.queue_id)
    finally:
        pf.stop()
    assert rec["env"].get("ASAN_OPTIONS") == "detect_leaks=1:abort_on_error=0"
    assert rec["env"]["PATH"] == "/usr/bin:/bin"


def test_set_pipe_command_replaces_the_bounce_pipe(postfix_lab, lab_dir):
    # A test of bounce-proc swaps the recorder for the real program this way.
    out = lab_dir("pipe-alt")
    os.chown(out, 65534, 65534)
    script = os.path.join(out, "alt.sh")
    with open(script, "w") as f:
        f.write('#!/bin/sh\ncat > "%s/got.$$"\nprintf "%%s\\n" "$@" > "%s/args.$$"\n' % (out, out))
    staged = postfix_lab.stage_file(script)
    postfix_lab.set_pipe_command([staged, "--flag"])
    try:
        _, msg = make_message("alt pipe")
        res = postfix_lab.send_inbound("dsn@remote.example", ["exit-0@" + BOUNCE], msg)
        assert postfix_lab.wait_delivery(res.queue_id)["status"] == "sent"
        args = [f for f in os.listdir(out) if f.startswith("args.")]
        assert len(args) == 1
        with open(os.path.join(out, args[0])) as f:
            argv = f.read().splitlines()
        # "--flag", then the envelope arguments appended by the lab.
        assert argv[:3] == ["--flag", "dsn@remote.example", "exit-0@" + BOUNCE]
        assert argv[5] == res.queue_id
    finally:
        postfix_lab.set_pipe_command(None)
    res = postfix_lab.send_inbound("dsn@remote.example", ["exit-0@" + BOUNCE], msg)
    assert postfix_lab.wait_pipe_record(res.queue_id)["argv"][4] == res.queue_id


def test_milter_hook_signs_with_opendkim_and_goes_away_with_none(postfix_lab):
    import dkim
    with labstubs.OpenDkim(domain="example.com", selector="lab") as od:
        postfix_lab.set_hooks(milter=od.address)
        try:
            mid, msg = make_message("signed", sender="news@example.com")
            postfix_lab.send("news@example.com", ["user@example.com"], msg)
            _, got = postfix_lab.wait_sink_message(mid)
        finally:
            postfix_lab.set_hooks(milter=None)
        txt = od.txt_record.encode()

        def dns(name, timeout=5):
            return txt if name.rstrip(b".") == od.record_name.encode() else None
        assert b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=lab;" in got
        assert dkim.verify(got.replace(b"\n", b"\r\n"), dnsfunc=dns)
        # A changed body must not verify: the check above can fail.
        assert not dkim.verify(got.replace(b"\n", b"\r\n").replace(b"Hello", b"Jello"),
                               dnsfunc=dns)
    mid, msg = make_message("unsigned", sender="news@example.com")
    postfix_lab.send("news@example.com", ["user@example.com"], msg)
    _, got = postfix_lab.wait_sink_message(mid)
    assert b"DKIM-Signature" not in got


def test_lab_ports_are_reserved_from_construction_to_stop(lab_dir):
    # Postfix and smtp-sink listen with SO_REUSEPORT: a second lab handed the
    # same port would silently share it.  So a lab reserves its ports when it
    # is made (before anything listens) and keeps them until stop().
    import socket
    pf = lab.PostfixLab(lab_dir("ports"))
    ours = {pf.submit_port, pf.inbound_port, pf.sink_port}
    assert len(ours) == 3
    for port in ours:
        with socket.socket() as s, pytest.raises(OSError):
            s.bind(("127.0.0.1", port))
    handed_out = set()
    for _ in range(300):
        handed_out.add(lab.free_port())
        r = lab.reserve_port()
        handed_out.add(r.port)
        r.release()
    assert not handed_out & ours
    pf.stop()
    for port in ours:  # released: a plain bind works again
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_extra_pipe_domain_and_a_rejecting_sink(lab_dir):
    # An FBL domain beside the bounce domain; then the sink refuses every
    # recipient (smtp-sink -f RCPT -B "550 5.1.1 ..."), as a remote MX would,
    # and Postfix's DSN comes back through the bounce pipe.
    pf = lab.PostfixLab(lab_dir("postfix-extra"), extra_pipes={"fbl.example.net": None})
    pf.start()
    try:
        _, msg = make_message("arf")
        res = pf.send_inbound("fbl@provider.example", ["reports@fbl.example.net"], msg)
        assert pf.wait_delivery(res.queue_id, status="sent")["relay"] == "pipe1"
        assert pf.wait_pipe_record(res.queue_id)["argv"][3] == "fbl.example.net"

        mid, msg = make_message("remote refuses")
        with pf.rejecting_sink():
            res = pf.send("b+r3f@" + BOUNCE, ["user@example.com"], msg)
            d = pf.wait_delivery(res.queue_id)
        assert (d["status"], d["dsn"]) == ("bounced", "5.1.1")
        assert "said: 550 5.1.1" in d["text"]
        dsn = lab.wait_until(lambda: [r for r in pf.pipe_records()
                                      if r["argv"][1] == "b+r3f@" + BOUNCE], 30)
        assert dsn and mid.encode() in dsn[0]["message"]
        assert b"Remote-MTA: dns; 127.0.0.1" in dsn[0]["message"]
        # Back to normal after the block.
        res = pf.send("b+r3f@" + BOUNCE, ["user@example.com"], msg)
        assert pf.wait_delivery(res.queue_id)["status"] == "sent"
    finally:
        pf.stop()
