"""test_milter_dkim_postfix.py - milter-dkim behind a real Postfix.

Mail is submitted over SMTP to a private Postfix 3.7 whose submit listener
has smtpd_milters = milter-dkim; Postfix relays it to smtp-sink.  What the
sink received (what the Internet would see) is verified by dkimpy, Mail::DKIM
(RSA) and OpenDKIM (Ed25519), with the public keys from a stub DNS.  Keys:
RSA-2048 with simple/simple and Ed25519 with relaxed/relaxed on the same
message; besides, one From domain per algorithm x canonicalization pair
(both algorithms x simple/simple, relaxed/relaxed, relaxed/simple,
simple/relaxed), each ruled to its own key, so every pair crosses Postfix.
Failure paths: the milter down, or started with a broken key, never stops
mail.
"""

import os
import shutil
import subprocess
import tempfile

import pytest

from milter_dkim_helpers import (CANON_PAIRS, Daemon, Key, check_pair_message, dns_records, nasty_messages,
                                 only_signature, pair_config_text, pair_keys, settled_files, with_from_domain,
                                 verify_dkimpy, verify_maildkim, verify_opendkim)

POSTFIX_LAB_OPTIONS = {"extra_main_cf": {"message_size_limit": "0"}}


@pytest.fixture(scope="module")
def keys():
    d = tempfile.mkdtemp(prefix="mdkim-pkeys-")
    os.chmod(d, 0o755)
    keygen = os.path.join(os.environ["POSTFLOW_BIN"], "dkim-keygen")
    yield {"rsa": Key(keygen, d, "example.com", "rsa1", "rsa"),
           "ed25519": Key(keygen, d, "example.com", "ed1", "ed25519")}
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def pkeys():
    """One key per (algorithm, canonicalization) pair, each on its own From domain."""
    d = tempfile.mkdtemp(prefix="mdkim-pairs-")
    os.chmod(d, 0o755)
    yield pair_keys(os.path.join(os.environ["POSTFLOW_BIN"], "dkim-keygen"), d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def config(keys, pkeys, tmp_path_factory):
    path = tmp_path_factory.mktemp("conf") / "postflow.conf"
    pair_entries, pair_rules = pair_config_text(pkeys)
    path.write_text(
        'milter_dkim = {\n'
        '  keys = ( { name = "rsa"; domain = "example.com"; selector = "rsa1"; key_file = "%s";\n'
        '             canonicalization = "simple/simple"; },\n'
        '           { name = "ed"; domain = "example.com"; selector = "ed1"; key_file = "%s"; },\n'
        '           %s );\n'
        '  signing_table = ( { from = "example.com"; keys = ["rsa", "ed"]; }, %s );\n'
        '};\n' % (keys["rsa"].path, keys["ed25519"].path, pair_entries, pair_rules))
    return str(path)


@pytest.fixture
def milter(bin_path, config, postfix_lab, tmp_path):
    d = Daemon(bin_path("milter-dkim"), ["-c", config], str(tmp_path / "milter.log"))
    postfix_lab.set_hooks(milter="inet:127.0.0.1:%d" % d.port)
    postfix_lab.clear_sink()
    yield d
    postfix_lab.set_hooks(milter=None)
    d.stop()


def check_both_signatures(msg, keys, workdir):
    recs = dns_records(keys.values())
    assert verify_dkimpy(msg, recs) == [True, True], msg[:3000]
    assert verify_maildkim(only_signature(msg, "rsa"), recs, workdir) == ["pass"]
    results, text = verify_opendkim(only_signature(msg, "ed25519"), recs)
    assert results == ["succeeded"], text


def test_every_nasty_message_verifies_after_postfix(milter, postfix_lab, keys, tmp_path):
    msgs = nasty_messages()
    for name in sorted(msgs):
        postfix_lab.send("sender@example.com", "rcpt@sink.example.org", msgs[name])
    delivered = [postfix_lab.parse_sink_file(p)[1] for p in settled_files(postfix_lab.sink, len(msgs))]
    assert len(delivered) == len(msgs)
    for msg in delivered:
        assert msg.count(b"DKIM-Signature:") == 2
        check_both_signatures(msg, keys, str(tmp_path))
    # Why OpenDKIM verifies the relaxed-body Ed25519 signature of lone_cr here but not with
    # --sign: Postfix removes the CRs before a line end and turns every other bare CR into a space
    # before the milter sees the message (the simple/simple RSA signature, which verified above,
    # proves the milter signed exactly this), so no bare CR reaches a verifier.
    (lone,) = [m for m in delivered if b"Subject: lone cr" in m]
    assert lone.split(b"\n\n", 1)[1] == b"a b\nc\nend\n"
    log = milter.read_log()
    assert log.count(": signed d=example.com s=rsa1 a=rsa-sha256, d=example.com s=ed1 a=ed25519-sha256 body=") \
        == len(msgs), log


@pytest.mark.parametrize("alg,canon", CANON_PAIRS, ids=["%s-%s" % p for p in CANON_PAIRS])
def test_every_algorithm_and_canonicalization_crosses_postfix(milter, postfix_lab, pkeys, tmp_path, alg, canon):
    """The same milter and Postfix, a From domain whose rule selects one key of this pair: every
    nasty message is signed with it and, as the sink received it, passes dkimpy and the second
    verifier (Mail::DKIM for RSA, OpenDKIM for Ed25519).  On "plain", tampered copies show the
    signature fails when the body changes and uses the claimed canonicalization (whitespace
    changes pass only where relaxed)."""
    key = pkeys[(alg, canon)]
    msgs = {name: with_from_domain(m, key.domain) for name, m in nasty_messages().items()}
    for name in sorted(msgs):
        postfix_lab.send("sender@example.com", "rcpt@sink.example.org", msgs[name])
    delivered = [postfix_lab.parse_sink_file(p)[1] for p in settled_files(postfix_lab.sink, len(msgs))]
    assert len(delivered) == len(msgs), [m[:400] for m in delivered]
    plain = [b"\nSubject: hello\n" in m.replace(b"\r\n", b"\n") for m in delivered]
    assert plain.count(True) == 1
    for msg, is_plain in zip(delivered, plain):
        check_pair_message(msg, key, canon, str(tmp_path), tamper_checks=is_plain)
    log = milter.read_log()
    assert log.count(": signed d=%s s=%s a=%s-sha256 body=" % (key.domain, key.selector, alg)) == len(msgs), log


def test_fifty_megabyte_message_through_postfix(milter, postfix_lab, keys, tmp_path):
    line = b"Fifty megabytes of body, streamed through the milter in 64 KB chunks. 0123456789\n"
    msg = nasty_messages()["plain"].split(b"\n\n")[0] + b"\n\n" + line * (50 * 1024 * 1024 // len(line) + 1)
    postfix_lab.send("sender@example.com", "rcpt@sink.example.org", msg, timeout=300)
    postfix_lab.wait_sink(1, timeout=300)
    (delivered,) = postfix_lab.sink_messages()
    recs = dns_records(keys.values())
    assert verify_dkimpy(delivered, recs) == [True, True]
    # The second, independent verifiers (~8 s here): Mail::DKIM on the RSA simple/simple signature,
    # OpenDKIM on the Ed25519 relaxed/relaxed one; then one changed byte near the end of the body
    # must make OpenDKIM fail (~3 s), so the whole 50 MB is what was hashed.
    assert verify_maildkim(only_signature(delivered, "rsa"), recs, str(tmp_path)) == ["pass"]
    ed_only = only_signature(delivered, "ed25519")
    results, text = verify_opendkim(ed_only, recs)
    assert results == ["succeeded"], text
    assert ed_only.endswith(b"0123456789\r\n")
    results, text = verify_opendkim(ed_only[:-3] + b"X\r\n", recs)
    assert results == ["failed"], text
    rss = int(open("/proc/%d/status" % milter.proc.pid).read().split("VmRSS:")[1].split()[0])
    if os.environ.get("POSTFLOW_VARIANT") != "asan":   # ASan's quarantine keeps freed chunks
        assert rss < 40 * 1024, "milter RSS %d kB after a 50 MB message" % rss


def test_unsigned_mail_still_flows_with_reason(milter, postfix_lab):
    res = postfix_lab.send("sender@example.com", "rcpt@sink.example.org",
                           b"From: a@example.com, b@example.com\nSubject: two authors\n\nbody\n")
    postfix_lab.wait_sink(1)
    (msg,) = postfix_lab.sink_messages()
    assert b"DKIM-Signature" not in msg
    assert "%s: not signed: multiple_from" % res.queue_id in milter.read_log()


def test_mail_flows_when_milter_is_down(postfix_lab):
    """No milter listening: Postfix's milter_default_action = accept delivers unsigned."""
    from milter_dkim_helpers import free_port
    postfix_lab.set_hooks(milter="inet:127.0.0.1:%d" % free_port())
    postfix_lab.clear_sink()
    try:
        postfix_lab.send("sender@example.com", "rcpt@sink.example.org", nasty_messages()["plain"])
        postfix_lab.wait_sink(1)
        assert b"DKIM-Signature" not in postfix_lab.sink_messages()[0]
    finally:
        postfix_lab.set_hooks(milter=None)


@pytest.mark.parametrize("on_error", ["accept", "tempfail"])
def test_bad_key_follows_on_error_behind_postfix(bin_path, postfix_lab, keys, tmp_path, on_error):
    """A key file that is not a key: the daemon still starts; accept delivers unsigned, tempfail
    makes Postfix answer 4xx at end of DATA (the client keeps the message).  Both are logged
    with Postfix's queue id."""
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    os.chmod(bad, 0o600)
    conf = tmp_path / "bad.conf"
    conf.write_text('milter_dkim = { on_error = "%s"; keys = ( { name = "bad"; domain = "example.com"; '
                    'selector = "x"; key_file = "%s"; } ); signing_table = ( { from = "example.com"; '
                    'keys = ["bad"]; } ); };\n' % (on_error, bad))
    d = Daemon(bin_path("milter-dkim"), ["-c", str(conf)], str(tmp_path / "milter.log"))
    postfix_lab.set_hooks(milter="inet:127.0.0.1:%d" % d.port)
    postfix_lab.clear_sink()
    try:
        res = postfix_lab.try_send("sender@example.com", "rcpt@sink.example.org", nasty_messages()["plain"])
        if on_error == "accept":
            assert res.stage == "done", res
            postfix_lab.wait_sink(1)
            assert b"DKIM-Signature" not in postfix_lab.sink_messages()[0]
            assert "%s: not signed: key 'bad'" % res.queue_id in d.read_log()
        else:
            assert res.stage == "data" and 400 <= res.code < 500, res
            assert postfix_lab.sink_messages() == []
            assert ": not signed: key 'bad'" in d.read_log() and "tempfail" in d.read_log()
    finally:
        postfix_lab.set_hooks(milter=None)
        d.stop()


def test_local_submission_is_trusted_through_non_smtpd_milters(bin_path, postfix_lab, keys, tmp_path):
    """trusted_networks excludes 127.0.0.1 here: SMTP mail from it stays unsigned, while mail
    submitted with sendmail(1) (Postfix non_smtpd_milters) is signed because trust_non_smtpd is on."""
    conf = tmp_path / "local.conf"
    conf.write_text('milter_dkim = { trusted_networks = ["192.0.2.0/24"]; trust_non_smtpd = true;\n'
                    '  keys = ( { name = "ed"; domain = "example.com"; selector = "ed1"; key_file = "%s"; } );\n'
                    '  signing_table = ( { from = "example.com"; keys = ["ed"]; } ); };\n' % keys["ed25519"].path)
    d = Daemon(bin_path("milter-dkim"), ["-c", str(conf)], str(tmp_path / "milter.log"))
    sock = "inet:127.0.0.1:%d" % d.port
    try:
        postfix_lab.postconf("non_smtpd_milters=" + sock)
        postfix_lab.set_hooks(milter=sock)
        postfix_lab.clear_sink()
        postfix_lab.send("sender@example.com", "rcpt@sink.example.org", nasty_messages()["plain"])
        postfix_lab.wait_sink(1)
        assert b"DKIM-Signature" not in postfix_lab.sink_messages()[0]
        postfix_lab.clear_sink()
        subprocess.run(["/usr/sbin/sendmail", "-C", postfix_lab.config_dir, "-f", "sender@example.com",
                        "rcpt@sink.example.org"], input=nasty_messages()["list_unsubscribe"], check=True,
                       timeout=60)
        postfix_lab.wait_sink(1, timeout=90)
        (msg,) = postfix_lab.sink_messages()
        assert verify_dkimpy(msg, dns_records([keys["ed25519"]])) == [True]
    finally:
        postfix_lab.postconf("non_smtpd_milters=")
        postfix_lab.set_hooks(milter=None)
        d.stop()
