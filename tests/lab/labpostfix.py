"""labpostfix - a private Postfix 3.7 instance with an smtp-sink for tests.

DESCRIPTION
    PostfixLab(workdir, ...) writes the main.cf/master.cf of
    /work/shared/docs/mta-lab-notes.md (copied into this file; the project does
    not depend on that document at run time) into WORKDIR/etc and runs
    `postfix -c WORKDIR/etc start`.  Layout of WORKDIR (mode 0755):

        etc/        config_directory (main.cf, master.cf)
        spool/      queue_directory          data/  data_directory (postfix)
        maillog     all Postfix logging (maillog_file + postlogd service)
        sink/       one file per message accepted by smtp-sink (the relayhost)
        pipe-out/   records of the default bounce-domain pipe command
        bin/        pipe_recorder (copied, so user nobody can run it)

    Listeners (127.0.0.1, free ports picked at construction):
        submit_port   smtpd for outbound mail; milter/policy hooks apply here;
                      relays everything to the sink.
        inbound_port  smtpd of the inbound MX: accepts only the pipe domains
                      (bounce.example.net by default), no hooks.
        sink_port     smtp-sink, the stand-in for the Internet.

    Mail to hardbounce.example.com is refused by Postfix itself (error:5.1.1),
    so a real DSN goes back to the sender: from a sender in the bounce
    domain, that DSN arrives at the bounce pipe (the whole bounce loop).

    Mail for the bounce domain goes to the master.cf pipe transport
    "bounceproc" (user=nobody, null_sender= so <> arrives as an empty
    argument, flags=Rq, one recipient per delivery) running PIPE_COMMAND.

    Processes: Postfix's master calls setsid(), so every Postfix process (and
    every pipe command) shares its session; stop() sends SIGTERM to the whole
    session and the smtp-sink at once and SIGKILLs stragglers after a few
    seconds.  Nothing is ever found or signalled by name.

    Needs root (Postfix's master and the pipe user switch require it).
"""

import glob
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time

from labproc import (LabError, free_port, proc_alive, proc_starttime, register_process,
                     register_session, session_members, stop_processes, unregister,
                     wait_until)

__all__ = ["PostfixLab", "SendResult", "ip_transport", "PIPE_ENVELOPE_ARGS", "BOUNCE_DOMAIN",
           "HARDBOUNCE_DOMAIN"]

HERE = os.path.dirname(os.path.abspath(__file__))
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
SMTP_SINK = "/usr/sbin/smtp-sink"

BOUNCE_DOMAIN = "bounce.example.net"
HARDBOUNCE_DOMAIN = "hardbounce.example.com"
# The envelope as pipe(8) macros, in the order bounce-proc/fbl-proc and the
# recorder expect: sender recipient original_recipient nexthop queue_id
# client_address user extension.
PIPE_ENVELOPE_ARGS = ("${sender} ${recipient} ${original_recipient} ${nexthop} "
                      "${queue_id} ${client_address} ${user} ${extension}")

SANITIZER_ENV = ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]
IMPORT_ENVIRONMENT = ["MAIL_CONFIG", "MAIL_DEBUG", "MAIL_LOGTAG", "TZ", "XAUTHORITY", "DISPLAY",
                      "LANG=C", "POSTLOG_SERVICE", "POSTLOG_HOSTNAME"]   # Postfix 3.7 defaults
EXPORT_ENVIRONMENT = ["TZ", "MAIL_CONFIG", "LANG"]

_KEEP = object()  # set_hooks(): "leave this hook as it is"


def ip_transport(ip, name=None):
    """master.cf lines for an smtp transport bound to source address IP.

    The policy daemon selects it with `FILTER smtp-IP:`; its log lines are
    tagged postfix-lab/smtp-IP so the maillog shows which transport (which
    sending IP) delivered.  Example: extra_master_cf=[ip_transport("127.0.0.2")].
    """
    name = name or "smtp-" + ip
    return ("%s unix - - n - - smtp\n  -o smtp_bind_address=%s\n"
            "  -o syslog_name=postfix-lab/%s" % (name, ip, name))


def _postfix_socket(addr):
    """Accept milter sockets in Postfix (inet:HOST:PORT, unix:PATH) or
    sendmail/libmilter syntax (inet:PORT@HOST) and return Postfix syntax."""
    m = re.fullmatch(r"inet:(\d+)@([\w.\-]+)", addr)
    if m:
        return "inet:%s:%s" % (m.group(2), m.group(1))
    return addr


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
                 policy_stages=("rcpt", "data_end"), extra_pipes=None):
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
        """
        self.workdir = os.path.abspath(workdir)
        self.config_dir = os.path.join(self.workdir, "etc")
        self.queue_dir = os.path.join(self.workdir, "spool")
        self.data_dir = os.path.join(self.workdir, "data")
        self.sink_dir = os.path.join(self.workdir, "sink")
        self.pipe_out_dir = os.path.join(self.workdir, "pipe-out")
        self.bin_dir = os.path.join(self.workdir, "bin")
        self.maillog_path = os.path.join(self.workdir, "maillog")
        self.submit_port = free_port()
        self.inbound_port = free_port()
        self.sink_port = free_port()
        self.bounce_domain = BOUNCE_DOMAIN
        self.milter = milter
        self.policy = policy
        self.policy_stages = tuple(policy_stages)
        self.pipe_command = pipe_command
        self.extra_pipes = dict(extra_pipes or {})
        self.extra_main_cf = extra_main_cf
        self.extra_master_cf = extra_master_cf
        self.sink_args = list(sink_args or [])
        self._master = None      # (pid, starttime)
        self._session_key = None
        self._sink = None        # Popen
        self._sink_key = None

    # ---- configuration -----------------------------------------------------
    def _pipe_argv(self, command):
        if command is None:
            command = [os.path.join(self.bin_dir, "pipe_recorder"), self.pipe_out_dir]
        if not isinstance(command, str):
            command = " ".join(command)
        if "${" not in command:
            command += " " + PIPE_ENVELOPE_ARGS
        return command

    def _pipe_entry(self, name, command):
        return ("%s unix - n n - 10 pipe\n  flags=Rq user=nobody null_sender= argv=%s"
                % (name, self._pipe_argv(command)))

    def _pipe_domains(self):
        """[(domain, transport name, command)] of all inbound pipe domains."""
        out = [(self.bounce_domain, "bounceproc", self.pipe_command)]
        for i, (dom, cmd) in enumerate(sorted(self.extra_pipes.items()), 1):
            out.append((dom, "pipe%d" % i, cmd))
        return out

    def _hook_params(self, milter, policy):
        params = {"smtpd_milters": _postfix_socket(milter) if milter else "",
                  "smtpd_recipient_restrictions": "",
                  "smtpd_end_of_data_restrictions": ""}
        if policy:
            check = "check_policy_service " + policy
            if "rcpt" in self.policy_stages:
                params["smtpd_recipient_restrictions"] = check
            if "data_end" in self.policy_stages:
                params["smtpd_end_of_data_restrictions"] = check
        return params

    def main_cf(self):
        """The main.cf parameters as an ordered dict (before writing)."""
        d = self.workdir
        pipes = self._pipe_domains()
        p = {
            "compatibility_level": "3.6",
            "queue_directory": d + "/spool",
            "data_directory": d + "/data",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": self.maillog_path,
            "maillog_file_prefixes": d,
            "myhostname": "mta-lab.example.test",
            "mydomain": "example.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "local_transport": "error:5.1.1 no local delivery in the lab",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "append_dot_mydomain": "no",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "smtputf8_enable": "no",
            "relayhost": "[127.0.0.1]:%d" % self.sink_port,
            # A FILTER transport:nexthop with an empty nexthop (the policy
            # daemon's "FILTER smtp-IP:") bypasses relayhost and looks up the
            # recipient domain; with DNS off that fails, and the fallback
            # relay sends it to the sink too: the sink is "the Internet".
            "smtp_fallback_relay": "[127.0.0.1]:%d" % self.sink_port,
            "relay_domains": ", ".join(dom for dom, _, _ in pipes),
            # Mail to HARDBOUNCE_DOMAIN is bounced by Postfix itself (error
            # transport): a real DSN goes back to the sender, which reaches
            # the pipe when the sender is in the bounce domain.
            "transport_maps": "inline:{ %s, { %s = error:5.1.1 mailbox unknown (lab) } }" % (
                ", ".join("%s=%s:" % (dom, name) for dom, name, _ in pipes), HARDBOUNCE_DOMAIN),
            "recipient_delimiter": "+",
            "virtual_alias_maps": "inline:{ alias@%s=exit-0@%s }" % (
                self.bounce_domain, self.bounce_domain),
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_policy_service_default_action": "451 4.3.5 policy service unavailable",
            "non_smtpd_milters": "",
            "milter_default_action": "accept",
            "milter_protocol": "6",
            "minimal_backoff_time": "30s",
            "maximal_backoff_time": "60s",
            "queue_run_delay": "30s",
            "maximal_queue_lifetime": "1h",
            "bounce_queue_lifetime": "1h",
            "delay_warning_time": "0",
        }
        for _, name, _ in pipes:
            p["%s_destination_recipient_limit" % name] = "1"
        # Sanitizer options set for the test run reach pipe commands (an
        # ASan build of bounce-proc) through master's cleaned environment.
        san = [n for n in SANITIZER_ENV if n in os.environ]
        if san:
            p["import_environment"] = " ".join(IMPORT_ENVIRONMENT + san)
            p["export_environment"] = " ".join(EXPORT_ENVIRONMENT + san)
        p.update(self._hook_params(self.milter, self.policy))
        p.update(self._parse_extra_main_cf(self.extra_main_cf))
        return p

    @staticmethod
    def _parse_extra_main_cf(extra):
        if not extra:
            return {}
        if isinstance(extra, dict):
            return dict(extra)
        if isinstance(extra, str):
            extra = extra.splitlines()
        out = {}
        for line in extra:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise LabError("extra_main_cf line is not 'name = value': %r" % line)
            out[name.strip()] = value.strip()
        return out

    def master_cf(self):
        """The master.cf text (chroot = n everywhere)."""
        lines = [
            "127.0.0.1:%d inet n - n - - smtpd" % self.submit_port,
            "  -o syslog_name=postfix-lab/submit",
            # accept mail for the error-transport domain, bounce it later
            "  -o smtpd_reject_unlisted_recipient=no",
            "127.0.0.1:%d inet n - n - - smtpd" % self.inbound_port,
            "  -o syslog_name=postfix-lab/inbound",
            "  -o mynetworks=",
            "  -o smtpd_milters=",
            "  -o smtpd_recipient_restrictions=",
            "  -o smtpd_end_of_data_restrictions=",
            "pickup    unix  n - n 60 1 pickup",
            "cleanup   unix  n - n -  0 cleanup",
            "qmgr      unix  n - n 300 1 qmgr",
            "rewrite   unix  - - n -  - trivial-rewrite",
            "bounce    unix  - - n -  0 bounce",
            "defer     unix  - - n -  0 bounce",
            "trace     unix  - - n -  0 bounce",
            "verify    unix  - - n -  1 verify",
            "flush     unix  n - n 1000? 0 flush",
            "proxymap  unix  - - n -  - proxymap",
            "proxywrite unix - - n -  1 proxymap",
            "smtp      unix  - - n -  - smtp",
            "relay     unix  - - n -  - smtp",
            "showq     unix  n - n -  - showq",
            "error     unix  - - n -  - error",
            "retry     unix  - - n -  - error",
            "discard   unix  - - n -  - discard",
            "anvil     unix  - - n -  1 anvil",
            "scache    unix  - - n -  1 scache",
            "postlog   unix-dgram n - n - 1 postlogd",
        ]
        for _, name, cmd in self._pipe_domains():
            lines.append(self._pipe_entry(name, cmd))
        extra = self.extra_master_cf or []
        if isinstance(extra, str):
            extra = [extra]
        lines.extend(extra)
        return "\n".join(lines) + "\n"

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

    def _start_sink(self):
        template = os.path.join(self.sink_dir, "%Y%m%d%H%M%S.")
        argv = [SMTP_SINK, "-4", "-u", "nobody", "-h", "sink.lab.test", "-d", template]
        argv += self.sink_args + ["127.0.0.1:%d" % self.sink_port, "64"]
        log = open(os.path.join(self.workdir, "smtp-sink.log"), "ab")
        with log:
            self._sink = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=log, start_new_session=True)
        self._sink_key = register_process(self._sink.pid, "smtp-sink")
        if not wait_until(lambda: self._sink.poll() is not None or self._port_open(self.sink_port),
                          10):
            raise LabError("smtp-sink did not listen on port %d" % self.sink_port)
        if self._sink.poll() is not None:
            raise LabError("smtp-sink exited %s: %s" % (self._sink.returncode, " ".join(argv)))

    def _stop_sink(self):
        if self._sink is None:
            return
        st = proc_starttime(self._sink.pid)
        if st is not None:
            stop_processes([(self._sink.pid, st)], timeout=3.0)
        self._sink.wait(timeout=5)
        unregister(self._sink_key)
        self._sink = None

    def restart_sink(self, sink_args=None):
        """Restart smtp-sink on the same port, e.g. with ["-f", "RCPT"] to
        make it reject every recipient (Postfix then bounces to the sender)."""
        self._stop_sink()
        if sink_args is not None:
            self.sink_args = list(sink_args)
        self._start_sink()

    @staticmethod
    def _port_open(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

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
        self._prepare_dirs()
        self._write_config()
        self._start_sink()
        try:
            self._run([POSTFIX, "-c", self.config_dir, "start"], timeout=timeout)
            pid = wait_until(self._master_pid, 10)
            if not pid or not proc_alive(pid):
                raise LabError("Postfix master did not start; maillog:\n" + self.maillog_tail())
            self._master = (pid, proc_starttime(pid))
            self._session_key = register_session(pid, "postfix lab " + self.workdir)
            for port in (self.submit_port, self.inbound_port):
                if not wait_until(lambda: self._port_open(port), 10):
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
            for pid in session_members(self._master[0]):
                st = proc_starttime(pid)
                if st is not None:
                    out.append((pid, st))
        if self._sink is not None and self._sink.poll() is None:
            out.append((self._sink.pid, proc_starttime(self._sink.pid)))
        return [p for p in out if p[1] is not None]

    def stop(self, timeout=5.0):
        """Stop Postfix and the sink: SIGTERM to every lab process at once,
        SIGKILL after TIMEOUT seconds.  Leaves no process behind."""
        if self._master is None:
            pid = self._master_pid()  # a start() that died half-way
            if pid and proc_alive(pid) and os.path.exists(self.config_dir):
                self._master = (pid, proc_starttime(pid))
        pids = []
        if self._master is not None:
            pids = [(pid, proc_starttime(pid)) for pid in session_members(self._master[0])]
        if self._sink is not None:
            pids.append((self._sink.pid, proc_starttime(self._sink.pid)))
        stop_processes([p for p in pids if p[1] is not None], timeout=timeout)
        if self._sink is not None:
            self._sink.wait(timeout=5)
            unregister(self._sink_key)
            self._sink = None
        if self._master is not None:
            # Members forked between the snapshot and the TERM die with master
            # (it signals its process group); check and mop up once more.
            rest = [(p, proc_starttime(p)) for p in session_members(self._master[0])]
            stop_processes([p for p in rest if p[1] is not None], timeout=timeout)
            if self._session_key:
                unregister(self._session_key)
            self._master = None
            self._session_key = None

    def reload(self, timeout=15):
        """Make master re-read its config (SIGHUP, which is what `postfix
        reload` sends after 2 s of sanity checks) and wait until it has, and
        until the smtpd processes of the old configuration are gone."""
        if not self.running:
            raise LabError("reload: this Postfix lab is not running")
        before = self.maillog().count(": reload -- version")
        master = self._master[0]
        old = [(p, proc_starttime(p)) for p in session_members(master) if p != master]
        os.kill(master, signal.SIGHUP)
        if not wait_until(lambda: self.maillog().count(": reload -- version") > before, timeout):
            raise LabError("Postfix did not log its reload; maillog:\n" + self.maillog_tail())
        # Every child of the old generation (smtpd, pipe, smtp, qmgr...) exits
        # within about a second of the reload; wait, so that the next
        # connection or delivery surely runs with the new settings.
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
        params = self._hook_params(self.milter, self.policy)
        self.postconf(*("%s=%s" % kv for kv in params.items()))
        if self.running:
            self.reload()

    def stage_file(self, path, mode=0o755):
        """Copy PATH into the lab's bin/ directory and return the copy's path.

        pipe(8) commands run as nobody, who may not reach a file inside the
        source tree (a clone under /root is mode 0700): stage the binary and
        its config here, e.g. set_pipe_command([pf.stage_file(bin_path(
        "bounce-proc")), "-c", pf.stage_file(conf, 0o644)])."""
        os.makedirs(self.bin_dir, mode=0o755, exist_ok=True)
        dest = os.path.join(self.bin_dir, os.path.basename(path))
        shutil.copyfile(path, dest)
        os.chmod(dest, mode)
        return dest

    def set_pipe_command(self, command):
        """Replace the bounce domain's pipe command (see __init__) and reload."""
        self.pipe_command = command
        entry = self._pipe_entry("bounceproc", command).split("\n  ", 1)[1]
        self._run([POSTCONF, "-c", self.config_dir, "-F",
                   "bounceproc/unix/command=pipe " + entry])
        self._backdate_config()
        if self.running:
            self.reload()

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
    def _sink_open_files(self):
        """Paths smtp-sink still has open (messages being received)."""
        if self._sink is None:
            return set()
        fd_dir = "/proc/%d/fd" % self._sink.pid
        out = set()
        try:
            for fd in os.listdir(fd_dir):
                try:
                    out.add(os.readlink(os.path.join(fd_dir, fd)))
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def sink_files(self):
        """Complete message files in sink_dir, oldest first."""
        busy = self._sink_open_files()
        files = [p for p in glob.glob(os.path.join(self.sink_dir, "*"))
                 if os.path.isfile(p) and p not in busy]
        return sorted(files, key=lambda p: (os.path.getmtime(p), p))

    def wait_sink(self, count, timeout=30):
        """Wait until at least COUNT complete messages are in the sink and
        return their paths (oldest first).  Raises LabError on timeout."""
        files = wait_until(lambda: len(self.sink_files()) >= count and self.sink_files(), timeout)
        if not files:
            raise LabError("sink holds %d message(s), expected %d after %ss; maillog tail:\n%s"
                           % (len(self.sink_files()), count, timeout, self.maillog_tail()))
        return files

    def wait_sink_message(self, needle, timeout=30):
        """Wait for the one sink message containing NEEDLE (bytes or str,
        e.g. a unique Message-ID) and return (envelope, message bytes).
        The sink is shared by the tests of a module: find yours this way."""
        if isinstance(needle, str):
            needle = needle.encode()

        def find():
            return [self.parse_sink_file(p) for p in self.sink_files()
                    if needle in self.parse_sink_file(p)[1]]
        found = wait_until(find, timeout)
        if not found:
            raise LabError("no sink message contains %r after %ss; maillog tail:\n%s"
                           % (needle, timeout, self.maillog_tail()))
        if len(found) > 1:
            raise LabError("%d sink messages contain %r" % (len(found), needle))
        return found[0]

    @staticmethod
    def parse_sink_file(path):
        """Split an smtp-sink dump into (envelope, message bytes).

        envelope = {"client_addr", "helo", "mail", "rcpt": [...]} from the
        X-* lines smtp-sink writes first; the message is what the client
        sent (the three-line Received: that smtp-sink adds and its trailing
        empty line are removed)."""
        with open(path, "rb") as f:
            raw = f.read()
        env = {"client_addr": None, "helo": None, "mail": None, "rcpt": []}
        pos = 0
        while True:
            end = raw.index(b"\n", pos)
            line = raw[pos:end].decode("utf-8", "replace").rstrip("\r")
            key, _, val = line.partition(": ")
            if key == "Received":
                # "Received: from ...\n\tby ...\n\ttime-stamp\n"
                for _ in range(2):
                    end = raw.index(b"\n", end + 1)
                pos = end + 1
                break
            if key == "X-Client-Addr":
                env["client_addr"] = val
            elif key == "X-Helo-Args":
                env["helo"] = val
            elif key == "X-Mail-Args":
                env["mail"] = val
            elif key == "X-Rcpt-Args":
                env["rcpt"].append(val)
            pos = end + 1
        body = raw[pos:]
        if body.endswith(b"\n\n"):
            body = body[:-1]
        return env, body

    def sink_messages(self):
        """The messages in the sink (bytes, as relayed by Postfix), oldest first."""
        return [self.parse_sink_file(p)[1] for p in self.sink_files()]

    def sink_envelopes(self):
        """The smtp-sink envelope of each message, same order as sink_messages()."""
        return [self.parse_sink_file(p)[0] for p in self.sink_files()]

    def clear_sink(self):
        for p in self.sink_files():
            os.unlink(p)

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
        try:
            with open(self.maillog_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def maillog_tail(self, lines=40):
        return "".join(self.maillog().splitlines(True)[-lines:])

    def log_lines(self, queue_id):
        """Maillog lines about QUEUE_ID."""
        tag = " %s: " % queue_id
        return [l for l in self.maillog().splitlines() if tag in l]

    def wait_log(self, pattern, timeout=30):
        """Wait for a maillog line matching the regex PATTERN; return the match."""
        rx = re.compile(pattern, re.M)
        m = wait_until(lambda: rx.search(self.maillog()), timeout)
        if not m:
            raise LabError("no maillog line matches %r after %ss; maillog tail:\n%s"
                           % (pattern, timeout, self.maillog_tail()))
        return m

    def wait_delivery(self, queue_id, status=None, recipient=None, timeout=30):
        """Wait for the delivery log line of QUEUE_ID (optionally for one
        RECIPIENT and with status=STATUS: sent, deferred, bounced) and return
        a dict: line, service (e.g. "smtp", "smtp-127.0.0.2", "pipe"),
        to, orig_to, relay, dsn, status, text."""
        rx = re.compile(
            r"^.*? (?P<syslog>[\w./-]+)\[\d+\]: %s: to=<(?P<to>[^>]*)>,"
            r"(?: orig_to=<(?P<orig_to>[^>]*)>,)? relay=(?P<relay>[^,]+),.*?"
            r" dsn=(?P<dsn>[\d.]+), status=(?P<status>\w+) \((?P<text>.*)\)$"
            % re.escape(queue_id), re.M)

        def find():
            for m in rx.finditer(self.maillog()):
                if (status is None or m.group("status") == status) and \
                        (recipient is None or m.group("to") == recipient):
                    return m
            return None
        m = wait_until(find, timeout)
        if not m:
            raise LabError("no delivery line for %s (status=%s, to=%s) after %ss; log:\n%s"
                           % (queue_id, status, recipient, timeout,
                              "\n".join(self.log_lines(queue_id)) or self.maillog_tail()))
        d = m.groupdict()
        d["line"] = m.group(0)
        # syslog tag "postfix/smtp" or "postfix-lab/smtp-127.0.0.2/smtp":
        # the service is the part before the program name if there is one.
        d["tag"] = d.pop("syslog")
        parts = d["tag"].split("/")
        d["service"] = parts[-2] if len(parts) >= 3 else parts[-1]
        return d

    def flush(self):
        """Ask Postfix to retry every deferred message now (postqueue -f)."""
        self._run([POSTQUEUE, "-c", self.config_dir, "-f"])

    def queue(self):
        """The queue as a list of dicts (postqueue -j)."""
        text = self._run([POSTQUEUE, "-c", self.config_dir, "-j"])
        return [json.loads(l) for l in text.splitlines() if l.startswith("{")]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
