"""labredis - a private redis-server for tests.

DESCRIPTION
    RedisServer(workdir) runs the system's redis-server with a generated
    config inside WORKDIR: a unix socket (WORKDIR/redis.sock, mode 777 so
    that pipe commands running as nobody can use it) and a loopback TCP port,
    no persistence (save "", appendonly no), log in WORKDIR/redis.log.

        srv = RedisServer(workdir); srv.start()
        srv.client().set("k", "v")
        srv.kill(); ...; srv.restart()        # same socket and port
        srv.stop()

    start() returns only once the server answers PING.  stop() sends SIGTERM,
    kill() SIGKILL; both wait until the process is gone.

    Needs python3-redis (Debian package) for client() and the PING probe.
"""

import os
import signal
import subprocess

import redis

from labproc import LabError, free_port, register_process, stop_processes, \
    proc_starttime, unregister, wait_until

__all__ = ["RedisServer"]

REDIS_SERVER = "redis-server"


class RedisServer:
    """A private redis-server on a unix socket and a loopback TCP port."""

    def __init__(self, workdir, port=None, password=None, extra_conf=None):
        """WORKDIR must exist.  PORT defaults to a free loopback port; a
        PASSWORD sets requirepass; EXTRA_CONF lines are appended verbatim."""
        self.workdir = os.path.abspath(workdir)
        self._port = port or free_port()
        # A port we picked may be taken before redis binds it (redis does not
        # share ports, so that fails loudly): then the first start retries on
        # another one.  A given port, or a restart, keeps its port.
        self._may_move = port is None
        self.password = password
        self.extra_conf = extra_conf or []
        self._proc = None
        self._key = None
        self._conf_path = os.path.join(self.workdir, "redis.conf")
        self.log_path = os.path.join(self.workdir, "redis.log")

    # ---- addresses ---------------------------------------------------------
    @property
    def unix_socket(self):
        return os.path.join(self.workdir, "redis.sock")

    @property
    def port(self):
        return self._port

    @property
    def address(self):
        """The unix socket in postflow config syntax: "unix:/path"."""
        return "unix:" + self.unix_socket

    @property
    def tcp_address(self):
        return "127.0.0.1:%d" % self._port

    @property
    def pid(self):
        return self._proc.pid if self.running else None

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    # ---- lifecycle ---------------------------------------------------------
    def _write_conf(self):
        lines = [
            "port %d" % self._port,
            "bind 127.0.0.1",
            "unixsocket %s" % self.unix_socket,
            "unixsocketperm 777",
            "daemonize no",
            'save ""',
            "appendonly no",
            "dir %s" % self.workdir,
            "logfile %s" % self.log_path,
            "databases 16",
        ]
        if self.password:
            lines.append("requirepass %s" % self.password)
        lines.extend(self.extra_conf)
        with open(self._conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=10.0):
        """Start the server and wait until it answers PING."""
        for attempt in range(3):
            try:
                self._start_once(timeout)
                self._may_move = False
                return self
            except LabError as exc:
                if not self._may_move or "Address already in use" not in str(exc) or attempt == 2:
                    raise
                self._port = free_port()

    def _start_once(self, timeout):
        if self.running:
            raise LabError("redis-server already running (pid %d)" % self._proc.pid)
        self._write_conf()
        if os.path.exists(self.unix_socket):
            os.unlink(self.unix_socket)
        self._proc = subprocess.Popen(
            [REDIS_SERVER, self._conf_path], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, cwd=self.workdir)
        self._key = register_process(self._proc.pid, "redis-server")
        if not wait_until(self._answers_ping, timeout, interval=0.02) or \
                self._proc.poll() is not None:
            rc = self._proc.poll()
            self.kill()
            raise LabError("redis-server did not answer PING within %.0fs (exit %s); log:\n%s"
                           % (timeout, rc, self.log_tail()))

    def _answers_ping(self):
        if self._proc.poll() is not None:
            return True  # died: stop waiting, start() reports it
        try:
            c = self.client(socket_timeout=0.5, socket_connect_timeout=0.5)
            try:
                return c.ping()
            finally:
                c.close()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                FileNotFoundError, ConnectionRefusedError):
            return False

    def _end(self, sig):
        if self._proc is None:
            return
        st = proc_starttime(self._proc.pid)
        if st is not None:
            stop_processes([(self._proc.pid, st)], timeout=5.0, sig=sig)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            raise LabError("redis-server pid %d did not exit" % self._proc.pid)
        unregister(self._key)
        self._proc = None

    def stop(self):
        """Stop the server with SIGTERM and wait until it is gone."""
        self._end(signal.SIGTERM)

    def kill(self):
        """Kill the server with SIGKILL (a crash) and wait until it is gone."""
        self._end(signal.SIGKILL)

    def restart(self, timeout=10.0):
        """Stop (if running) and start again on the same socket and port."""
        self.stop()
        return self.start(timeout=timeout)

    # ---- use ---------------------------------------------------------------
    def client(self, **kwargs):
        """A new redis.Redis connected over the unix socket (decode_responses
        is False unless given)."""
        kwargs.setdefault("password", self.password)
        return redis.Redis(unix_socket_path=self.unix_socket, **kwargs)

    def redis_conf(self, key_prefix="pf:"):
        """The `redis` section of postflow.conf (libconfig) for this server."""
        lines = ['redis = {', '  address = "%s";' % self.address,
                 '  key_prefix = "%s";' % key_prefix]
        if self.password:
            lines.append('  password = "%s";' % self.password)
        return "\n".join(lines + ["};"]) + "\n"

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
