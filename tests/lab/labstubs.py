"""labstubs - a stand-in Postfix policy service for testing the lab itself.

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

import socketserver
import threading

__all__ = ["PolicyStub"]


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
