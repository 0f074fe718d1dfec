"""test_milter_dkim_sign.py - `milter-dkim --sign` (the Exim transport_filter path).

Every message is signed by our binary and verified by independent
implementations with the public keys from a stub DNS: dkimpy for all,
Mail::DKIM for RSA, OpenDKIM's verifier for Ed25519 (Debian 12's Mail::DKIM
cannot verify Ed25519).  A tampered copy must fail, so a verifier that
accepts everything would be caught.
"""

import os
import shutil
import subprocess
import tempfile

import pytest

from milter_dkim_helpers import (SAMPLE_CONF, Key, dns_records, nasty_messages, to_crlf, verify_dkimpy,
                                 verify_maildkim, verify_opendkim, with_default_file, write_config,
                                 write_trace_config, TRACE_SECRET)

CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"]


@pytest.fixture(scope="module")
def keydir():
    d = tempfile.mkdtemp(prefix="mdkim-keys-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def keys(keydir):
    keygen = os.path.join(os.environ["POSTFLOW_BIN"], "dkim-keygen")
    return {"rsa": Key(keygen, keydir, "example.com", "rsa1", "rsa"),
            "ed25519": Key(keygen, keydir, "example.com", "ed1", "ed25519")}


def sign(bin_path, args, msg, check=True):
    p = subprocess.run([bin_path("milter-dkim"), "--sign", "-f"] + args, input=msg, capture_output=True,
                       timeout=300)
    if check:
        assert p.returncode == 0, p.stderr.decode()
    return p


def tamper(msg):
    head, sep, body = msg.partition(b"\n\n")
    return head.replace(b"Subject:", b"Subject: X", 1) + sep + body


@pytest.mark.parametrize("canon", CANONS)
@pytest.mark.parametrize("alg", ["rsa", "ed25519"])
@pytest.mark.parametrize("name", sorted(nasty_messages()))
def test_signed_message_verifies_independently(bin_path, keys, keydir, tmp_path, alg, canon, name):
    key = keys[alg]
    conf = write_config(str(tmp_path / "c.conf"), [key], canon=canon)
    msg = nasty_messages()[name]
    out = sign(bin_path, ["-c", conf], msg).stdout
    assert out.lower().startswith(b"dkim-signature:")
    assert b"a=%s-sha256;" % alg.encode() in out and b"c=%s;" % canon.encode() in out
    recs = dns_records([key])
    assert verify_dkimpy(out, recs) == [True]
    assert verify_dkimpy(tamper(out), recs) == [False]
    if alg == "rsa":
        assert verify_maildkim(out, recs, str(tmp_path)) == ["pass"]
        assert verify_maildkim(tamper(out), recs, str(tmp_path)) == ["fail"]
    elif name != "lone_cr" or canon.endswith("/simple"):
        # libopendkim's relaxed body canonicalization differs on a bare CR, whoever signed (see
        # test_bare_cr_opendkim_differs_on_relaxed_body_only); simple bodies verify.
        results, text = verify_opendkim(out, recs)
        assert results == ["succeeded"], text
        results, text = verify_opendkim(tamper(out), recs)
        assert results == ["failed"], text


@pytest.mark.parametrize("canon", CANONS)
def test_bare_cr_opendkim_differs_on_relaxed_body_only(bin_path, keys, tmp_path, canon):
    """The truth behind the lone_cr exception above.  A body with bare CRs ("a<CR>b", "c<CR><CR><LF>"):
    with a relaxed body, libopendkim (Debian 12) fails the signature whoever made it, ours or
    dkimpy's, while dkimpy and Mail::DKIM pass both (RFC 6376 3.4.4: CR is not WSP, it stays);
    with a simple body all three pass.  libopendkim does not refuse a bare CR outright.  Behind
    Postfix the question does not arise: Postfix removes bare CRs before the milter sees the message
    (test_milter_dkim_postfix.py)."""
    import dkim
    key = keys["rsa"]
    recs = dns_records([key])
    msg = to_crlf(nasty_messages()["lone_cr"])
    assert b"a\rb\r\n" in msg and b"c\r\r\n" in msg
    ours = sign(bin_path, ["-c", write_config(str(tmp_path / "c.conf"), [key], canon=canon)], msg).stdout
    with open(key.path, "rb") as f:
        theirs = dkim.sign(msg, b"rsa1", b"example.com", f.read(),
                           canonicalize=tuple(c.encode() for c in canon.split("/")),
                           include_headers=[b"from", b"to", b"subject"]) + msg
    want = "failed" if canon.endswith("/relaxed") else "succeeded"
    for signed in (ours, theirs):
        assert verify_dkimpy(signed, recs) == [True]
        assert verify_maildkim(signed, recs, str(tmp_path)) == ["pass"]
        results, text = verify_opendkim(signed, recs)
        assert results == [want], text


def test_crlf_input_keeps_crlf(bin_path, keys, tmp_path):
    msg = to_crlf(nasty_messages()["plain"])
    out = sign(bin_path, ["-d", "example.com", "-s", "ed1", "-k", keys["ed25519"].path], msg).stdout
    assert out.endswith(msg)
    assert b"\n" not in out.replace(b"\r\n", b"")
    assert verify_dkimpy(out, dns_records([keys["ed25519"]])) == [True]


def test_dual_rsa_and_ed25519_signatures(bin_path, keys, tmp_path):
    conf = write_config(str(tmp_path / "c.conf"), [keys["rsa"], keys["ed25519"]])
    out = sign(bin_path, ["-c", conf], nasty_messages()["list_unsubscribe"]).stdout
    recs = dns_records(keys.values())
    assert verify_dkimpy(out, recs) == [True, True]
    assert b"a=rsa-sha256" in out and b"a=ed25519-sha256" in out
    # List-Unsubscribe-Post is signed, and oversigned (RFC 8058 section 4).
    sig = out.split(b"\nFrom:")[0].replace(b"\n\t", b"")
    assert sig.count(b":List-Unsubscribe-Post") == 2 or sig.count(b"List-Unsubscribe-Post") >= 2


def test_oversigned_header_added_later_breaks_signature(bin_path, keys, tmp_path):
    key = keys["ed25519"]
    out = sign(bin_path, ["-d", "example.com", "-s", "ed1", "-k", key.path],
               nasty_messages()["plain"]).stdout
    recs = dns_records([key])
    assert verify_dkimpy(out, recs) == [True]
    added = out.replace(b"\nFrom:", b"\nReply-To: attacker@evil.example\nFrom:", 1)
    assert verify_dkimpy(added, recs) == [False]


def test_fifty_megabyte_body(bin_path, keys, tmp_path):
    key = keys["rsa"]
    line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n"
    body = line * (50 * 1024 * 1024 // len(line) + 1)
    msg = nasty_messages()["plain"].split(b"\n\n")[0] + b"\n\n" + body
    src = tmp_path / "big.eml"
    src.write_bytes(msg)
    with open(src, "rb") as fin:
        p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", bin_path("milter-dkim"), "--sign", "-f",
                            "-d", "example.com", "-s", "rsa1", "-k", key.path], stdin=fin,
                           capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    rss = int(p.stderr.decode().rsplit("maxrss_kb=", 1)[1].split()[0])
    assert rss < 30 * 1024, "memory grew with the message: %d kB" % rss
    assert p.stdout.endswith(body)
    assert verify_dkimpy(p.stdout, dns_records([key])) == [True]


def test_unsigned_when_from_is_missing_or_multiple(bin_path, keys):
    args = ["-d", "example.com", "-s", "ed1", "-k", keys["ed25519"].path]
    for msg, reason in [(b"To: a@example.net\nSubject: no from\n\nbody\n", b"no_from"),
                        (b"From: a@example.com, b@example.com\nSubject: two\n\nbody\n", b"multiple_from"),
                        (b"From: a@example.com\nFrom: b@example.com\n\nbody\n", b"multiple_from"),
                        (b"From: a@other.example\n\nbody\n", b"no_rule")]:
        p = sign(bin_path, args, msg)
        assert p.stdout == msg, "the message must pass through unchanged"
        assert b"not signed: " + reason in p.stderr


def test_missing_or_group_readable_key(bin_path, keys, tmp_path):
    """-n refuses the key (exit 78); signing passes the message unsigned (on_error = accept,
    logged with the queue id) or exits 75 (on_error = tempfail) so the MTA retries."""
    opened = tmp_path / "open.pem"
    shutil.copy(keys["ed25519"].path, opened)
    os.chmod(opened, 0o644)
    msg = nasty_messages()["plain"]
    for path, why in [(str(tmp_path / "nope.pem"), b"No such file"), (str(opened), b"group or other")]:
        p = subprocess.run([bin_path("milter-dkim"), "-n", "-d", "example.com", "-s", "x", "-k", path],
                           capture_output=True)
        assert p.returncode == 78 and why in p.stderr
        p = sign(bin_path, ["-q", "QMISS1", "-d", "example.com", "-s", "x", "-k", path], msg)
        assert p.stdout == msg
        assert b"QMISS1: not signed: key " in p.stderr and why in p.stderr
        conf = tmp_path / "t.conf"
        conf.write_text('milter_dkim = { on_error = "tempfail"; keys = ( { name = "k"; domain = "example.com"; '
                        'selector = "x"; key_file = "%s"; } ); signing_table = ( { from = "example.com"; '
                        'keys = ["k"]; } ); };\n' % path)
        p = sign(bin_path, ["-c", str(conf), "-q", "QMISS2"], msg, check=False)
        assert p.returncode == 75 and b"QMISS2: not signed: key " in p.stderr


def test_check_mode_and_print_config(bin_path, keys, tmp_path):
    conf = write_config(str(tmp_path / "c.conf"), [keys["rsa"]])
    p = subprocess.run([bin_path("milter-dkim"), "-n", "-c", conf], capture_output=True)
    assert p.returncode == 0 and b"configuration OK" in p.stdout
    (tmp_path / "bad.conf").write_text('milter_dkim = { keys = ( { name = "a"; domain = "example.com"; '
                                       'selector = "s"; key_file = "/nonexistent"; } ); wrokers = 3; };\n')
    p = subprocess.run([bin_path("milter-dkim"), "-n", "-c", str(tmp_path / "bad.conf")], capture_output=True)
    assert p.returncode == 78 and b"wrokers" in p.stderr
    p = subprocess.run([bin_path("milter-dkim"), "--print-config", "-c", conf], capture_output=True)
    assert p.returncode == 0 and b"milter_dkim" in p.stdout and b"List-Unsubscribe-Post" in p.stdout


def test_keygen_record_matches_key_and_refuses_overwrite(bin_path, keys, keydir):
    rec = keys["rsa"].record
    assert rec.startswith("v=DKIM1; k=rsa; p=")
    assert all(len(s) <= 255 for s in __import__("re").findall(r'"([^"]*)"', keys["rsa"].zone))
    assert oct(os.stat(keys["rsa"].path).st_mode & 0o777) == "0o600"
    p = subprocess.run([bin_path("dkim-keygen"), "-d", "example.com", "-s", "rsa1", "-o", keydir],
                       capture_output=True)
    assert p.returncode == 1 and b"exists" in p.stderr
    p = subprocess.run([bin_path("dkim-keygen"), "-d", "example.com", "-s", "tiny", "-b", "512", "-o", keydir],
                       capture_output=True)
    assert p.returncode == 64


def test_expiry_tag_and_no_length_tag(bin_path, keys, tmp_path):
    conf = write_config(str(tmp_path / "c.conf"), [keys["ed25519"]], extra='  signature_ttl = "1d";\n')
    out = sign(bin_path, ["-c", conf], nasty_messages()["plain"]).stdout
    sig = out.split(b"\nFrom:")[0].replace(b"\n\t", b" ")
    t = int(sig.split(b" t=")[1].split(b";")[0])
    x = int(sig.split(b" x=")[1].split(b";")[0])
    assert x - t == 86400
    assert b" l=" not in sig and b"rsa-sha1" not in sig
    assert verify_dkimpy(out, dns_records([keys["ed25519"]])) == [True]


def test_printed_config_loads_back(bin_path, keys, tmp_path):
    p = subprocess.run([bin_path("milter-dkim"), "--print-config", "-d", "example.com", "-s", "ed1", "-k",
                        keys["ed25519"].path], capture_output=True, check=True)
    (tmp_path / "printed.conf").write_bytes(p.stdout)
    p = subprocess.run([bin_path("milter-dkim"), "-n", "-c", str(tmp_path / "printed.conf")], capture_output=True)
    assert p.returncode == 0, p.stderr
    out = sign(bin_path, ["-c", str(tmp_path / "printed.conf")], nasty_messages()["plain"]).stdout
    assert verify_dkimpy(out, dns_records([keys["ed25519"]])) == [True]


def test_odd_streams_pass_through_or_sign(bin_path, keys, tmp_path):
    args = ["-d", "example.com", "-s", "ed1", "-k", keys["ed25519"].path]
    recs = dns_records([keys["ed25519"]])
    # Header only, not even a final line end: signed, with the line end SMTP would add.
    p = sign(bin_path, args, b"From: a@example.com\nSubject: header only")
    assert p.stdout.endswith(b"From: a@example.com\nSubject: header only\n")
    assert verify_dkimpy(p.stdout + b"\n", recs) == [True]
    # Not a message (no header field): passed through untouched.
    for junk in [b"", b"just some text\nwithout headers\n", b" leading space: x\n\nbody\n"]:
        p = sign(bin_path, args, junk)
        assert p.stdout == junk
    # Header fields no verifier would check: WSP before a colon (obsolete syntax that dkimpy refuses),
    # a NUL byte (RFC 5322 has none): passed through untouched, with the reason.
    for odd in [b"From: a@example.com\nSubject : obs\n\nbody\n", b"From: a@example.com\nX-Nul: a\0b\n\nbody\n"]:
        p = sign(bin_path, args, odd)
        assert p.stdout == odd and b"not signed: message has no header fields" in p.stderr
    # A header block over max_header_bytes: passed through untouched, with the reason.
    conf = write_config(str(tmp_path / "c.conf"), [keys["ed25519"]], extra="  max_header_bytes = 4096;\n")
    big = b"From: a@example.com\nX-Big: " + b"y" * 10000 + b"\n\nbody\n"
    p = sign(bin_path, ["-c", conf], big)
    assert p.stdout == big and b"header block over max_header_bytes" in p.stderr


def test_one_key_command_line_ignores_the_default_file(bin_path, keys, tmp_path):
    """-d/-s/-k without -c is the whole configuration, as OpenDKIM's one-key mode: the default file
    (here the shipped sample, as `make install` puts it, with example keys and an example.com rule
    that would clash with -d example.com) is read neither by --sign, nor -n, nor --print-config."""
    binary = bin_path("milter-dkim")
    with open(SAMPLE_CONF) as f:
        prefix = with_default_file(binary, str(tmp_path / "ns"), f.read())

    def run(args, msg=b""):
        return subprocess.run(prefix + [binary] + args, input=msg, capture_output=True, timeout=120)
    # The default file is really there for a run without -d/-s/-k.
    p = run(["--print-config"])
    assert p.returncode == 0 and b'"rsa-2026"' in p.stdout, p.stderr
    p = run(["-n"])
    assert p.returncode == 78 and b"/etc/postflow/keys/" in p.stderr, p.stderr
    one = ["-d", "example.com", "-s", "ed1", "-k", keys["ed25519"].path]
    p = run(["--sign", "-f", "-q", "ONEKEY"] + one, nasty_messages()["plain"])
    assert p.returncode == 0, p.stderr
    assert verify_dkimpy(p.stdout, dns_records([keys["ed25519"]])) == [True]
    assert b"ONEKEY: signed d=example.com s=ed1 a=ed25519-sha256" in p.stderr
    p = run(["-n"] + one)
    assert p.returncode == 0 and b"not read" in p.stdout, p.stdout + p.stderr
    p = run(["--print-config"] + one)
    assert p.returncode == 0 and b"rsa-2026" not in p.stdout and b'"cmdline:example.com"' in p.stdout
    # With -c the named file is read, and -d adds to it (its rule clashes here: refused).
    conf = tmp_path / "sample.conf"
    shutil.copy(SAMPLE_CONF, conf)
    p = run(["-n", "-c", str(conf)] + one)
    assert p.returncode == 64 and b"already has a rule" in p.stderr, p.stderr


def test_comma_list_of_domains_on_the_command_line(bin_path, keys):
    """-d a,b -s S -k K: one key and rule per domain, d= the From domain, the same key (published
    under both domains); a domain not in the list is not signed."""
    key = keys["ed25519"]
    args = ["-d", "example.com,example.org", "-s", "ed1", "-k", key.path]
    recs = {"ed1._domainkey.example.com": key.record, "ed1._domainkey.example.org": key.record}
    for domain in ("example.com", "example.org"):
        msg = nasty_messages()["plain"].replace(b"joe@example.com", b"joe@" + domain.encode())
        out = sign(bin_path, args, msg).stdout
        assert b"d=%s;" % domain.encode() in out
        assert verify_dkimpy(out, recs) == [True]
    msg = nasty_messages()["plain"].replace(b"joe@example.com", b"joe@example.net")
    p = sign(bin_path, args, msg)
    assert p.stdout == msg and b"not signed: no_rule" in p.stderr


def test_group_readable_key_allowed_through_the_config(bin_path, keys, tmp_path):
    """A 0640 key is refused by default and used with allow_group_readable_keys = true."""
    key = keys["rsa"]
    shared = tmp_path / "shared.private"
    shutil.copy(key.path, shared)
    os.chmod(shared, 0o640)
    msg = nasty_messages()["plain"]

    def config(extra):
        path = write_config(str(tmp_path / "c.conf"), [key], extra=extra)
        text = open(path).read().replace(key.path, str(shared))
        open(path, "w").write(text)
        return path
    p = sign(bin_path, ["-c", config(""), "-q", "GRP1"], msg)
    assert p.stdout == msg and b"GRP1: not signed: key " in p.stderr and b"group or other" in p.stderr
    p = sign(bin_path, ["-c", config("  allow_group_readable_keys = true;\n"), "-q", "GRP2"], msg)
    assert b"GRP2: signed d=example.com s=rsa1 a=rsa-sha256" in p.stderr
    assert verify_dkimpy(p.stdout, dns_records([key])) == [True]


def test_trace_header_through_sign_takes_the_queue_id(bin_path, keys, tmp_path):
    """--sign -q QUEUEID with trace_header = true: the trace header carries q=QUEUEID, its MAC
    checks with the documented format (docs/trace-header.md), and the signature covers it."""
    import base64
    import hashlib
    import hmac
    import re
    conf = write_trace_config(tmp_path, keys["ed25519"])
    out = sign(bin_path, ["-c", conf, "-q", "1tXq7Z-000Abc-9Q"], nasty_messages()["plain"]).stdout
    value = re.search(rb"(?m)^X-Postflow-Trace: (.*)$", out).group(1).strip()
    assert b"q=1tXq7Z-000Abc-9Q;" in value and b"d=example.com;" in value
    signed_part, mac = value.rsplit(b" m=", 1)
    want = base64.urlsafe_b64encode(hmac.new(TRACE_SECRET, signed_part,
                                             hashlib.sha256).digest()[:16]).rstrip(b"=")
    assert mac == want
    sig = out.split(b"\nX-Postflow-Trace:")[0].replace(b"\n\t", b"")
    assert b"X-Postflow-Trace" in sig.split(b"h=", 1)[1]
    recs = dns_records([keys["ed25519"]])
    assert verify_dkimpy(out, recs) == [True]
    assert verify_dkimpy(out.replace(b"q=1tXq7Z-000Abc-9Q;", b"q=1tXq7Z-000Abc-9R;"), recs) == [False]


@pytest.mark.parametrize("msg", [b"From: Joe <joe@example.com>\r\nSubject: lf separator\r\n\nbody\r\n",
                                 b"From: Joe <joe@example.com>\r\nSubject: lf body\r\n\r\nbody\nline two\n",
                                 b"From: Joe <joe@example.com>\nSubject: crlf body\n\nbody\r\nline two\r\n"],
                         ids=["crlf_header_lf_separator", "crlf_header_lf_body", "lf_header_crlf_body"])
def test_mixed_line_ends_are_kept_and_signed_as_smtp_carries_them(bin_path, keys, msg):
    """Line ends that change style within a message (found by fuzz_sign_stdin): the bytes are
    written back as read (the separator used to be rewritten in the header's style, and the last
    header line got a stray CR), and the signature covers every LF as the CRLF SMTP makes of it."""
    key = keys["ed25519"]
    p = sign(bin_path, ["-d", "other.example", "-s", "ed1", "-k", key.path], msg)
    assert p.stdout == msg, "unsigned mail must come back unchanged"
    out = sign(bin_path, ["-d", "example.com", "-s", "ed1", "-k", key.path], msg).stdout
    assert out.startswith(b"DKIM-Signature:") and out.endswith(msg)
    recs = dns_records([key])
    assert verify_dkimpy(out, recs) == [True]
    results, text = verify_opendkim(out, recs)
    assert results == ["succeeded"], text
