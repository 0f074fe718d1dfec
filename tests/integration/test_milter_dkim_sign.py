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

from milter_dkim_helpers import (Key, dns_records, nasty_messages, to_crlf, verify_dkimpy,
                                 verify_maildkim, verify_opendkim, write_config)

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
    elif name != "lone_cr":
        # libopendkim rejects a bare CR outright (dkim_chunk(): "Syntax error", whoever signed),
        # so for that message dkimpy is the Ed25519 verifier; Mail::DKIM agrees with it for RSA.
        results, text = verify_opendkim(out, recs)
        assert results == ["succeeded"], text
        results, text = verify_opendkim(tamper(out), recs)
        assert results == ["failed"], text


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


def test_missing_key_is_a_config_error(bin_path, tmp_path):
    p = sign(bin_path, ["-d", "example.com", "-s", "x", "-k", str(tmp_path / "nope.pem")], b"From: a@example.com\n\nx\n",
             check=False)
    assert p.returncode == 78
    assert b"nope.pem" in p.stderr


def test_group_readable_key_refused(bin_path, keys, tmp_path):
    k = tmp_path / "open.pem"
    shutil.copy(keys["ed25519"].path, k)
    os.chmod(k, 0o644)
    p = sign(bin_path, ["-d", "example.com", "-s", "ed1", "-k", str(k)], b"From: a@example.com\n\nx\n", check=False)
    assert p.returncode == 78
    assert b"group or other" in p.stderr


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
    assert p.returncode != 0 and b"exists" in p.stderr
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
