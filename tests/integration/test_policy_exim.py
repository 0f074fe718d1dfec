"""test_policy_exim - the same daemon behind Exim's ACLs (exim -bh).

Exim and Postfix conflict as packages, so Exim's binary is downloaded with
`apt-get download exim4-daemon-light` and unpacked into a cache directory
(mta-lab-notes.md, section 3); the test is skipped, with the reason, only
when that is impossible (no package source).  The ACLs come verbatim from
conf/exim-policy.snippet, so the shipped snippet is what is tested; only the
daemon's address is replaced, and one logwrite is added at the end of the
DATA ACL: it expands the snippet's remote_smtp `interface` option (the
source address the transport would bind to) in the message's context, so
the test sees the steering answer arrive in Exim's ACL variable, not just in
the daemon's log.  `exim -bh` runs a whole SMTP conversation through the
ACLs (readsocket included) without delivering anything.
"""

import glob
import os
import pwd
import re
import subprocess

import pytest

from policyd_lab import Policyd

CACHE = "/tmp/postflow-exim-cache"
SNIPPET = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "exim-policy.snippet")


def exim_binary():
    exim = os.path.join(CACHE, "root", "usr", "sbin", "exim4")
    if not os.path.exists(exim):
        os.makedirs(CACHE, exist_ok=True)
        os.chmod(CACHE, 0o755)
        res = subprocess.run(["apt-get", "download", "exim4-daemon-light"], cwd=CACHE,
                             capture_output=True, text=True, timeout=120)
        debs = glob.glob(os.path.join(CACHE, "exim4-daemon-light_*.deb"))
        if not debs:
            pytest.skip("cannot download exim4-daemon-light: " + res.stderr.strip()[-300:])
        subprocess.run(["dpkg-deb", "-x", debs[0], os.path.join(CACHE, "root")], check=True)
    try:
        pwd.getpwnam("Debian-exim")       # compiled into Debian's binary
    except KeyError:
        if os.geteuid() != 0:
            pytest.skip("user Debian-exim is missing and we are not root")
        subprocess.run(["useradd", "-r", "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                        "Debian-exim"], check=True)
    missing = [l for l in subprocess.run(["ldd", exim], capture_output=True, text=True).stdout.splitlines()
               if "not found" in l]
    if missing:
        pytest.skip("exim needs libraries that are not installed (apt-get install libidn12): %s" % missing)
    return exim


INTERFACE_LOG = "pf test: transport interface=<%s>"


def snippet_parts():
    """(ACL text, the remote_smtp transport's interface expansion) of the snippet."""
    with open(SNIPPET) as f:
        snippet = f.read()
    acls, sep, transports = snippet.partition("# ---- begin transports")
    assert sep and "# ---- begin acl" in acls, "conf/exim-policy.snippet lost its section markers"
    acls = acls.split("# ---- begin acl", 1)[1].split("\n", 1)[1]
    assert acls.count("inet:127.0.0.1:10040") == 2, "the snippet's ACLs should ask inet:127.0.0.1:10040 twice"
    m = re.findall(r"^\s*interface\s*=\s*(.+)$", transports, re.M)
    assert len(m) == 1, "conf/exim-policy.snippet: expected one interface = in remote_smtp, found %r" % m
    return acls, m[0].strip()


def exim_config(workdir, policy_port):
    acls, interface = snippet_parts()
    acls = acls.replace("inet:127.0.0.1:10040", "inet:127.0.0.1:%d" % policy_port)
    # acl_check_data ends with its accept: log the transport's interface just before.
    head, sep, tail = acls.partition("acl_check_data:\n")
    body, accept, rest = tail.rpartition("\n  accept")
    assert sep and accept and not rest.strip(), \
        "conf/exim-policy.snippet: acl_check_data is no longer the last ACL, ending with accept"
    logwrite = "\n  warn    logwrite = " + INTERFACE_LOG % interface
    acls = head + sep + body + logwrite + accept + rest
    spool = os.path.join(workdir, "spool")
    os.makedirs(os.path.join(workdir, "log"), exist_ok=True)
    os.makedirs(spool, exist_ok=True)
    ent = pwd.getpwnam("Debian-exim")       # -bh receives the message into the spool as this user
    os.chown(spool, ent.pw_uid, ent.pw_gid)
    main = "\n".join([
        "exim_path = %s" % os.path.join(CACHE, "root", "usr", "sbin", "exim4"),
        "spool_directory = %s" % spool,
        "log_file_path = %s/log/%%slog" % workdir,
        "primary_hostname = mta.lab.test",
        "hostlist relay_from_hosts = 127.0.0.1",
        "acl_smtp_rcpt = acl_check_rcpt",
        "acl_smtp_data = acl_check_data",
        "host_lookup =",
        "rfc1413_hosts =",
        "keep_environment =",
        "",
        "begin acl",
    ])
    path = os.path.join(workdir, "exim.conf")
    with open(path, "w") as f:
        f.write(main + "\n" + acls)
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
