"""labproc - processes, ports and directories of the postflow test lab.

DESCRIPTION
    The lab starts real services (redis-server, Postfix, smtp-sink, the
    postflow daemons).  This module owns the bookkeeping that lets the lab stop
    exactly what it started and prove afterwards that nothing is left:

    * every process the lab starts is registered by (pid, start time) -- the
      start time from /proc/PID/stat makes a recycled pid harmless;
    * a whole process *session* can be registered too (Postfix's master calls
      setsid(), so every Postfix daemon, postlogd and pipe command shares the
      master's session id); leftovers() then finds children that were
      re-parented after their master died;
    * stop_processes() sends SIGTERM to all given processes at once and waits,
      then SIGKILLs what is still alive: never anything found by name.

    Also here: free_port() (a free loopback TCP port), make_lab_dir() (a
    private directory under /tmp whose ancestors are traversable, because
    pipe(8) commands run as user nobody) and stage_file() (a copy of a built
    binary there, for what an MTA runs as its own user).

    Standard library only.
"""

import atexit
import os
import shutil
import signal
import socket
import tempfile
import time

__all__ = [
    "free_port", "reserve_port", "PortReservation", "make_lab_dir", "stage_file", "proc_alive", "proc_starttime", "proc_session",
    "session_members", "register_process", "register_session", "unregister",
    "leftovers", "stop_processes", "wait_until", "LabError", "reap_registry_file",
]


class LabError(RuntimeError):
    """A lab service failed to start, stop or answer; the message says why."""


def free_port(host="127.0.0.1"):
    """Return a TCP port on HOST that was free a moment ago.

    The kernel picks it (bind to port 0).  There is an unavoidable window
    between closing this probe socket and the service binding the port, so
    services started on it must fail loudly if the bind fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    """True when something accepts TCP connections on HOST:PORT."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class PortReservation:
    """A loopback TCP port held for a service that binds with SO_REUSEPORT.

    Postfix's master and smtp-sink bind their listeners with SO_REUSEPORT
    (seen with ss: two labs given the same port both "listen" on it and the
    kernel splits the connections between them -- silent cross-talk).  A
    bound, non-listening socket with SO_REUSEPORT keeps every other bind()
    (including free_port()'s) off the port, while our own root-owned service
    can still bind it; it never receives connections.  release() closes it.
    """

    def __init__(self, port=0, host="127.0.0.1"):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self.port = self._sock.getsockname()[1]

    def release(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def reserve_port(port=0):
    """Reserve PORT (0: any free one) on 127.0.0.1; see PortReservation."""
    return PortReservation(port)


def make_lab_dir(prefix="postflow-lab-", parent="/tmp"):
    """Create a fresh private directory (mode 0755) and return its path.

    mkdtemp() creates mode 0700; the lab needs 0755 so that the postfix and
    nobody users (pipe commands, smtp-sink) can traverse it.  PARENT and its
    ancestors must be traversable by everyone; /tmp is.
    """
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(path, 0o755)
    return path


def stage_file(directory, path, mode=0o755):
    """Copy PATH into DIRECTORY (created mode 0755) and return the copy's path.

    What an MTA runs as its own user (Postfix pipe(8) commands as nobody,
    Exim's transport_filter as Debian-exim) must be reachable by that user,
    and the source tree may not be: a clone under /root, or any directory
    of mode 0700, stops every other user at its door.  DIRECTORY should be
    inside a make_lab_dir() directory, whose ancestors everyone can
    traverse.  MODE applies to the copy (0o644 for a config file).
    """
    os.makedirs(directory, mode=0o755, exist_ok=True)
    os.chmod(directory, 0o755)
    dest = os.path.join(directory, os.path.basename(path))
    shutil.copyfile(path, dest)
    os.chmod(dest, mode)
    return dest


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may contain spaces or ')'.
    rest = data[data.rfind(b")") + 2:].split()
    return rest  # rest[0] = state, rest[1] = ppid, rest[3] = session, rest[19] = starttime


def proc_starttime(pid):
    """Start time of PID in clock ticks since boot, or None if it is gone."""
    f = _stat_fields(pid)
    if f is None or f[0] == b"Z":
        return None
    return int(f[19])


def proc_session(pid):
    """Session id of PID, or None if it is gone."""
    f = _stat_fields(pid)
    if f is None or f[0] == b"Z":
        return None
    return int(f[3])


def proc_alive(pid, starttime=None):
    """True if PID runs (not a zombie) and, if given, started at STARTTIME."""
    st = proc_starttime(pid)
    return st is not None and (starttime is None or st == starttime)


def proc_cmdline(pid):
    """Command line of PID as one printable string ('' if gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def session_members(sid):
    """Pids of all live processes whose session id is SID."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            pid = int(name)
            if proc_session(pid) == sid:
                pids.append(pid)
    return pids


# ---- registry of what the lab started --------------------------------------
# key -> (kind, pid, starttime, description); kind is "process" or "session".
_REGISTRY = {}


REGISTRY_ENV = "POSTFLOW_LAB_REGISTRY"


def _register(kind, pid, description):
    key = (kind, pid, proc_starttime(pid))
    _REGISTRY[key] = description
    # Outside the test process too: .ci/run reaps what a killed test run
    # left behind from this file (see reap_registry_file).
    path = os.environ.get(REGISTRY_ENV)
    if path and key[2] is not None:
        with open(path, "a") as f:
            f.write("%s %d %d %s\n" % (kind, pid, key[2], description.replace("\n", " ")))
    return key


def register_process(pid, description):
    """Remember PID as started by the lab; returns a key for unregister()."""
    return _register("process", pid, description)


def register_session(leader_pid, description):
    """Remember the session led by LEADER_PID (e.g. Postfix's master)."""
    return _register("session", leader_pid, description)


def unregister(key):
    """Forget KEY once its processes are verifiably gone."""
    _REGISTRY.pop(key, None)


def _key_pids(key):
    kind, pid, starttime = key
    pids = []
    if proc_alive(pid, starttime):
        pids.append(pid)
    if kind == "session" and starttime is not None:
        # The leader may be gone while re-parented members live on.
        pids.extend(p for p in session_members(pid) if p != pid)
    return pids


def leftovers():
    """Every registered process (or session member) still alive.

    Returns a list of "pid description: cmdline" strings; empty when the lab
    left nothing behind.
    """
    out = []
    for key, desc in list(_REGISTRY.items()):
        pids = _key_pids(key)
        if not pids:
            unregister(key)
        for p in pids:
            out.append("%d %s: %s" % (p, desc, proc_cmdline(p)))
    return out


def stop_processes(pids, timeout=5.0, sig=signal.SIGTERM):
    """Send SIG to every pid in PIDS at once, wait up to TIMEOUT seconds for
    all to exit, then SIGKILL the rest and wait again.  PIDS are (pid,
    starttime) pairs so that a recycled pid is never signalled.  Returns the
    list of pids that needed SIGKILL.
    """
    pids = [(p, st) for p, st in pids if proc_alive(p, st)]
    for p, _ in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass
    alive = lambda: [(p, st) for p, st in pids if proc_alive(p, st)]  # noqa: E731
    if wait_until(lambda: not alive(), timeout, interval=0.02):
        return []
    killed = alive()
    for p, _ in killed:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not alive(), 5.0, interval=0.02)
    return [p for p, _ in killed]


def wait_until(predicate, timeout, interval=0.05):
    """Poll PREDICATE until it returns a true value or TIMEOUT seconds pass.
    Returns the last value of PREDICATE (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _stop_leftovers_at_exit():
    """Safety net for scripts that die without stop(): nothing the lab
    started may outlive the Python process that started it."""
    victims, names = [], []
    for key, desc in list(_REGISTRY.items()):
        for p in _key_pids(key):
            st = proc_starttime(p)
            if st is not None:
                victims.append((p, st))
                names.append("%d %s" % (p, desc))
    if victims:
        import sys
        sys.stderr.write("lab: stopping processes left running at exit: %s\n" % ", ".join(names))
        stop_processes(victims, timeout=5.0)


atexit.register(_stop_leftovers_at_exit)


def reap_registry_file(path):
    """Stop every process listed in the registry file PATH (written when
    $POSTFLOW_LAB_REGISTRY is set) that still runs with the same start time,
    and every member of a listed session.  Returns the "pid description"
    strings of what had to be stopped."""
    victims, names = [], []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        kind, pid, starttime = parts[0], int(parts[1]), int(parts[2])
        desc = parts[3] if len(parts) > 3 else ""
        for p in _key_pids((kind, pid, starttime)):
            st = proc_starttime(p)
            if st is not None and (p, st) not in victims:
                victims.append((p, st))
                names.append("%d %s: %s" % (p, desc, proc_cmdline(p)))
    stop_processes(victims, timeout=5.0)
    return names


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3 or sys.argv[1] != "reap":
        sys.stderr.write("usage: labproc.py reap REGISTRY_FILE\n")
        sys.exit(64)
    left = reap_registry_file(sys.argv[2])
    for line in left:
        print("lab: stopped leftover process %s" % line)
    sys.exit(1 if left else 0)
