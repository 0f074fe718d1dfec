"""labpostfix - a private Postfix 3.7 instance with an smtp-sink for tests.

DESCRIPTION
    PostfixLab(workdir, ...) writes main.cf and master.cf (labpostfix_conf)
    into WORKDIR/etc, starts an smtp-sink (labsink) and runs
    `postfix -c WORKDIR/etc start`.  Layout of WORKDIR (mode 0755):

        etc/        config_directory (main.cf, master.cf)
        spool/      queue_directory          data/  data_directory (postfix)
        maillog     all Postfix logging (maillog_file + postlogd; labmaillog)
        sink/       one file per message accepted by smtp-sink (the relayhost)
        pipe-out/   records of the default bounce-domain pipe command
        bin/        pipe_recorder and staged files (readable by nobody)

    Listeners on 127.0.0.1, ports reserved from construction to stop():
        submit_port   smtpd for outbound mail; milter/policy hooks apply here.
        inbound_port  smtpd of the inbound MX: accepts only the pipe domains.
        sink_port     smtp-sink, the stand-in for the Internet.

    Mail for bounce.example.net goes to the pipe transport "bounceproc"
    running PIPE_COMMAND (default: pipe_recorder); mail to
    hardbounce.example.com is bounced by Postfix, so its DSN comes back to a
    sender in the bounce domain.  labpostfix_conf explains the settings.

    Processes: Postfix's master calls setsid(), so every Postfix process (and
    every pipe command) shares its session; stop() sends SIGTERM to the whole
    session and the smtp-sink at once and SIGKILLs stragglers after 5 s.
    Nothing is ever found or signalled by name.

    Needs root (Postfix's master and the pipe user switch require it).
"""

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import time

from labmaillog import Maillog
from labpostfix_conf import (BOUNCE_DOMAIN, HARDBOUNCE_DOMAIN, PIPE_ENVELOPE_ARGS,  # noqa: F401
                             LabSettings, hook_params, ip_transport, main_cf, master_cf,
                             pipe_argv, pipe_entry, shipped_ip_transports)
from labproc import (LabError, port_open, proc_alive, proc_starttime, register_session, reserve_port,
                     session_members, stage_file, stop_processes, unregister, wait_until)
from labsink import SmtpSink, parse_sink_file

__all__ = ["PostfixLab", "SendResult", "ip_transport", "shipped_ip_transports",
           "PIPE_ENVELOPE_ARGS", "BOUNCE_DOMAIN", "HARDBOUNCE_DOMAIN"]

HERE = os.path.dirname(os.path.abspath(__file__))
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"

_KEEP = object()  # set_hooks(): "leave this hook as it is"


def _crlf(data):
    """Normalise line endings of a message to CRLF (SMTP's)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


class SendResult:
    """What the submit server answered: code/message of the last reply,
    queue_id (None if not queued), refused = {rcpt: (code, msg)}, and stage
    ("connect", "mail", "rcpt", "data" or "done") where the transaction ended."""

    def __init__(self, stage, code, message, queue_id=None, refused=None):
        self.stage, self.code, self.message = stage, code, message
        self.queue_id, self.refused = queue_id, refused or {}

    @property
    def accepted(self):
        return self.queue_id is not None

    def __repr__(self):
        return "SendResult(stage=%r, code=%r, message=%r, queue_id=%r, refused=%r)" % (
            self.stage, self.code, self.message, self.queue_id, self.refused)


class PostfixLab:
    """A private Postfix instance relaying to smtp-sink (see module doc)."""

    def __init__(self, workdir, milter=None, policy=None, pipe_command=None,
                 extra_main_cf=None, extra_master_cf=None, sink_args=None,
                 policy_stages=("rcpt", "data_end"), extra_pipes=None, policy_snippet=False):
        """MILTER/POLICY: hook sockets (None = no hook), see set_hooks().
        PIPE_COMMAND: argv for the bounce domain's pipe transport, a string or
        a list; if it contains no "${" macro the envelope PIPE_ENVELOPE_ARGS
        are appended.  Default: the pipe recorder writing into pipe_out_dir.
        EXTRA_MAIN_CF: dict or "name = value" lines overriding main.cf.
        EXTRA_MASTER_CF: str or list of str appended to master.cf.
        SINK_ARGS: extra smtp-sink options (e.g. ["-f", "RCPT"] to hard-reject).
        POLICY_STAGES: where the policy hook applies: "rcpt" and/or "data_end".
        EXTRA_PIPES: {domain: pipe_command} more inbound domains with a pipe
        transport each (named pipe1, pipe2, ...), e.g. an FBL domain.
        POLICY_SNIPPET: True = the policy hook is the shipped
        conf/main.cf.snippet (its check_policy_service with timeout and
        default_action, and its restriction order) with only the daemon's
        address replaced; False = the lab's bare check_policy_service, which
        answers 451 when the service is unreachable.
        """
        self.workdir = os.path.abspath(workdir)
        self.config_dir = os.path.join(self.workdir, "etc")
        self.queue_dir = os.path.join(self.workdir, "spool")
        self.data_dir = os.path.join(self.workdir, "data")
        self.sink_dir = os.path.join(self.workdir, "sink")
        self.pipe_out_dir = os.path.join(self.workdir, "pipe-out")
        self.bin_dir = os.path.join(self.workdir, "bin")
        self.maillog_path = os.path.join(self.workdir, "maillog")
        self.log = Maillog(self.maillog_path)
        # Held from here to stop(): see labproc.PortReservation.
        self._ports = [reserve_port() for _ in range(3)]
        self.submit_port, self.inbound_port, self.sink_port = (r.port for r in self._ports)
        self.bounce_domain = BOUNCE_DOMAIN
        self.milter = milter
        self.policy = policy
        self.policy_stages = tuple(policy_stages)
        self.policy_snippet = policy_snippet
        self.pipe_command = pipe_command
        self.extra_pipes = dict(extra_pipes or {})
        self.extra_main_cf = extra_main_cf
        self.extra_master_cf = extra_master_cf
        self.sink = SmtpSink(self.sink_dir, self.sink_port,
                             os.path.join(self.workdir, "smtp-sink.log"), sink_args,
                             context=lambda: "maillog tail:\n" + self.maillog_tail())
        self._master = None      # (pid, starttime)
        self._session_key = None

    # ---- configuration -----------------------------------------------------
    def _pipe_argv(self, command):
        if command is None:
            command = [os.path.join(self.bin_dir, "pipe_recorder"), self.pipe_out_dir]
        return pipe_argv(command)

    def _settings(self):
        pipes = [(self.bounce_domain, "bounceproc", self._pipe_argv(self.pipe_command))]
        for i, (dom, cmd) in enumerate(sorted(self.extra_pipes.items()), 1):
            pipes.append((dom, "pipe%d" % i, self._pipe_argv(cmd)))
        return LabSettings(self.workdir, self.submit_port, self.inbound_port, self.sink_port,
                           pipes, self.milter, self.policy, self.policy_stages,
                           self.extra_main_cf, self.extra_master_cf, self.policy_snippet)

    def main_cf(self):
        """The main.cf parameters as an ordered dict (before writing)."""
        return main_cf(self._settings())

    def master_cf(self):
        """The master.cf text."""
        return master_cf(self._settings())

    def _write_config(self):
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            for name, value in self.main_cf().items():
                f.write("%s = %s\n" % (name, value))
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(self.master_cf())
        self._backdate_config()

    def _backdate_config(self):
        """Set main.cf/master.cf mtimes 10 s into the past.  Postfix waits
        until a config file is about a second old before it reads it
        (measured: reload took 1.5-2.1 s right after postconf -e, 0.01-0.1 s
        with the mtime set back; start gains the same)."""
        past = time.time() - 10
        for name in ("main.cf", "master.cf"):
            path = os.path.join(self.config_dir, name)
            if os.path.exists(path):
                os.utime(path, (past, past))

    def _prepare_dirs(self):
        postfix_pw = pwd.getpwnam("postfix")
        nobody = pwd.getpwnam("nobody")
        os.chmod(self.workdir, 0o755)
        for path in (self.config_dir, self.queue_dir, self.bin_dir):
            os.makedirs(path, mode=0o755, exist_ok=True)
        for path, owner in ((self.data_dir, postfix_pw), (self.sink_dir, nobody),
                            (self.pipe_out_dir, nobody)):
            os.makedirs(path, mode=0o755, exist_ok=True)
            os.chown(path, owner.pw_uid, owner.pw_gid)
        rec = os.path.join(self.bin_dir, "pipe_recorder")
        shutil.copyfile(os.path.join(HERE, "pipe_recorder.py"), rec)
        os.chmod(rec, 0o755)

    def stage_file(self, path, mode=0o755):
        """Copy PATH into the lab's bin/ directory and return the copy's path.

        pipe(8) commands run as nobody, who may not reach a file inside the
        source tree (a clone under /root is mode 0700): stage the binary and
        its config here, e.g. set_pipe_command([pf.stage_file(bin_path(
        "bounce-proc")), "-c", pf.stage_file(conf, 0o644)])."""
        return stage_file(self.bin_dir, path, mode)

    # ---- lifecycle ---------------------------------------------------------
    def _run(self, argv, timeout=60, check=True):
        """Run a Postfix tool with output to a file, never to a pipe: `postfix
        start` leaves master holding its stdout, so a pipe would never EOF."""
        out_path = os.path.join(self.workdir, "cmd.out")
        with open(out_path, "w+b") as out:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 timeout=timeout)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        if check and rc != 0:
            raise LabError("%s exited %d:\n%s\nmaillog tail:\n%s"
                           % (" ".join(argv), rc, text, self.maillog_tail()))
        return text

    def _master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def master_pid(self):
        """Pid of this lab's Postfix master, or None when it is not running."""
        return self._master[0] if self.running else None

    @property
    def running(self):
        return self._master is not None and proc_alive(*self._master)

    def start(self, timeout=30):
        """Write the config, start smtp-sink and Postfix, and wait until both
        smtpd listeners accept connections."""
        if self.running:
            raise LabError("this Postfix lab already runs (master pid %d)" % self._master[0])
        if not self._ports:  # started again after stop(): the same ports
            try:
                self._ports = [reserve_port(p) for p in
                               (self.submit_port, self.inbound_port, self.sink_port)]
            except OSError as exc:
                raise LabError("cannot take back the lab's ports %d, %d, %d: %s" % (
                    self.submit_port, self.inbound_port, self.sink_port, exc))
        self._prepare_dirs()
        self._write_config()
        try:
            self.sink.start()
            self._run([POSTFIX, "-c", self.config_dir, "start"], timeout=timeout)
            pid = wait_until(self._master_pid, 10)
            if not pid or not proc_alive(pid):
                raise LabError("Postfix master did not start; maillog:\n" + self.maillog_tail())
            self._master = (pid, proc_starttime(pid))
            self._session_key = register_session(pid, "postfix lab " + self.workdir)
            for port in (self.submit_port, self.inbound_port):
                if not wait_until(lambda: port_open(port), 10):
                    raise LabError("Postfix does not listen on 127.0.0.1:%d; maillog:\n%s"
                                   % (port, self.maillog_tail()))
        except Exception:
            self.stop()
            raise
        return self

    def processes(self):
        """[(pid, starttime)] of every live process of this lab."""
        out = []
        if self._master is not None:
            out = [(pid, proc_starttime(pid)) for pid in session_members(self._master[0])]
        if self.sink.running:
            out.append((self.sink.pid, proc_starttime(self.sink.pid)))
        return [p for p in out if p[1] is not None]

    def stop(self, timeout=5.0):
        """Stop Postfix and the sink: SIGTERM to every lab process at once,
        SIGKILL after TIMEOUT seconds.  Leaves no process behind."""
        if self._master is None:
            pid = self._master_pid()  # a start() that died half-way
            if pid and proc_alive(pid) and os.path.exists(self.config_dir):
                self._master = (pid, proc_starttime(pid))
        stop_processes(self.processes(), timeout=timeout)
        self.sink.stop()
        if self._master is not None:
            # Members forked between the snapshot and the TERM die with master
            # (it signals its process group); check and mop up once more.
            rest = [(p, proc_starttime(p)) for p in session_members(self._master[0])]
            stop_processes([p for p in rest if p[1] is not None], timeout=timeout)
            if self._session_key:
                unregister(self._session_key)
            self._master = None
            self._session_key = None
        for r in self._ports:
            r.release()
        self._ports = []

    def reload(self, timeout=15):
        """Make master re-read its config (SIGHUP, what `postfix reload`
        sends after its checks) and wait until it has, and until every
        process of the old configuration is gone."""
        if not self.running:
            raise LabError("reload: this Postfix lab is not running")
        before = self.maillog().count(": reload -- version")
        master = self._master[0]
        old = [(p, proc_starttime(p)) for p in session_members(master) if p != master]
        os.kill(master, signal.SIGHUP)
        if not wait_until(lambda: self.maillog().count(": reload -- version") > before, timeout):
            raise LabError("Postfix did not log its reload; maillog:\n" + self.maillog_tail())
        # Every child of the old generation (smtpd, pipe, smtp, qmgr...) exits
        # right after the reload; wait, so that the next connection or
        # delivery surely runs with the new settings.
        if not wait_until(lambda: not [p for p in old if p[1] is not None and proc_alive(*p)],
                          timeout):
            raise LabError("Postfix processes of the old configuration still run %ss after "
                           "reload" % timeout)

    def postconf(self, *settings):
        """postconf -e NAME=VALUE ... on this instance (no reload)."""
        self._run([POSTCONF, "-c", self.config_dir, "-e"] + list(settings))
        self._backdate_config()

    def set_hooks(self, milter=_KEEP, policy=_KEEP, policy_stages=None):
        """Point the submit listener at a milter and/or policy service and
        reload.  An omitted argument keeps that hook; None removes it.
        milter: "inet:127.0.0.1:PORT", "inet:PORT@127.0.0.1" or "unix:/path";
        policy: "inet:127.0.0.1:PORT" or "unix:/path"."""
        if milter is not _KEEP:
            self.milter = milter
        if policy is not _KEEP:
            self.policy = policy
        if policy_stages is not None:
            self.policy_stages = tuple(policy_stages)
        if not os.path.exists(os.path.join(self.config_dir, "main.cf")):
            return  # not started yet: start() writes the hooks
        params = hook_params(self.milter, self.policy, self.policy_stages, self.policy_snippet)
        self.postconf(*("%s=%s" % kv for kv in params.items()))
        if self.running:
            self.reload()

    def set_pipe_command(self, command):
        """Replace the bounce domain's pipe command (see __init__) and reload."""
        self.pipe_command = command
        self._set_pipe_entry("bounceproc", command)

    def set_extra_pipe_command(self, domain, command):
        """Replace the pipe command of DOMAIN, one of EXTRA_PIPES (see
        __init__), and reload: a command staged after the lab started."""
        names = {dom: "pipe%d" % i for i, dom in enumerate(sorted(self.extra_pipes), 1)}
        if domain not in names:
            raise LabError("%s is not one of the lab's extra pipe domains" % domain)
        self.extra_pipes[domain] = command
        self._set_pipe_entry(names[domain], command)

    def _set_pipe_entry(self, name, command):
        entry = pipe_entry(name, self._pipe_argv(command)).split("\n  ", 1)[1]
        self._run([POSTCONF, "-c", self.config_dir, "-F",
                   "%s/unix/command=pipe %s" % (name, entry)])
        self._backdate_config()
        if self.running:
            self.reload()

    def restart_sink(self, sink_args=None):
        """Restart smtp-sink on the same port, e.g. with ["-f", "RCPT"] to
        make it reject every recipient (Postfix then bounces to the sender)."""
        self.sink.restart(sink_args)

    @contextlib.contextmanager
    def rejecting_sink(self, reply="550 5.1.1 Recipient address rejected: User unknown"):
        """with pf.rejecting_sink(): ... -- the sink refuses every RCPT with
        REPLY, as a remote MX would, then goes back to its old options.

        Unlike mail to hardbounce.example.com (error transport), this also
        bounces mail that a policy service routed with FILTER, which
        overrides transport_maps."""
        normal = list(self.sink.args)
        self.sink.restart(normal + ["-f", "RCPT", "-B", reply])
        try:
            yield self
        finally:
            self.sink.restart(normal)

    # ---- mail in -----------------------------------------------------------
    def try_send(self, mail_from, rcpt_to, data, port=None, helo="client.lab.test",
                 timeout=30):
        """Submit one message over SMTP and return a SendResult, never raising
        for SMTP-level refusals.  MAIL_FROM "" sends the null sender <>."""
        if isinstance(rcpt_to, str):
            rcpt_to = [rcpt_to]
        if isinstance(data, str):
            data = data.encode("utf-8")
        port = port or self.submit_port
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult("connect", None, str(exc))
        stage = "mail"
        try:
            smtp.ehlo()
            code, msg = smtp.mail(mail_from)
            if code != 250:
                return SendResult("mail", code, msg.decode("utf-8", "replace"))
            refused = {}
            stage = "rcpt"
            for rcpt in rcpt_to:
                code, msg = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, msg.decode("utf-8", "replace"))
            if len(refused) == len(rcpt_to):
                code, msg = refused[rcpt_to[-1]]
                smtp.rset()
                return SendResult("rcpt", code, msg, refused=refused)
            stage = "data"
            code, msg = smtp.data(_crlf(data))
            text = msg.decode("utf-8", "replace")
            if code != 250:
                return SendResult("data", code, text, refused=refused)
            m = re.search(r"queued as ([0-9A-Za-z]+)", text)
            return SendResult("done", code, text, m.group(1) if m else None, refused)
        except smtplib.SMTPResponseException as exc:
            return SendResult(stage, exc.smtp_code,
                              exc.smtp_error.decode("utf-8", "replace")
                              if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return SendResult(stage, None, "connection lost: %s" % exc)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def send(self, mail_from, rcpt_to, data, port=None, **kw):
        """Submit one message; return the SendResult if Postfix queued it.
        Raises smtplib.SMTPSenderRefused / SMTPRecipientsRefused /
        SMTPDataError (with the server's code and text) on a 4xx/5xx, and
        ConnectionError if the server cannot be reached.  Recipients refused
        while others were accepted are listed in result.refused."""
        res = self.try_send(mail_from, rcpt_to, data, port=port, **kw)
        if res.stage == "connect" or res.code is None:
            raise ConnectionError("%s (at %s)" % (res.message, res.stage))
        if res.stage == "mail":
            raise smtplib.SMTPSenderRefused(res.code, res.message.encode(), mail_from)
        if res.stage == "rcpt":
            raise smtplib.SMTPRecipientsRefused(res.refused)
        if res.stage == "data":
            raise smtplib.SMTPDataError(res.code, res.message)
        return res

    def send_inbound(self, mail_from, rcpt_to, data, **kw):
        """send() to the inbound listener (the bounce domain's MX)."""
        return self.send(mail_from, rcpt_to, data, port=self.inbound_port, **kw)

    # ---- mail out: sink ------------------------------------------------------
    def sink_files(self):
        """Complete message files in sink_dir, oldest first."""
        return self.sink.files()

    def wait_sink(self, count, timeout=30):
        """Wait until at least COUNT complete messages are in the sink and
        return their paths (oldest first).  Raises LabError on timeout."""
        return self.sink.wait(count, timeout)

    def wait_sink_message(self, needle, timeout=30):
        """Wait for the one sink message containing NEEDLE (bytes or str,
        e.g. a unique Message-ID) and return (envelope, message bytes).
        The sink is shared by the tests of a module: find yours this way."""
        return self.sink.wait_message(needle, timeout)

    parse_sink_file = staticmethod(parse_sink_file)

    def sink_messages(self):
        """The messages in the sink (bytes, as relayed by Postfix), oldest first."""
        return [parse_sink_file(p)[1] for p in self.sink.files()]

    def sink_envelopes(self):
        """The smtp-sink envelope of each message, same order as sink_messages()."""
        return [parse_sink_file(p)[0] for p in self.sink.files()]

    def clear_sink(self):
        self.sink.clear()

    # ---- mail out: pipe ------------------------------------------------------
    def pipe_records(self):
        """Deliveries recorded by the default pipe command, oldest first: the
        recorder's JSON dicts plus "message" (the bytes read from stdin)."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.pipe_out_dir, "*.json"))):
            with open(path) as f:
                rec = json.load(f)
            with open(os.path.join(self.pipe_out_dir, rec["stdin"]), "rb") as f:
                rec["message"] = f.read()
            out.append(rec)
        return out

    def wait_pipe_record(self, queue_id, timeout=30):
        """Wait for the recorder's record of QUEUE_ID (its 5th argument with the
        default envelope arguments) and return it (the first, if retried)."""
        def find():
            for rec in self.pipe_records():
                if len(rec["argv"]) > 4 and rec["argv"][4] == queue_id:
                    return rec
            return None
        rec = wait_until(find, timeout)
        if not rec:
            raise LabError("no pipe delivery of %s after %ss; log:\n%s"
                           % (queue_id, timeout, "\n".join(self.log_lines(queue_id))))
        return rec

    def wait_pipe(self, count, timeout=30):
        """Wait until at least COUNT pipe deliveries are recorded; return them."""
        recs = wait_until(lambda: len(self.pipe_records()) >= count and self.pipe_records(),
                          timeout)
        if not recs:
            raise LabError("pipe recorded %d deliveries, expected %d after %ss; maillog tail:\n%s"
                           % (len(self.pipe_records()), count, timeout, self.maillog_tail()))
        return recs

    # ---- logs and queue ------------------------------------------------------
    def maillog(self):
        return self.log.text()

    def maillog_tail(self, lines=40):
        return self.log.tail(lines)

    def log_lines(self, queue_id):
        """Maillog lines about QUEUE_ID."""
        return self.log.lines(queue_id)

    def wait_log(self, pattern, timeout=30):
        """Wait for a maillog line matching the regex PATTERN; return the match."""
        return self.log.wait(pattern, timeout)

    def wait_delivery(self, queue_id, status=None, recipient=None, timeout=30):
        """Wait for the delivery log line of QUEUE_ID (optionally for one
        RECIPIENT and with status=STATUS: sent, deferred, bounced) and return
        a dict: line, service (e.g. "smtp", "smtp-127.0.0.2"), tag, to,
        orig_to, relay (the transport name for a pipe), dsn, status, text."""
        return self.log.wait_delivery(queue_id, status, recipient, timeout)

    def flush(self):
        """Ask Postfix to retry every deferred message now (postqueue -f)."""
        self._run([POSTQUEUE, "-c", self.config_dir, "-f"])

    def queue(self):
        """The queue as a list of dicts (postqueue -j)."""
        text = self._run([POSTQUEUE, "-c", self.config_dir, "-j"])
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
