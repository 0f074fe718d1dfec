"""test_milter_dkim_exim.py - `milter-dkim --sign` as a real Exim transport_filter.

A private Exim 4.96 (the binary unpacked from Debian's package, see
test_policy_exim.py) delivers over SMTP to smtp-sink through an smtp
transport whose transport_filter line is taken from conf/exim-dkim.snippet,
so the shipped snippet is what is tested.  What the sink received is
verified by dkimpy, Mail::DKIM (RSA) and OpenDKIM (Ed25519); one From
domain per algorithm x canonicalization pair, each ruled to its own key,
makes every pair cross Exim.  The filter runs as Exim's user: the keys
must be readable by that user, which the test arranges as an operator
would (chown), and so must the binary: the lab runs a staged copy in its
own 0755 directory (lab.stage_file), since the build may sit in a clone
other users cannot enter (/root, or any 0700 directory).  A failed delivery
shows Exim's own log lines.
"""

import os
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

import postflow_lab as lab
from labsink import SmtpSink, parse_sink_file
from milter_dkim_helpers import (CANON_PAIRS, Key, check_pair_message, dns_records, nasty_messages,
                                 only_signature, pair_config_text, pair_keys, settled_files, verify_dkimpy,
                                 verify_maildkim, verify_opendkim, with_from_domain)
from test_policy_exim import CACHE, exim_binary

SNIPPET = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "exim-dkim.snippet")


def snippet_filter_line(binary, config):
    with open(SNIPPET) as f:
        line = re.search(r"^  transport_filter = (.*)$", f.read(), re.M).group(1)
    return line.replace("/usr/local/sbin/milter-dkim", binary).replace("/etc/postflow/postflow.conf", config)


def start_exim_lab(bin_path, lab_dir):
    """The lab of this module (a generator: yields its dict, then stops the sink)."""
    exim = exim_binary()
    w = lab_dir("exim-dkim")
    ent = pwd.getpwnam("Debian-exim")
    for d in ("spool", "log", "sink", "keys"):
        os.makedirs(os.path.join(w, d))
    for d in ("spool", "log", "keys"):
        os.chown(os.path.join(w, d), ent.pw_uid, ent.pw_gid)
    os.chown(os.path.join(w, "sink"), pwd.getpwnam("nobody").pw_uid, -1)
    keygen = bin_path("dkim-keygen")
    keys = {"rsa": Key(keygen, os.path.join(w, "keys"), "example.com", "rsa1", "rsa"),
            "ed25519": Key(keygen, os.path.join(w, "keys"), "example.com", "ed1", "ed25519")}
    pkeys = pair_keys(keygen, os.path.join(w, "keys"))  # one per (algorithm, canonicalization), own domain
    for k in list(keys.values()) + list(pkeys.values()):
        os.chown(k.path, ent.pw_uid, ent.pw_gid)       # the filter runs as Exim's user
    conf = os.path.join(w, "postflow.conf")
    pair_entries, pair_rules = pair_config_text(pkeys)
    with open(conf, "w") as f:
        f.write('milter_dkim = { keys = ( { name = "r"; domain = "example.com"; selector = "rsa1"; '
                'key_file = "%s"; canonicalization = "simple/simple"; }, { name = "e"; domain = "example.com"; '
                'selector = "ed1"; key_file = "%s"; }, %s ); signing_table = ( { from = "example.com"; '
                'keys = ["r", "e"]; }, %s ); };\n' % (keys["rsa"].path, keys["ed25519"].path, pair_entries,
                                                       pair_rules))
    port = lab.free_port()
    sink = SmtpSink(os.path.join(w, "sink"), port, os.path.join(w, "sink.log")).start()
    econf = os.path.join(w, "exim.conf")
    with open(econf, "w") as f:
        f.write("\n".join([
            "exim_path = %s" % exim,
            "spool_directory = %s/spool" % w,
            "log_file_path = %s/log/%%slog" % w,
            "primary_hostname = mta.lab.test",
            "host_lookup =", "rfc1413_hosts =", "keep_environment =",
            "begin routers",
            "sink:", "  driver = manualroute", "  route_list = * 127.0.0.1", "  transport = remote_smtp",
            "  self = send",
            "begin transports",
            "remote_smtp:", "  driver = smtp", "  port = %d" % port, "  allow_localhost", "  hosts_avoid_tls = *",
            "  transport_filter = " + snippet_filter_line(lab.stage_file(os.path.join(w, "bin"),
                                                                        bin_path("milter-dkim")), conf),
            "begin retry", "*  *  F,1m,1m", ""]))

    def send(msg):
        p = subprocess.run([exim, "-C", econf, "-odi", "-f", "sender@example.com", "rcpt@sink.example.org"],
                           input=msg, capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr

    def mainlog():
        with open(os.path.join(w, "log", "mainlog"), errors="replace") as f:
            return f.read()

    def settled(count, timeout=60):
        """settled_files(), or a failure that shows what Exim logged."""
        try:
            return settled_files(sink, count, timeout)
        except lab.LabError as e:
            logs = []
            for name in ("mainlog", "paniclog"):
                path = os.path.join(w, "log", name)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        logs.append("exim %s (last lines):\n%s" % (name, "".join(f.readlines()[-20:])))
            raise lab.LabError("%s\n%s" % (e, "\n".join(logs) or "exim wrote no log")) from None
    try:
        yield {"send": send, "sink": sink, "keys": keys, "pkeys": pkeys, "mainlog": mainlog, "settled": settled,
               "dir": w}
    finally:
        sink.stop()


@pytest.fixture
def exim_lab(bin_path, lab_dir):
    yield from start_exim_lab(bin_path, lab_dir)


@pytest.fixture
def private_bin_path(bin_path):
    """bin_path, but the binaries are copies in a fresh mode-0700 directory:
    a build in a clone no other user can enter (/root on Debian)."""
    private = tempfile.mkdtemp(prefix="postflow-private-bin-")
    assert os.stat(private).st_mode & 0o777 == 0o700

    def resolve(name):
        dest = os.path.join(private, name)
        if not os.path.exists(dest):
            shutil.copy2(bin_path(name), dest)
        return dest
    yield resolve
    shutil.rmtree(private, ignore_errors=True)


def test_exim_transport_filter_signs_and_receivers_verify(exim_lab):
    msgs = nasty_messages()
    names = ["plain", "folded_long_headers", "eight_bit_headers", "empty_body", "no_final_newline",
             "duplicate_headers", "list_unsubscribe"]
    for name in names:
        exim_lab["send"](msgs[name])
    files = exim_lab["settled"](len(names))
    recs = dns_records(exim_lab["keys"].values())
    for path in files:
        _, msg = parse_sink_file(path)
        assert verify_dkimpy(msg, recs) == [True, True], msg[:2000]
        assert verify_maildkim(only_signature(msg, "rsa"), recs, exim_lab["dir"]) == ["pass"]
        results, text = verify_opendkim(only_signature(msg, "ed25519"), recs)
        assert results == ["succeeded"], text
    log = exim_lab["mainlog"]()
    assert log.count(" => rcpt@sink.example.org") == len(names), log[-3000:]


def test_exim_every_algorithm_and_canonicalization_pair(exim_lab):
    """One Exim lab, one From domain per (algorithm, canonicalization) pair, each ruled to one key:
    every message, as the sink received it, carries that key's signature in that canonicalization
    and passes dkimpy and the second verifier (Mail::DKIM for RSA, OpenDKIM for Ed25519).  On
    "plain", tampered copies show the signature fails when the body changes and uses the claimed
    canonicalization (whitespace changes pass only where relaxed)."""
    msgs = nasty_messages()
    names = ["plain", "folded_long_headers", "eight_bit_headers", "empty_body", "no_final_newline",
             "duplicate_headers", "list_unsubscribe"]
    by_domain = {k.domain: (pair, k) for pair, k in exim_lab["pkeys"].items()}
    for alg, canon in CANON_PAIRS:
        for name in names:
            exim_lab["send"](with_from_domain(msgs[name], exim_lab["pkeys"][(alg, canon)].domain))
    files = exim_lab["settled"](len(names) * len(CANON_PAIRS), timeout=120)
    assert len(files) == len(names) * len(CANON_PAIRS)
    seen = {}
    for path in files:
        _, msg = parse_sink_file(path)
        domain = re.search(rb"(?m)^From:[^\n]*@([^>\s]+)>", msg).group(1).decode()
        (alg, canon), key = by_domain[domain]
        is_plain = b"\nSubject: hello\n" in msg.replace(b"\r\n", b"\n")
        check_pair_message(msg, key, canon, exim_lab["dir"], tamper_checks=is_plain)
        seen.setdefault((alg, canon), []).append(is_plain)
    assert {p: (len(v), v.count(True)) for p, v in seen.items()} == {p: (len(names), 1) for p in CANON_PAIRS}


def test_exim_filter_runs_when_the_build_is_in_a_private_directory(private_bin_path, lab_dir):
    """`make check` in a clone under /root (mode 0700): Exim runs the transport filter as its own
    user, who cannot enter the build's directory.  The lab runs a copy it can reach, so the message
    still leaves signed; run from the private directory itself, Exim would log "transport filter
    process failed (127)" and deliver nothing."""
    gen = start_exim_lab(private_bin_path, lab_dir)
    x = next(gen)
    try:
        x["send"](nasty_messages()["plain"])
        files = x["settled"](1)
        _, msg = parse_sink_file(files[0])
        assert verify_dkimpy(msg, dns_records(x["keys"].values())) == [True, True], msg[:2000]
        assert "transport filter process failed" not in x["mainlog"]()
    finally:
        gen.close()
