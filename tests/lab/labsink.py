"""labsink - smtp-sink, the lab's stand-in for the Internet.

DESCRIPTION
    SmtpSink(sink_dir, port, log_path) runs Postfix's smtp-sink(1) on
    127.0.0.1:PORT with `-d SINK_DIR/%Y%m%d%H%M%S.`: one file per mail
    transaction.  smtp-sink writes a file while the transaction runs, so only
    files it no longer holds open (checked in /proc/PID/fd) count as
    complete.

    A dump file is smtp-sink's own header lines (X-Client-Addr, X-Helo-Args,
    X-Mail-Args, X-Rcpt-Args, a three-line Received:), then the message as
    the client sent it, then an empty line; parse_sink_file() splits it into
    the envelope and the message.

    As root, smtp-sink needs -u: it runs as nobody, so SINK_DIR must be
    writable by nobody.  It listens with SO_REUSEPORT: reserve the port (see
    labproc.PortReservation) or another sink could share it silently.
"""

import glob
import os
import subprocess

from labproc import (LabError, port_open, proc_starttime, register_process, stop_processes, unregister,
                     wait_until)

__all__ = ["SmtpSink", "parse_sink_file"]

SMTP_SINK = "/usr/sbin/smtp-sink"


def parse_sink_file(path):
    """Split an smtp-sink dump into (envelope, message bytes).

    envelope = {"client_addr", "helo", "mail", "rcpt": [...]} from the X-*
    lines; the message is what the client sent (smtp-sink's Received: and
    the trailing empty line removed).  Raises LabError on a file that does
    not have smtp-sink's header block."""
    with open(path, "rb") as f:
        raw = f.read()
    env = {"client_addr": None, "helo": None, "mail": None, "rcpt": []}
    pos = 0
    try:
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
    except ValueError:
        raise LabError("%s is not an smtp-sink dump (no Received: block)" % path)
    body = raw[pos:]
    if body.endswith(b"\n\n"):
        body = body[:-1]
    return env, body


class SmtpSink:
    """A private smtp-sink writing one file per message into SINK_DIR."""

    def __init__(self, sink_dir, port, log_path, args=None, context=None):
        """ARGS: extra smtp-sink options (["-f", "RCPT"] rejects every
        recipient).  CONTEXT: a callable whose text is appended to timeout
        errors (the lab passes the maillog tail)."""
        self.dir, self.port, self.log_path = sink_dir, port, log_path
        self.args = list(args or [])
        self._context = context or (lambda: "")
        self._proc = None
        self._key = None

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self):
        return self._proc.pid if self.running else None

    def start(self):
        template = os.path.join(self.dir, "%Y%m%d%H%M%S.")
        argv = [SMTP_SINK, "-4", "-u", "nobody", "-h", "sink.lab.test", "-d", template]
        argv += self.args + ["127.0.0.1:%d" % self.port, "64"]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=log, start_new_session=True)
        self._key = register_process(self._proc.pid, "smtp-sink")
        if not wait_until(lambda: self._proc.poll() is not None or port_open(self.port), 10):
            raise LabError("smtp-sink did not listen on port %d" % self.port)
        # Someone else may answer on a stolen port while our sink dies of
        # "Address already in use": give it a moment to show that.
        wait_until(lambda: self._proc.poll() is not None, 0.1)
        if self._proc.poll() is not None:
            with open(self.log_path, errors="replace") as f:
                text = f.read()[-1000:]
            rc = self._proc.returncode
            self.stop()
            raise LabError("smtp-sink exited %s: %s\n%s" % (rc, " ".join(argv), text))
        return self

    def stop(self):
        """SIGTERM, SIGKILL after 3 s; waits until it is gone."""
        if self._proc is None:
            return
        st = proc_starttime(self._proc.pid)
        if st is not None:
            stop_processes([(self._proc.pid, st)], timeout=3.0)
        self._proc.wait(timeout=5)
        unregister(self._key)
        self._proc = None

    def restart(self, args=None):
        """Restart on the same port, with new ARGS if given."""
        self.stop()
        if args is not None:
            self.args = list(args)
        self.start()

    # ---- captured messages -------------------------------------------------
    def _open_files(self):
        """Paths smtp-sink still has open (transactions in progress)."""
        if not self.running:
            return set()
        fd_dir = "/proc/%d/fd" % self._proc.pid
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

    def files(self):
        """Complete message files, oldest first."""
        # List first, then ask which are still open: a file created between the two steps is not
        # listed, so it cannot pass for complete (the other order let one through half written).
        listed = [p for p in glob.glob(os.path.join(self.dir, "*")) if os.path.isfile(p)]
        busy = self._open_files()
        found = [p for p in listed if p not in busy]
        return sorted(found, key=lambda p: (os.path.getmtime(p), p))

    def wait(self, count, timeout=30):
        """Wait until at least COUNT complete files exist; return their paths."""
        found = wait_until(lambda: len(self.files()) >= count and self.files(), timeout)
        if not found:
            raise LabError("sink holds %d message(s), expected %d after %ss; %s"
                           % (len(self.files()), count, timeout, self._context()))
        return found

    def wait_message(self, needle, timeout=30):
        """Wait for the one message containing NEEDLE (bytes or str, e.g. a
        unique Message-ID); return (envelope, message bytes)."""
        if isinstance(needle, str):
            needle = needle.encode()

        def find():
            parsed = (parse_sink_file(p) for p in self.files())
            return [(env, msg) for env, msg in parsed if needle in msg]
        found = wait_until(find, timeout)
        if not found:
            raise LabError("no sink message contains %r after %ss; %s"
                           % (needle, timeout, self._context()))
        if len(found) > 1:
            raise LabError("%d sink messages contain %r" % (len(found), needle))
        return found[0]

    def clear(self):
        for p in self.files():
            os.unlink(p)
