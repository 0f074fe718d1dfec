"""labstubs - stand-ins for postflow's daemons, for testing the lab itself.

    PolicyStub   a Postfix policy service (below);
    OpenDkim     the incumbent OpenDKIM as a signing milter (after it).


DESCRIPTION
    PolicyStub() listens on a free loopback port in a background thread and
    speaks the Postfix policy delegation protocol (name=value lines, an empty
    line ends a request; the connection stays open for more requests, and a
    half-closed one, as Exim's ${readsocket} does, is served too).  It records
    every request (a dict) in .requests and answers by the recipient's local
    part, so tests can prove that the lab's hooks reach a policy service:

        ok-*        action=DUNNO
        defer-*     action=DEFER policy-stub says try later
        reject-*    action=REJECT policy-stub says no
        via-A-B-C-D action=FILTER smtp-A.B.C.D:   (at END-OF-MESSAGE only)

    It is NOT postflow's policy daemon; it only stands in for one while the
    lab is tested.  Standard library only.
"""

import os
import re
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading

from labproc import (LabError, free_port, proc_starttime, register_process, stop_processes,
                     unregister, wait_until)

__all__ = ["PolicyStub", "OpenDkim"]


def _decide(req):
    rcpt = req.get("recipient", "")
    local = rcpt.split("@", 1)[0].lower()
    state = req.get("protocol_state", "")
    if state == "RCPT":
        if local.startswith("defer-"):
            return "DEFER policy-stub says try later"
        if local.startswith("reject-"):
            return "REJECT policy-stub says no"
    if state == "END-OF-MESSAGE" and local.startswith("via-"):
        return "FILTER smtp-%s:" % local[4:].replace("-", ".")
    return "DUNNO"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        req = {}
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                name, _, value = line.partition("=")
                req[name] = value
                continue
            self.server.stub.requests.append(req)
            self.wfile.write(("action=%s\n\n" % _decide(req)).encode())
            self.wfile.flush()
            req = {}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class PolicyStub:
    """A threaded policy service on 127.0.0.1 (see module doc)."""

    def __init__(self):
        self.requests = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self.port = self._server.server_address[1]
        self._thread = None

    @property
    def address(self):
        """Postfix syntax: inet:127.0.0.1:PORT."""
        return "inet:127.0.0.1:%d" % self.port

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class OpenDkim:
    """OpenDKIM (the opendkim package) as a signing milter on 127.0.0.1.

    OpenDKIM refuses a config or key below a group/world-writable directory
    such as /tmp, so its files live in a private 0700 directory under /run
    that stop() removes.  The key is made with opendkim-genkey; txt_record
    is its public key record (what DNS would hold at
    SELECTOR._domainkey.DOMAIN), ready for a verifier's DNS stand-in.

        od = OpenDkim(domain="example.com", selector="lab").start()
        pf.set_hooks(milter=od.address); ...; od.stop()

    Used to prove the lab's milter hook, and as the incumbent to compare with.
    """

    def __init__(self, domain="example.com", selector="lab", bits=2048,
                 canonicalization="relaxed/simple"):
        self.domain, self.selector, self.bits = domain, selector, bits
        self.canonicalization = canonicalization
        self.port = free_port()
        self.dir = None
        self.txt_record = None
        self._proc = None
        self._key = None

    @property
    def address(self):
        """Postfix milter syntax: inet:127.0.0.1:PORT."""
        return "inet:127.0.0.1:%d" % self.port

    @property
    def record_name(self):
        return "%s._domainkey.%s" % (self.selector, self.domain)

    def start(self, timeout=15):
        os.makedirs("/run", exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="postflow-opendkim-", dir="/run")
        os.chmod(self.dir, 0o700)
        gen = subprocess.run(["opendkim-genkey", "-b", str(self.bits), "-d", self.domain,
                              "-s", self.selector, "-D", self.dir],
                             capture_output=True, text=True, timeout=60)
        if gen.returncode != 0:
            self.stop()
            raise LabError("opendkim-genkey failed: " + gen.stderr)
        with open(os.path.join(self.dir, self.selector + ".txt")) as f:
            self.txt_record = "".join(re.findall(r'"([^"]*)"', f.read()))
        conf = os.path.join(self.dir, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Syslog no\nMode s\nDomain %s\nSelector %s\nKeyFile %s\n"
                    "Canonicalization %s\nSocket inet:%d@127.0.0.1\n"
                    "InternalHosts 127.0.0.0/8\nBackground no\n"
                    % (self.domain, self.selector,
                       os.path.join(self.dir, self.selector + ".private"),
                       self.canonicalization, self.port))
        log = open(os.path.join(self.dir, "opendkim.log"), "ab")
        with log:
            self._proc = subprocess.Popen(["opendkim", "-f", "-x", conf], stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log, start_new_session=True)
        self._key = register_process(self._proc.pid, "opendkim")

        def listening():
            if self._proc.poll() is not None:
                return True
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_until(listening, timeout)
        rc = self._proc.poll()
        if rc is not None:
            with open(os.path.join(self.dir, "opendkim.log"), errors="replace") as f:
                text = f.read()
            self.stop()
            raise LabError("opendkim exited %s: %s" % (rc, text))
        return self

    def stop(self):
        """Stop opendkim and remove its private directory.  OpenDKIM takes
        about 4.5 s to act on SIGTERM (measured); it keeps no state worth a
        clean exit here, so SIGKILL follows after one second."""
        if self._proc is not None:
            st = proc_starttime(self._proc.pid)
            if st is not None:
                stop_processes([(self._proc.pid, st)], timeout=1.0)
            self._proc.wait(timeout=5)
            unregister(self._key)
            self._proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
