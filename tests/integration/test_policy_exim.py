"""test_policy_exim - the same daemon behind Exim's ACLs (exim -bh).

Exim and Postfix conflict as packages, so `make deps` downloads Exim's
binary with `apt-get download exim4-daemon-light` and unpacks it into a
cache directory (scripts/install-deps.sh); exim_binary() tries the same
itself when it is not there, and fails the test with the reason (never
skips) when it still is not.  The ACLs come verbatim from
conf/exim-policy.snippet, so the shipped snippet is what is tested; only the
daemon's address is replaced, and one logwrite is added at the end of the
DATA ACL: it expands the snippet's remote_smtp `interface` option (the
source address the transport would bind to) in the message's context, so
the test sees the steering answer arrive in Exim's ACL variable, not just in
the daemon's log.  `exim -bh` runs a whole SMTP conversation through the
ACLs (readsocket included) without delivering anything.

The delivery tests go further: `exim -bs -odi` receives and delivers for
real, to an smtp-sink, through the snippet's remote_smtp transport (its
interface and helo_data verbatim, but for the HELO file's path), alone and
merged with the transport_filter options of conf/exim-dkim.snippet.
"""

import glob
import os
import pwd
import re
import subprocess
import types

import pytest

import postflow_lab as lab
from labsink import SmtpSink
from milter_dkim_helpers import Key, dns_records, verify_dkimpy
from policyd_lab import Policyd

CACHE = "/tmp/postflow-exim-cache"
SNIPPET = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "exim-policy.snippet")


def _unpack_exim():
    """Download and unpack exim4-daemon-light into CACHE/root, as `make deps`
    does (for a checkout whose last `make deps` predates that step).
    Returns why it failed, or None."""
    try:
        os.makedirs(CACHE, exist_ok=True)
        os.chmod(CACHE, 0o755)
        res = subprocess.run(["apt-get", "download", "exim4-daemon-light"], cwd=CACHE,
                             capture_output=True, text=True, timeout=120)
        debs = sorted(glob.glob(os.path.join(CACHE, "exim4-daemon-light_*.deb")))
        if not debs:
            return "apt-get download exim4-daemon-light: " + (res.stderr.strip()[-300:] or "no package")
        res = subprocess.run(["dpkg-deb", "-x", debs[-1], os.path.join(CACHE, "root")], capture_output=True,
                             text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if res.returncode == 0 else "dpkg-deb -x %s: %s" % (debs[-1], res.stderr.strip()[-300:])


def exim_binary():
    """The unpacked Exim 4.96.  Never skips: what is missing fails the test,
    saying why and that `make deps` (scripts/install-deps.sh) provides it."""
    exim = os.path.join(CACHE, "root", "usr", "sbin", "exim4")
    if not os.path.exists(exim):
        why = _unpack_exim()
        if not os.path.exists(exim):
            pytest.fail("Exim is not unpacked in %s (%s): run `make deps`" % (CACHE, why or "no exim4 in the package"),
                        pytrace=False)
    try:
        pwd.getpwnam("Debian-exim")       # compiled into Debian's binary
    except KeyError:
        if os.geteuid() != 0:
            pytest.fail("user Debian-exim is missing and we are not root: run `make deps` as root", pytrace=False)
        subprocess.run(["useradd", "-r", "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                        "Debian-exim"], check=True)
    missing = [l for l in subprocess.run(["ldd", exim], capture_output=True, text=True).stdout.splitlines()
               if "not found" in l]
    if missing:
        pytest.fail("exim needs libraries that are not installed: %s: run `make deps`" % missing, pytrace=False)
    return exim


def exim_base(workdir):
    """The main-section lines every lab exim.conf starts with (binary, spool
    and log in WORKDIR, no lookups, no environment); creates the spool and
    log directories, owned by Exim's user."""
    spool = os.path.join(workdir, "spool")
    os.makedirs(os.path.join(workdir, "log"), exist_ok=True)
    os.makedirs(spool, exist_ok=True)
    ent = pwd.getpwnam("Debian-exim")       # Exim receives the message and logs as this user
    for d in (spool, os.path.join(workdir, "log")):
        os.chown(d, ent.pw_uid, ent.pw_gid)
    return [
        "exim_path = %s" % os.path.join(CACHE, "root", "usr", "sbin", "exim4"),
        "spool_directory = %s" % spool,
        "log_file_path = %s/log/%%slog" % workdir,
        "primary_hostname = mta.lab.test",
        "host_lookup =",
        "rfc1413_hosts =",
        "keep_environment =",
    ]


INTERFACE_LOG = "pf test: transport interface=<%s>"
HELO_FILE = "/etc/exim4/helo-by-ip"


def snippet_sections():
    """{"main", "acl", "transports": text} of the snippet, split at its markers."""
    with open(SNIPPET) as f:
        snippet = f.read()
    parts = re.split(r"^# ---- (main section|begin acl|begin transports) -*\n", snippet, flags=re.M)
    names = parts[1::2]
    assert names == ["main section", "begin acl", "begin transports"], \
        "conf/exim-policy.snippet lost its section markers: %r" % names
    return dict(zip(("main", "acl", "transports"), parts[2::2]))


def snippet_main():
    """The snippet's main-section settings (the ACL names, the log selector)."""
    lines = [l for l in snippet_sections()["main"].splitlines() if l.strip() and not l.startswith("#")]
    assert lines and all(re.match(r"(acl_smtp_\w+ = \w+|log_selector = [+\w ]+)$", l) for l in lines), lines
    return lines


def snippet_transport(helo_file):
    """The snippet's remote_smtp transport, verbatim but for the HELO file's path."""
    text = snippet_sections()["transports"]
    assert HELO_FILE in text, "the snippet's helo_data should read %s" % HELO_FILE
    lines = [l for l in text.replace(HELO_FILE, helo_file).splitlines() if not l.lstrip().startswith("#")]
    assert lines[0] == "remote_smtp:", "the snippet's transport section should start with remote_smtp: %r" % lines
    return lines


def snippet_parts():
    """(ACL text, the remote_smtp transport's interface expansion) of the snippet."""
    sec = snippet_sections()
    acls, transports = sec["acl"], sec["transports"]
    assert acls.count("inet:127.0.0.1:10040") == 2, "the snippet's ACLs should ask inet:127.0.0.1:10040 twice"
    m = re.findall(r"^\s*interface\s*=\s*(.+)$", transports, re.M)
    assert len(m) == 1, "conf/exim-policy.snippet: expected one interface = in remote_smtp, found %r" % m
    return acls, m[0].strip()


def exim_config(workdir, policy_port, extra=()):
    """exim.conf in WORKDIR for the daemon on POLICY_PORT; EXTRA: more lines
    after the ACLs (routers, transports)."""
    acls, interface = snippet_parts()
    acls = acls.replace("inet:127.0.0.1:10040", "inet:127.0.0.1:%d" % policy_port)
    # acl_check_data ends with its accept: log the transport's interface just before.
    head, sep, tail = acls.partition("acl_check_data:\n")
    body, accept, rest = tail.rpartition("\n  accept")
    assert sep and accept and not rest.strip(), \
        "conf/exim-policy.snippet: acl_check_data is no longer the last ACL, ending with accept"
    logwrite = "\n  warn    logwrite = " + INTERFACE_LOG % interface
    acls = head + sep + body + logwrite + accept + rest
    main = "\n".join(exim_base(workdir) + ["hostlist relay_from_hosts = 127.0.0.1"] + snippet_main()
                     + ["", "begin acl"])
    path = os.path.join(workdir, "exim.conf")
    with open(path, "w") as f:
        f.write(main + "\n" + acls + "\n".join(extra) + "\n")
    return path


def smtp_session(exim, conf, commands):
    script = "".join(c + "\r\n" for c in commands)
    res = subprocess.run([exim, "-C", conf, "-bh", "127.0.0.1"], input=script, capture_output=True,
                         text=True, timeout=60)
    # Exim's own replies are the lines that start with an SMTP code (the rest is -bh commentary).
    return [l for l in res.stdout.splitlines() if re.match(r"^\d{3}[ -]", l)], res.stdout + res.stderr


POLICY_CONF = """
redis = { address = "%s"; };
policy = {
  warmup = {
    smoothing_hours = 0;
    schedules = ( { name = "std"; caps = "1"; } );
    pools = ( { name = "main"; sender_domains = [ "example.com" ];
                ips = ( { address = "127.0.0.2"; schedule = "std"; } ); } );
  };
};
"""


def test_exim_acls_get_the_same_answers(bin_path, redis_server, lab_dir):
    exim = exim_binary()
    work = lab_dir("exim")
    r = redis_server.client(decode_responses=True)
    r.hset("pf:sup:{gone@example.org}", mapping={"reason": "hard", "source": "bounce-proc", "time": "1",
                                                  "detail": "5.1.1 userunknown"})
    pd = Policyd(bin_path("policyd-warmup"), work, POLICY_CONF % redis_server.address).start()
    try:
        conf = exim_config(work, pd.port)
        message = ["Subject: exim test", "", "hello", "."]
        replies, out = smtp_session(exim, conf, [
            "EHLO client.lab.test", "MAIL FROM:<news@example.com>",
            "RCPT TO:<gone@example.org>",          # suppressed: 550 with the reason
            "RCPT TO:<fine@gmail.com>",            # accepted
            "DATA"] + message + [                  # first message: within the cap, steered to 127.0.0.2
            "MAIL FROM:<news@example.com>", "RCPT TO:<again@gmail.com>",
            "DATA"] + message + [                  # second: over the cap of 1 -> 4xx after the data
            "MAIL FROM:<news@elsewhere.example>", "RCPT TO:<other@gmail.com>",
            "DATA"] + message + [                  # third: in no pool, not steered
            "QUIT"])
        text = "\n".join(replies)
        assert re.search(r"^550[ -].*5\.1\.1 recipient is on the suppression list \(hard bounce", text, re.M), out
        assert re.search(r"^250 Accepted", text, re.M), out
        ids = re.findall(r"^250 OK id=(\S+)", text, re.M)
        assert len(ids) == 2, out                                        # first and third accepted
        assert re.search(r"^451 4\.7\.1 sending volume limit reached", text, re.M), out   # second deferred
        # The daemon saw Exim's end-of-message request and chose the IP for it...
        assert "DUNNO interface=127.0.0.2 ip=127.0.0.2 pool=main" in pd.log(), pd.log()
        # ... and the answer reached the ACL variable: the snippet's transport
        # would bind the first message to 127.0.0.2 and the third to the
        # host's default address (empty interface).  The deferred second
        # message never got that far.
        logged = re.findall(r"^LOG: (\S+) " + re.escape(INTERFACE_LOG).replace("%s", "(.*)") + "$",
                            out, re.M)
        assert logged == [(ids[0], "127.0.0.2"), (ids[1], "")], out
        day_keys = r.keys("pf:day:{main}:127.0.0.2:*")
        assert len(day_keys) == 1 and r.hget(day_keys[0], "all") == "1"
    finally:
        assert pd.stop() == 0


DKIM_SNIPPET = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "exim-dkim.snippet")


@pytest.fixture
def exim_delivery(bin_path, redis_server, lab_dir):
    """Real deliveries through the snippet: policyd-warmup (POLICY_CONF), an
    smtp-sink (the Internet, recording each message's source address and
    HELO), .config(helo_file, more transport lines) -> exim.conf whose one
    router sends everything to the sink through the snippet's remote_smtp
    (only the router and the sink's port are the test's), and
    .submit(conf, commands) -> (messages accepted, output)."""
    exim = exim_binary()
    work = lab_dir("exim-deliver")
    sink_dir = os.path.join(work, "sink")
    os.makedirs(sink_dir)
    os.chown(sink_dir, pwd.getpwnam("nobody").pw_uid, -1)
    sink = SmtpSink(sink_dir, lab.free_port(), os.path.join(work, "sink.log")).start()
    pd = None
    try:
        pd = Policyd(bin_path("policyd-warmup"), work, POLICY_CONF % redis_server.address).start()

        def config(helo_file, transport_extra=()):
            return exim_config(work, pd.port, [
                "begin routers",
                "sink:", "  driver = manualroute", "  route_list = * 127.0.0.1", "  transport = remote_smtp",
                "  self = send",
                "begin transports"] + snippet_transport(helo_file) + list(transport_extra) + [
                "  port = %d" % sink.port, "  allow_localhost", "  hosts_avoid_tls = *",
                "begin retry", "*  *  F,1m,1m"])

        def submit(conf, commands):
            # -bs: SMTP on stdin, the ACLs run as for a remote client at -oMa;
            # -odi: each message is delivered before the next command is read.
            res = subprocess.run([exim, "-C", conf, "-odi", "-oMa", "127.0.0.1", "-bs"],
                                 input="".join(c + "\r\n" for c in ["EHLO client.lab.test"] + commands + ["QUIT"]),
                                 capture_output=True, text=True, timeout=120)
            return len(re.findall(r"^250 OK id=", res.stdout, re.M)), res.stdout + res.stderr

        yield types.SimpleNamespace(work=work, sink=sink, config=config, submit=submit)
    finally:
        sink.stop()
        if pd:
            assert pd.stop() == 0


def mail(sender, rcpt, mid):
    return ["MAIL FROM:<%s>" % sender, "RCPT TO:<%s>" % rcpt, "DATA", "From: <%s>" % sender,
            "Message-ID: <%s@lab.test>" % mid, "Subject: exim delivery", "", "hello", "."]


def test_exim_transport_binds_the_chosen_ip(exim_delivery):
    # The ACL stores the daemon's interface with the message, the snippet's
    # remote_smtp binds to it and says the HELO name of its helo_data file.
    x = exim_delivery
    helo_file = os.path.join(x.work, "helo-by-ip")
    with open(helo_file, "w") as f:
        f.write("127.0.0.2: mta2.lab.test\n")
    conf = x.config(helo_file)
    accepted, out = x.submit(conf, mail("news@example.com", "r0@sink.example.org", "deliver0")
                             + mail("news@elsewhere.example", "r1@sink.example.org", "deliver1"))
    assert accepted == 2, out
    envs = {}
    for n in range(2):
        env, _ = x.sink.wait_message(b"<deliver%d@lab.test>" % n, timeout=30)
        envs[n] = (env["client_addr"], env["helo"])
    # Steered to 127.0.0.2, with its HELO name; the other message in no
    # pool leaves from the default address with the primary hostname.
    assert envs == {0: ("127.0.0.2", "mta2.lab.test"), 1: ("127.0.0.1", "mta.lab.test")}, envs
    # Without the HELO file mail still leaves, saying the primary hostname.
    os.remove(helo_file)
    accepted, out = x.submit(conf, mail("news@elsewhere.example", "r2@sink.example.org", "deliver2"))
    assert accepted == 1, out
    env, _ = x.sink.wait_message(b"<deliver2@lab.test>", timeout=30)
    assert env["helo"] == "mta.lab.test", env


def test_exim_policy_and_dkim_snippets_share_one_transport(exim_delivery, bin_path):
    # Both snippets define remote_smtp: a site using both writes one
    # transport with the options of each.  The steered message must leave
    # from 127.0.0.2 and carry a signature a receiver verifies.
    x = exim_delivery
    ent = pwd.getpwnam("Debian-exim")
    keys_dir = os.path.join(x.work, "keys")
    os.makedirs(keys_dir)
    os.chown(keys_dir, ent.pw_uid, ent.pw_gid)
    key = Key(bin_path("dkim-keygen"), keys_dir, "example.com", "ed1", "ed25519")
    os.chown(key.path, ent.pw_uid, ent.pw_gid)          # the filter runs as Exim's user
    pfconf = os.path.join(x.work, "postflow.conf")
    with open(pfconf, "w") as f:
        f.write('milter_dkim = { keys = ( { name = "e"; domain = "example.com"; selector = "ed1"; '
                'key_file = "%s"; } ); signing_table = ( { from = "example.com"; keys = ["e"]; } ); };\n'
                % key.path)
    with open(DKIM_SNIPPET) as f:
        dkim = f.read().split("\nremote_smtp:\n", 1)[1]
    dkim_options = [l for l in dkim.splitlines() if re.match(r"  \w+ = ", l) and not l.startswith("  driver =")]
    assert any(l.startswith("  transport_filter = ") for l in dkim_options), dkim_options
    milter = lab.stage_file(os.path.join(x.work, "bin"), bin_path("milter-dkim"))  # runs as Exim's user
    dkim_options = [l.replace("/usr/local/sbin/milter-dkim", milter)
                    .replace("/etc/postflow/postflow.conf", pfconf) for l in dkim_options]
    conf = x.config(os.path.join(x.work, "no-helo-file"), dkim_options)
    accepted, out = x.submit(conf, mail("news@example.com", "s@sink.example.org", "signed"))
    assert accepted == 1, out
    env, msg = x.sink.wait_message(b"<signed@lab.test>", timeout=30)
    assert env["client_addr"] == "127.0.0.2", env
    assert verify_dkimpy(msg, dns_records([key])) == [True], msg[:2000]


HOLD_CONF = """
redis = { address = "%s"; };
policy = {
  rate_limits = ( { name = "review"; key = "sender"; count = "messages"; limit = 1; window = "1h";
                    stage = "end_of_message"; action = "hold"; } );
};
"""


def test_exim_freezes_a_message_the_daemon_holds(bin_path, redis_server, lab_dir):
    # HOLD (Postfix's hold queue) becomes the snippet's `control = freeze`:
    # the second message of the sender is accepted but frozen.
    exim = exim_binary()
    work = lab_dir("exim-hold")
    pd = Policyd(bin_path("policyd-warmup"), work, HOLD_CONF % redis_server.address).start()
    try:
        conf = exim_config(work, pd.port)
        message = ["Subject: hold test", "", "hello", "."]
        replies, out = smtp_session(exim, conf, ["EHLO client.lab.test"] + 2 * (
            ["MAIL FROM:<bulk@example.com>", "RCPT TO:<h@gmail.com>", "DATA"] + message) + ["QUIT"])
        ids = re.findall(r"^250 OK id=(\S+)", "\n".join(replies), re.M)
        assert len(ids) == 2, out
        frozen = re.findall(r"^LOG: (\S+) frozen by ACL", out, re.M)
        assert frozen == [ids[1]], out
    finally:
        assert pd.stop() == 0


RCPT_LIMIT_CONF = """
redis = { address = "%s"; };
policy = {
  rate_limits = ( { name = "per-sender"; key = "sender"; count = "recipients"; limit = 1; window = "1h"; } );
};
"""


def test_exim_rcpt_acl_defers_over_a_rate_limit(bin_path, redis_server, lab_dir):
    exim = exim_binary()
    work = lab_dir("exim-rate")
    pd = Policyd(bin_path("policyd-warmup"), work, RCPT_LIMIT_CONF % redis_server.address).start()
    try:
        replies, out = smtp_session(exim, exim_config(work, pd.port), [
            "EHLO client.lab.test", "MAIL FROM:<flood@example.com>", "RCPT TO:<a@gmail.com>",
            "RCPT TO:<b@gmail.com>", "QUIT"])
    finally:
        assert pd.stop() == 0
    text = "\n".join(replies)
    assert text.count("250 Accepted") == 1, out          # the first recipient
    assert re.search(r'^451[ -]4\.7\.1 rate limit "per-sender" reached', text, re.M), out


def test_exim_fails_open_when_the_daemon_is_down(lab_dir):
    # The snippet's readsocket default answer (action=DUNNO) when nothing listens.
    exim = exim_binary()
    work = lab_dir("exim-down")
    replies, out = smtp_session(exim, exim_config(work, lab.free_port()), [
        "EHLO client.lab.test", "MAIL FROM:<news@example.com>", "RCPT TO:<a@gmail.com>",
        "DATA", "Subject: daemon down", "", "hello", ".", "QUIT"])
    text = "\n".join(replies)
    assert re.search(r"^250 Accepted", text, re.M) and re.search(r"^250 OK id=", text, re.M), out
    assert re.search(r"^LOG: \S+ " + re.escape(INTERFACE_LOG % ""), out, re.M), out
