#!/usr/bin/python3
"""demo.py - `make demo`: postflow's mail loop on a private lab, step by step.

SYNOPSIS
    make demo
    POSTFLOW_BIN=bin /usr/bin/python3 tests/lab/demo.py [--keep]

DESCRIPTION
    Starts a private redis-server, a private Postfix and an smtp-sink (the
    stand-in for the Internet), all on 127.0.0.1 under a temporary directory,
    sends a few messages through them and prints what happened to each:
    submitted (queue id), delivered (status, transport, relay) and the headers
    of the delivered message.  Then the sink refuses a recipient (550 5.1.1),
    as a remote MX would, and the DSN Postfix writes comes back to the bounce
    domain's pipe command: the bounce loop.  Then it stops everything.

    The postflow programs join in when their binaries exist in $POSTFLOW_BIN:
        milter-dkim + dkim-keygen  a key is generated, the milter signs the
                                   outgoing mail, and dkimpy verifies the
                                   DKIM-Signature against the public key;
        policyd-warmup             the policy service picks the sending IP
                                   (a per-IP transport, 127.0.0.2/127.0.0.3),
                                   and warmupctl shows the status at the end;
                                   the hooks and transports are the shipped
                                   conf/main.cf.snippet and master.cf.snippet
                                   with the lab's addresses;
        bounce-proc                classifies the returned DSN (--dry-run --json).
    Each is a small Plugin class below; a missing binary is reported and
    skipped, the rest of the demo still runs.

    --keep leaves the lab directory (logs, sink, pipe output) for inspection.

    Needs root and the packages of `make deps`.  Runs in about 10 s.
"""

import email
import email.policy
import email.utils
import os
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DKIM_DOMAIN = "example.com"
DKIM_SELECTOR = "demo"
SOURCE_IPS = ("127.0.0.2", "127.0.0.3")


# ---- output ------------------------------------------------------------------
_T0 = time.monotonic()
FAILURES = []   # what went wrong; the demo exits 1 if anything is listed


def fail(text):
    FAILURES.append(text)
    detail("FAILED: " + text)


def say(text):
    print("[%5.1fs] %s" % (time.monotonic() - _T0, text), flush=True)


def detail(text, indent=10):
    for line in text.splitlines() or [""]:
        print(" " * indent + line, flush=True)


def shorten(value, width=100):
    value = " ".join(value.split())
    return value if len(value) <= width else value[:width - 3] + "..."


def show_headers(message_bytes, names=None):
    msg = email.message_from_bytes(message_bytes, policy=email.policy.compat32)
    for name, value in msg.items():
        if names is None or name.lower() in names:
            detail("%s: %s" % (name, shorten(str(value))), indent=12)


# ---- prerequisites -------------------------------------------------------------
def missing_prerequisites():
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (Postfix's master and the pipe user switch need it)")
    for tool in ("redis-server", "/usr/sbin/postfix", "/usr/sbin/smtp-sink",
                 "/usr/sbin/postconf"):
        if not shutil.which(tool):
            problems.append("%s is not installed" % tool)
    try:
        import redis  # noqa: F401
    except ImportError:
        problems.append("the Python module redis (python3-redis) is missing")
    return problems


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ---- plugins: one per postflow program --------------------------------------
class Plugin:
    """A postflow program that joins the demo when its binary exists."""
    title = "?"
    binaries = ()

    def __init__(self, bindir, lab):
        self.bindir, self.lab = bindir, lab
        self.proc = None
        self.enabled = False

    def path(self, name):
        return os.path.join(self.bindir, name)

    def available(self):
        return all(os.access(self.path(b), os.X_OK) for b in self.binaries)

    def start(self, workdir, redis_server):
        """Start the program; return True if it runs."""
        return False

    def hooks(self):
        """Keyword arguments for PostfixLab.set_hooks()."""
        return {}

    def pipe_command(self):
        """A pipe command for the bounce domain, or None."""
        return None

    def after_delivery(self, message_bytes):
        """Print what this program did to a delivered message."""

    def after_bounce(self, pipe_out_dir):
        """Print what this program made of the returned DSN."""

    def report(self):
        """Print the program's own view at the end (Redis still runs)."""

    def _spawn(self, argv, logname, workdir):
        log = open(os.path.join(workdir, logname), "ab")
        with log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
        self.lab.register_process(self.proc.pid, os.path.basename(argv[0]))

    def _wait_port(self, port, workdir, logname):
        if self.lab.wait_until(lambda: self.proc.poll() is not None or port_open(port), 10) \
                and self.proc.poll() is None:
            return True
        fail("%s did not start (exit %s); its log:" % (self.title, self.proc.poll()))
        try:
            with open(os.path.join(workdir, logname), errors="replace") as f:
                detail(f.read()[-2000:], indent=12)
        except OSError:
            pass
        self.stop()
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            st = self.lab.proc_starttime(self.proc.pid)
            if st is not None:
                self.lab.stop_processes([(self.proc.pid, st)], timeout=5.0)
            self.proc.wait(timeout=5)
        self.proc = None


class DkimPlugin(Plugin):
    title = "milter-dkim"
    binaries = ("milter-dkim", "dkim-keygen")

    def start(self, workdir, redis_server):
        keydir = os.path.join(workdir, "dkim")
        os.makedirs(keydir, mode=0o700)
        gen = subprocess.run([self.path("dkim-keygen"), "-d", DKIM_DOMAIN, "-s", DKIM_SELECTOR,
                              "-a", "rsa", "-b", "2048", "-o", keydir],
                             capture_output=True, text=True, timeout=60)
        if gen.returncode != 0:
            fail("dkim-keygen exited %d: %s" % (gen.returncode, gen.stderr.strip()))
            return False
        self.txt = " ".join(re.findall(r'"([^"]*)"', gen.stdout)) or gen.stdout.strip()
        keys = [os.path.join(keydir, f) for f in os.listdir(keydir)
                if not f.endswith((".txt", ".pub"))]
        if len(keys) != 1:
            fail("dkim-keygen wrote %s; expected one private key" % os.listdir(keydir))
            return False
        self.key = keys[0]
        detail("dkim-keygen: key %s, DNS record:" % self.key)
        detail("%s._domainkey.%s TXT \"%s\"" % (DKIM_SELECTOR, DKIM_DOMAIN, shorten(self.txt, 80)),
               indent=12)
        self.port = self.lab.free_port()
        self._spawn([self.path("milter-dkim"), "-f", "-p", "inet:%d@127.0.0.1" % self.port,
                     "-d", DKIM_DOMAIN, "-s", DKIM_SELECTOR, "-k", self.key],
                    "milter-dkim.log", workdir)
        if not self._wait_port(self.port, workdir, "milter-dkim.log"):
            return False
        detail("milter-dkim listens on inet:%d@127.0.0.1 (pid %d)" % (self.port, self.proc.pid))
        return True

    def hooks(self):
        return {"milter": "inet:127.0.0.1:%d" % self.port}

    def after_delivery(self, message_bytes):
        import dkim
        sig = [l for l in message_bytes.split(b"\n") if l.lower().startswith(b"dkim-signature:")]
        if not sig:
            fail("milter-dkim runs but this message has no DKIM-Signature")
            return
        txt = self.txt.encode()

        def dnsfunc(name, timeout=5):
            want = ("%s._domainkey.%s." % (DKIM_SELECTOR, DKIM_DOMAIN)).encode()
            return txt if name.rstrip(b".") + b"." == want else None
        crlf = re.sub(rb"(?<!\r)\n", b"\r\n", message_bytes)
        ok = dkim.verify(crlf, dnsfunc=dnsfunc)
        detail("dkimpy verifies the DKIM-Signature with the public key: %s"
               % ("PASS" if ok else "FAIL"), indent=12)
        if not ok:
            fail("dkimpy could not verify the DKIM-Signature")


class WarmupPlugin(Plugin):
    title = "policyd-warmup"
    binaries = ("policyd-warmup",)

    def config(self, redis_server):
        # The policy section as in docs/policyd-warmup.md and
        # conf/policyd-warmup.conf.sample: one default pool (the envelope
        # senders are VERP addresses in the bounce domain) with two warming
        # IPs (transports smtp-127.0.0.2/3), no smoothing so that the demo's
        # few messages have budget at any hour.  `-n` checks it first.
        ips = ",\n".join('          { address = "%s"; schedule = "demo"; }' % ip
                         for ip in SOURCE_IPS)
        return ('log = { level = "info"; };\n' + redis_server.redis_conf() +
                'policy = {\n'
                '  listen = [ "inet:127.0.0.1:%d" ];\n'
                '  warmup = {\n'
                '    smoothing_hours = 0;\n'
                '    schedules = ( { name = "demo"; caps = "100, 500, 2000"; } );\n'
                '    pools = ( { name = "demo"; default = true;\n'
                '        ips = (\n%s ); } );\n'
                '  };\n'
                '};\n' % (self.port, ips))

    def start(self, workdir, redis_server):
        self.port = self.lab.free_port()
        conf = self.conf = os.path.join(workdir, "policyd-warmup.conf")
        with open(conf, "w") as f:
            f.write(self.config(redis_server))
        check = subprocess.run([self.path("policyd-warmup"), "-n", "-c", conf],
                               capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            fail("policyd-warmup -n rejects the demo config (exit %d):" % check.returncode)
            detail((check.stdout + check.stderr).strip(), indent=12)
            return False
        self._spawn([self.path("policyd-warmup"), "-f", "-c", conf,
                     "-p", "inet:127.0.0.1:%d" % self.port], "policyd-warmup.log", workdir)
        if not self._wait_port(self.port, workdir, "policyd-warmup.log"):
            return False
        detail("policyd-warmup listens on inet:127.0.0.1:%d (pid %d), pool demo = %s"
               % (self.port, self.proc.pid, ", ".join(SOURCE_IPS)))
        return True

    def hooks(self):
        return {"policy": "inet:127.0.0.1:%d" % self.port}

    def report(self):
        ctl = self.path("warmupctl")
        if not os.access(ctl, os.X_OK):
            detail("warmupctl not built yet: no status shown")
            return
        out = subprocess.run([ctl, "-c", self.conf, "status"], capture_output=True, text=True,
                             timeout=30)
        detail("warmupctl status:")
        detail((out.stdout + out.stderr).rstrip(), indent=12)
        if out.returncode != 0:
            fail("warmupctl status exited %d" % out.returncode)


class BounceProcPlugin(Plugin):
    title = "bounce-proc"
    binaries = ("bounce-proc",)

    def start(self, workdir, redis_server):
        # pipe(8) discards the command's stdout, so a wrapper keeps it.
        # It runs as nobody, who may not reach $POSTFLOW_BIN: stage a copy.
        binary = self.pf.stage_file(self.path("bounce-proc"))
        wrapper = os.path.join(workdir, "bounce-proc-demo")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nout=%s/bounce-proc.$$\n"
                    "%s --dry-run --json \"$@\" >\"$out.json\" 2>\"$out.err\"\n"
                    % (self.pf.pipe_out_dir, binary))
        self.wrapper = self.pf.stage_file(wrapper)
        detail("bounce-proc --dry-run --json is the bounce domain's pipe command")
        return True

    def pipe_command(self):
        return self.wrapper

    def after_bounce(self, pipe_out_dir):
        for name in sorted(os.listdir(pipe_out_dir)):
            if name.startswith("bounce-proc.") and name.endswith(".json"):
                with open(os.path.join(pipe_out_dir, name), errors="replace") as f:
                    for line in f.read().splitlines():
                        detail("bounce-proc: " + shorten(line, 140), indent=12)


PLUGINS = (DkimPlugin, WarmupPlugin, BounceProcPlugin)


# ---- the demo ------------------------------------------------------------------
def message(subject, sender, to, body):
    return ("From: Demo Newsletter <%s>\nTo: <%s>\nSubject: %s\nDate: %s\n"
            "Message-ID: <%s.%d@example.com>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n%s\n"
            % (sender, to, subject, email.utils.formatdate(), subject.replace(" ", "-").lower(),
               os.getpid(), body)).encode()


def run(keep):
    import postflow_lab as lab
    bindir = os.environ.get("POSTFLOW_BIN") or os.path.join(HERE, "..", "..", "bin")
    bindir = os.path.abspath(bindir)
    workdir = lab.make_lab_dir(prefix="postflow-demo-")
    redis_server = pf = None
    plugins = []
    try:
        say("1. private lab in %s" % workdir)
        redis_server = lab.RedisServer(os.path.join(workdir)).start()
        detail("redis-server: %s and %s, no persistence (PING -> %s)"
               % (redis_server.address, redis_server.tcp_address, redis_server.client().ping()))

        pipe_cmd = None
        extra_master = lab.shipped_ip_transports(SOURCE_IPS)
        pf = lab.PostfixLab(workdir, extra_master_cf=extra_master, policy_snippet=True)
        os.makedirs(pf.pipe_out_dir, exist_ok=True)

        say("2. postflow programs found in %s" % bindir)
        for cls in PLUGINS:
            p = cls(bindir, lab)
            if not p.available():
                detail("%-15s not built yet (%s): skipped" % (cls.title, ", ".join(cls.binaries)))
                continue
            p.pf = pf
            plugins.append(p)
        for p in list(plugins):
            say("   starting %s" % p.title)
            if p.start(workdir, redis_server):
                p.enabled = True
                pipe_cmd = p.pipe_command() or pipe_cmd
            else:
                plugins.remove(p)
        pf.pipe_command = pipe_cmd

        say("3. Postfix 3.7 (private instance) and smtp-sink")
        pf.start()
        hooks = {}
        for p in plugins:
            hooks.update(p.hooks())
        if hooks:
            pf.set_hooks(**hooks)
        detail("submit   127.0.0.1:%d  (outbound: milter %s, policy %s)"
               % (pf.submit_port, pf.milter or "none", pf.policy or "none"))
        detail("inbound  127.0.0.1:%d  (MX of %s -> pipe: %s)"
               % (pf.inbound_port, lab.BOUNCE_DOMAIN,
                  "bounce-proc" if pipe_cmd else "recorder script"))
        detail("sink     127.0.0.1:%d  (smtp-sink: the Internet; writes each message to %s)"
               % (pf.sink_port, pf.sink_dir))

        say("4. sending mail")
        sent = []
        for to, subject in (("alice@gmail.com", "Welcome"), ("bob@outlook.com", "Weekly news")):
            res = pf.send("b+%s@%s" % (to.split("@")[0], lab.BOUNCE_DOMAIN), [to],
                          message(subject, "news@" + DKIM_DOMAIN, to, "Hello %s!" % to))
            detail("submitted %-18s -> queue id %s (%d %s)"
                   % (to, res.queue_id, res.code, res.message))
            sent.append((to, res))
        say("5. delivered to the sink")
        for to, res in sent:
            d = pf.wait_delivery(res.queue_id, recipient=to)
            detail("%s %s: status=%s via transport %s, relay %s"
                   % (res.queue_id, to, d["status"], d["service"], d["relay"]))
        files = pf.wait_sink(len(sent))
        for path in files:
            env, msg = pf.parse_sink_file(path)
            detail("%s: MAIL FROM %s, RCPT %s, from source address %s"
                   % (os.path.basename(path), env["mail"], " ".join(r.split()[0] for r in env["rcpt"]),
                      env["client_addr"]))
            show_headers(msg)
            for p in plugins:
                p.after_delivery(msg)

        gone = "carol@yahoo.com"
        say("6. the bounce loop: the receiving MX refuses %s, the DSN comes back" % gone)
        # The sink answers RCPT with 550 5.1.1 for a moment, as a remote MX
        # would; this also bounces mail that the policy routed with FILTER.
        with pf.rejecting_sink():
            bounced = pf.send("b+carol@" + lab.BOUNCE_DOMAIN, [gone],
                              message("Weekly news", "news@" + DKIM_DOMAIN, gone, "Hello Carol!"))
            detail("submitted %-18s -> queue id %s" % (gone, bounced.queue_id))
            d = pf.wait_delivery(bounced.queue_id)
        detail("%s: status=%s dsn=%s (%s)" % (bounced.queue_id, d["status"], d["dsn"], d["text"]))
        m = pf.wait_log(r"(\w+): from=<>, size")
        dsn_id = m.group(1)
        d = pf.wait_delivery(dsn_id)
        detail("DSN %s from <> to %s: status=%s via %s" % (dsn_id, d["to"], d["status"], d["relay"]))
        if pipe_cmd is None:
            rec = pf.wait_pipe_record(dsn_id)
            detail("the pipe command got: sender=%r recipient=%r extension=%r, %d bytes on stdin"
                   % (rec["argv"][0], rec["argv"][1], rec["argv"][7], len(rec["message"])))
            show_headers(rec["message"], names={"from", "to", "subject", "content-type"})
            for line in rec["message"].decode("utf-8", "replace").splitlines():
                if line.startswith(("Final-Recipient:", "Action:", "Status:",
                                    "Diagnostic-Code:")):
                    detail(line, indent=12)
        for p in plugins:
            p.after_bounce(pf.pipe_out_dir)

        keys = sorted(k.decode("utf-8", "replace") for k in redis_server.client().keys("*"))
        say("7. Redis now holds %d key(s)" % len(keys))
        for k in keys[:12]:
            detail(k)
        if len(keys) > 12:
            detail("... and %d more" % (len(keys) - 12))
        for p in plugins:
            p.report()
    finally:
        say("8. stopping everything")
        for p in plugins:
            p.stop()
        if pf is not None:
            pf.stop()
        if redis_server is not None:
            redis_server.stop()
        left = lab.leftovers()
        detail("processes left behind: %s" % (", ".join(left) if left else "none"))
        if left:
            fail("processes left behind")
        if keep:
            detail("lab directory kept: %s (maillog, sink/, pipe-out/)" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if FAILURES:
        say("done, with %d failure(s): %s" % (len(FAILURES), "; ".join(FAILURES)))
        return 1
    say("done")
    return 0


def main(argv):
    problems = missing_prerequisites()
    if problems:
        for p in problems:
            print("demo: %s" % p, file=sys.stderr)
        print("demo: install the dependencies first with `make deps` (as root), then `make demo`",
              file=sys.stderr)
        return 1
    return run("--keep" in argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
