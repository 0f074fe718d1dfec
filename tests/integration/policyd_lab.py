"""policyd_lab - run a real policyd-warmup for the policy integration tests.

DESCRIPTION
    Policyd(binary, workdir, config_text) writes config_text to
    WORKDIR/NAME.conf and runs `policyd-warmup -f -c FILE -p inet:127.0.0.1:PORT`
    (stderr to WORKDIR/NAME.log).  The process is registered with the lab's
    process registry (labproc), so a test that forgets to stop it is caught.

        pd = Policyd(bin_path("policyd-warmup"), workdir, conf).start()
        pd.ask(protocol_state="RCPT", recipient="a@b.example", ...)  # -> "DUNNO"
        pd.reload(new_conf)     # rewrite the file, SIGHUP
        pd.stop()

    wrapper=[...] runs the daemon through a command that exec's it (prlimit),
    so the pid is still the daemon's.

    ask() opens one connection per call; Connection gives a persistent one
    (Postfix style) and exim() a one-shot request with half-close (Exim
    ${readsocket} style).
"""

import os
import signal
import socket
import subprocess
import time

import postflow_lab as lab
from labproc import register_process, unregister


def request_bytes(attrs, final_empty_line=True):
    attrs = dict(attrs)
    attrs.setdefault("request", "smtpd_access_policy")
    text = "request=%s\n" % attrs.pop("request")
    text += "".join("%s=%s\n" % kv for kv in attrs.items())
    if final_empty_line:
        text += "\n"
    return text.encode()


def read_answer(sock):
    """Reads one answer block; returns the action value, or None on EOF first."""
    buf = b""
    while not buf.endswith(b"\n\n"):
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    line = buf.decode().strip()
    assert line.startswith("action="), line
    return line[len("action="):]


class Connection:
    """A persistent policy connection (what Postfix's smtpd keeps)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def ask(self, **attrs):
        self.sock.sendall(request_bytes(attrs))
        return read_answer(self.sock)

    def close(self):
        self.sock.close()


class Policyd:
    def __init__(self, binary, workdir, config_text, name="policyd", wrapper=()):
        self.binary = binary
        self.wrapper = list(wrapper)    # e.g. ["prlimit", "--nofile=100:1000", "--"]: exec's the daemon
        self.workdir = workdir
        self.name = name
        self.port = lab.free_port()
        self.conf_path = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None
        self._key = None
        self.write_config(config_text)

    @property
    def socket(self):
        return "inet:127.0.0.1:%d" % self.port

    def write_config(self, text):
        with open(self.conf_path, "w") as f:
            f.write(text)

    def start(self, timeout=10):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.wrapper + [self.binary, "-f", "-c", self.conf_path, "-p", self.socket],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self._key = register_process(self.proc.pid, "policyd-warmup " + self.name)

        def up():
            if self.proc.poll() is not None:
                raise lab.LabError("policyd-warmup exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        if not lab.wait_until(up, timeout):
            raise lab.LabError("policyd-warmup did not listen on %s:\n%s" % (self.socket, self.log()))
        return self

    def wait_log(self, text, timeout=10):
        if not lab.wait_until(lambda: text in self.log(), timeout):
            raise lab.LabError("%r not in the policyd log after %ss:\n%s" % (text, timeout, self.log()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reload(self, config_text=None):
        if config_text is not None:
            self.write_config(config_text)
        mark = self.log().count("configuration reloaded")
        self.proc.send_signal(signal.SIGHUP)
        if not lab.wait_until(lambda: self.log().count("configuration reloaded") > mark
                              or "reload failed" in self.log(), 10):
            raise lab.LabError("no reload seen:\n" + self.log())

    def stop(self, timeout=5):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        unregister(self._key)
        self._log.close()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def connect(self):
        return Connection(self.port)

    def ask(self, **attrs):
        c = self.connect()
        try:
            return c.ask(**attrs)
        finally:
            c.close()

    def exim(self, final_empty_line=False, **attrs):
        """One request, then half-close (Exim ${readsocket}); returns (action, closed_after)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            s.sendall(request_bytes(attrs, final_empty_line))
            s.shutdown(socket.SHUT_WR)
            action = read_answer(s)
            closed = s.recv(1) == b""
            return action, closed
        finally:
            s.close()


def rcpt(recipient, sender="news@example.com", client="192.0.2.50", instance=None, **more):
    attrs = dict(protocol_state="RCPT", protocol_name="ESMTP", client_address=client,
                 client_name="unknown", sender=sender, recipient=recipient, recipient_count="0",
                 instance=instance or "inst-%s-%f" % (recipient, time.time()), size="0")
    attrs.update(more)
    return attrs


def eom(queue_id, sender="news@example.com", recipient="", recipient_count=1, size=1000,
        client="192.0.2.50", **more):
    attrs = dict(protocol_state="END-OF-MESSAGE", protocol_name="ESMTP", client_address=client,
                 sender=sender, recipient=recipient, recipient_count=str(recipient_count),
                 size=str(size), queue_id=queue_id, instance="eom-" + queue_id)
    attrs.update(more)
    return attrs
