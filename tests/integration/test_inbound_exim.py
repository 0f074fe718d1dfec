"""test_inbound_exim - bounce-proc and fbl-proc as real Exim pipe transports.

Real Exim 4.96 (unpacked by `make deps`, test_policy_exim.exim_binary())
plays the inbound MX: `exim -bs -odi` receives each report over SMTP and
delivers it at once through the routers and pipe transports taken verbatim
from conf/exim-inbound.snippet; only the programs' and the config's paths and
the pipe user are replaced.  The pipe user is Exim's own (Debian-exim): a
config given with -C is not in Exim's trusted list, so Exim gives up root
and can run a pipe only as itself (mta-lab-notes.md, blocker 3); an operator
runs it as postflow.  What that user runs and reads is staged in the lab
directory as an operator would install it: the binaries (lab.stage_file),
postflow.conf (0644), the trace secret and the quarantine owned by the pipe
user.  Nothing of the envelope is in the command line: the programs read
Exim's pipe environment.  Redis is a real redis-server.

The reports are the ones the programs' own tests build (test_bounce_proc.dsn,
test_fbl_proc.arf: returned originals carrying a trace header whose MAC is
computed with Python's hmac from docs/trace-header.md), signed with the one
secret of this lab, plus a real DSN of the corpus (unverified: streamed,
suppresses nobody).

Covered: a verified DSN to a VERP address suppresses and streams; a
stranger's local part at the bounce domain is refused at RCPT; an ARF
complaint to the FBL address suppresses and streams; with Redis stopped,
bounce-proc exits 75, Exim defers (`==`, bounce-proc's reason in the main
log, no failure) and keeps the message; a forced delivery after Redis is
back delivers it and the event is in Redis once; a pipe command that dies of
a signal leaves the bounce frozen in the queue, not failed.
"""

import os
import pwd
import re
import subprocess
import types

import pytest

import postflow_lab as lab
import test_bounce_proc as tbp
import test_fbl_proc as tfp
from test_policy_exim import exim_base, exim_binary

HERE = os.path.dirname(os.path.abspath(__file__))
SNIPPET = os.path.join(HERE, "..", "..", "conf", "exim-inbound.snippet")
CORPUS = os.path.join(HERE, "..", "corpus", "bounces")
BOUNCE_DOMAIN = "bounce.example.com"
FBL_ADDRESS = "fbl@fbl.example.com"
PIPE_USER = "Debian-exim"


def snippet_sections(replace):
    """{"main", "routers", "transports": text} of the snippet, after the
    REPLACE pairs (each old string must occur)."""
    with open(SNIPPET) as f:
        text = f.read()
    for old, new in replace:
        assert old in text, "conf/exim-inbound.snippet no longer contains %r" % old
        text = text.replace(old, new)
    parts = re.split(r"^# ---- (main section|begin routers|begin transports) -*\n", text, flags=re.M)
    assert parts[1::2] == ["main section", "begin routers", "begin transports"], \
        "conf/exim-inbound.snippet lost its section markers: %r" % parts[1::2]
    return dict(zip(("main", "routers", "transports"), parts[2::2]))


def smtp_text(msg):
    """MSG (bytes, LF or CRLF lines) as DATA lines: CRLF, dot-stuffed, no final dot."""
    lines = msg.decode("utf-8", "surrogateescape").replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return ["." + l if l.startswith(".") else l for l in lines]


@pytest.fixture
def inbound(bin_path, redis_server, lab_dir, monkeypatch):
    """The inbound MX: .submit(sender, rcpt, msg) -> (SMTP replies, queue id
    or None); .exim(*args) runs exim with the lab's config; .mainlog();
    .configure(path) puts another program in bounce-proc's place."""
    exim = exim_binary()
    work = lab_dir("exim-inbound")
    ent = pwd.getpwnam(PIPE_USER)
    bindir = os.path.join(work, "bin")
    bounce_proc = lab.stage_file(bindir, bin_path("bounce-proc"))
    fbl_proc = lab.stage_file(bindir, bin_path("fbl-proc"))
    # One trace secret for both programs: test_fbl_proc's original() signs with its module's SECRET.
    monkeypatch.setattr(tfp, "SECRET", tbp.SECRET)
    secret = os.path.join(work, "trace.secret")
    with open(secret, "wb") as f:
        f.write(tbp.SECRET + b"\n")
    os.chmod(secret, 0o600)
    os.chown(secret, ent.pw_uid, ent.pw_gid)        # readable by the pipe user only
    quarantine = os.path.join(work, "quarantine")
    os.mkdir(quarantine, 0o700)
    os.chown(quarantine, ent.pw_uid, ent.pw_gid)
    pfconf = os.path.join(work, "postflow.conf")
    with open(pfconf, "w") as f:
        f.write(redis_server.redis_conf())
        f.write('trace = { key_id = "%s"; secret_file = "%s"; };\n' % (tbp.KEY_ID, secret))
        f.write('bounce = { quarantine_dir = "%s"; };\nfbl = { quarantine_dir = "%s"; };\n'
                % (quarantine, quarantine))
    os.chmod(pfconf, 0o644)
    econf = os.path.join(work, "exim.conf")

    def configure(bounce_command):
        sec = snippet_sections([("/usr/local/sbin/bounce-proc", bounce_command),
                                ("/usr/local/sbin/fbl-proc", fbl_proc), ("/etc/postflow/postflow.conf", pfconf),
                                ("user = postflow\n", "user = %s\n" % PIPE_USER),
                                ("group = postflow\n", "group = %s\n" % ent.pw_name)])
        with open(econf, "w") as f:
            f.write("\n".join(exim_base(work) + [sec["main"],
                # what the snippet's header asks of the site: the RCPT ACL accepts the two domains
                "domainlist local_domains = +postflow_bounce_domains : +postflow_fbl_domains",
                "acl_smtp_rcpt = acl_check_rcpt",
                "begin acl",
                "acl_check_rcpt:",
                "  accept  domains = +local_domains",
                "          verify  = recipient",
                "  deny    message = relay not permitted",
                "begin routers", sec["routers"],
                "begin transports", sec["transports"],
                "begin retry", "*  *  F,1h,1h", ""]))
    configure(bounce_proc)
    mainlog = os.path.join(work, "log", "mainlog")

    def run_exim(*args, stdin=""):
        return subprocess.run([exim, "-C", econf] + list(args), input=stdin, capture_output=True, text=True,
                              timeout=120)

    def submit(sender, rcpt, msg):
        # -bs: SMTP on stdin, ACLs as for a client at -oMa; -odi: delivered before the next command.
        commands = ["EHLO mx.reporter.example", "MAIL FROM:<%s>" % sender, "RCPT TO:<%s>" % rcpt]
        if msg is not None:
            commands += ["DATA"] + smtp_text(msg) + ["."]
        res = run_exim("-odi", "-oMa", "127.0.0.1", "-bs",
                       stdin="".join(c + "\r\n" for c in commands + ["QUIT"]))
        ids = re.findall(r"^250 OK id=(\S+)", res.stdout, re.M)
        return res.stdout + res.stderr, ids[0] if ids else None

    def read_mainlog():
        try:
            with open(mainlog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    return types.SimpleNamespace(submit=submit, exim=run_exim, mainlog=read_mainlog, configure=configure,
                                 work=work,
                                 r=redis_server.client(decode_responses=True), raw=redis_server.client(),
                                 quarantine=quarantine)


def lines_of(log, qid):
    return [l for l in log.splitlines() if " %s " % qid in l]


def test_a_verified_dsn_to_a_verp_address_suppresses(inbound):
    x = inbound
    tbp.attribution(x.r, "4dQx1p2Wz3")
    verp = "bounces+gone=gmail.com@" + BOUNCE_DOMAIN
    out, qid = x.submit("", verp, tbp.dsn("gone@gmail.com"))
    assert qid, out
    log = x.mainlog()
    assert any(re.search(r" => bounces <%s> R=postflow_bounces T=bounceproc$" % re.escape(verp), l)
               for l in lines_of(log, qid)), log
    assert "%s Completed" % qid in log, log
    sup = x.r.hgetall("pf:sup:{gone@gmail.com}")
    assert (sup.get("reason"), sup.get("source"), sup.get("queue_id")) == ("hard", "bounce-proc", "4dQx1p2Wz3"), sup
    [e] = tbp.stream(x.raw)
    assert (e["recipient"], e["verified"], e["action"]) == ("gone@gmail.com", "1", "hard"), e

    # A real DSN (the corpus) to the plain return path: no trace of ours, so streamed and nothing else.
    with open(os.path.join(CORPUS, "lhost-postfix-01.eml"), "rb") as f:
        real = f.read()
    out, qid2 = x.submit("", "bounces@" + BOUNCE_DOMAIN, real)
    assert qid2, out
    assert "%s Completed" % qid2 in x.mainlog(), x.mainlog()
    entries = tbp.stream(x.raw)
    assert len(entries) >= 2 and all(e["verified"] == "0" for e in entries[1:]), entries
    assert x.r.keys("pf:sup:*") == ["pf:sup:{gone@gmail.com}"]
    assert not os.listdir(x.quarantine)            # both were read, neither kept as unrecognized

    # Any other local part of the bounce domain is refused at RCPT (the router's local_parts).
    out, _ = x.submit("", "postmaster@" + BOUNCE_DOMAIN, None)
    assert re.search(r"^550 relay not permitted", out, re.M), out


def test_an_arf_complaint_to_the_fbl_address_suppresses(inbound):
    x = inbound
    tfp.attribution(x.r, "5eRy2q3Xa4", rcpt="angry@gmail.com")
    out, qid = x.submit("fbl@receiver.example", FBL_ADDRESS, tfp.arf("angry@gmail.com", qid="5eRy2q3Xa4"))
    assert qid, out
    log = x.mainlog()
    assert any(re.search(r" => fbl <%s> R=postflow_fbl T=fblproc$" % re.escape(FBL_ADDRESS), l)
               for l in lines_of(log, qid)), log
    [e] = tfp.stream(x.r)
    assert (e["type"], e["recipient"], e["verified"], e["source"], e["action"]) == \
        ("complaint", "angry@gmail.com", "1", "fbl-proc", "complaint"), e
    sup = x.r.hgetall("pf:sup:{angry@gmail.com}")
    assert (sup.get("reason"), sup.get("source")) == ("complaint", "fbl-proc"), sup
    assert not x.r.exists("pf:bounces")


def test_redis_down_defers_and_a_later_delivery_counts_once(inbound, redis_server):
    x = inbound
    verp = "bounces+gone=gmail.com@" + BOUNCE_DOMAIN
    redis_server.stop()
    out, qid = x.submit("", verp, tbp.dsn("gone@gmail.com"))
    assert qid, out
    mine = lines_of(x.mainlog(), qid)
    # Deferred (==) by the transport, with bounce-proc's reason from its stderr; never failed (**).
    assert any(re.search(r" == \S+ <%s> R=postflow_bounces T=bounceproc defer .*returned 75" % re.escape(verp), l)
               for l in mine), mine
    assert any("temporary failure" in l and "Redis" in l for l in mine), mine
    assert not any(" ** " in l or "Completed" in l for l in mine), mine
    assert x.exim("-bpc").stdout.strip() == "1"           # still queued

    redis_server.start()
    r = redis_server.client(decode_responses=True)
    tbp.attribution(r, "4dQx1p2Wz3")
    res = x.exim("-M", qid)                                 # the forced retry of a queue run
    assert res.returncode == 0, res.stdout + res.stderr
    mine = lines_of(x.mainlog(), qid)
    assert any(re.search(r" => bounces <%s> R=postflow_bounces T=bounceproc$" % re.escape(verp), l)
               for l in mine), mine
    assert "%s Completed" % qid in x.mainlog()
    x.exim("-qff")                                          # a queue run now finds nothing to redo
    assert x.exim("-bpc").stdout.strip() == "0"
    entries = [e for e in r.xrange("pf:bounces")]
    assert len(entries) == 1 and entries[0][1]["recipient"] == "gone@gmail.com", entries
    assert r.hget("pf:sup:{gone@gmail.com}", "reason") == "hard"
    assert not any(" ** " in l for l in mine), mine


def test_a_crashed_pipe_command_freezes_the_bounce(inbound):
    # Exim fails a command killed by a signal (Postfix defers); the snippet's
    # freeze_signal keeps the bounce.  A stand-in takes bounce-proc's place.
    x = inbound
    crash = os.path.join(x.work, "bin", "crash")
    with open(crash, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null\nkill -SEGV $$\n")
    os.chmod(crash, 0o755)
    x.configure(crash)
    out, qid = x.submit("", "bounces@" + BOUNCE_DOMAIN, tbp.dsn("gone@gmail.com"))
    assert qid, out
    mine = lines_of(x.mainlog(), qid)
    assert any(" == bounces@%s R=postflow_bounces T=bounceproc defer" % BOUNCE_DOMAIN in l and "signal 11" in l
               for l in mine), mine
    assert any(l.endswith(" Frozen") for l in mine) and not any(" ** " in l for l in mine), mine
    assert x.exim("-bpc").stdout.strip() == "1"
