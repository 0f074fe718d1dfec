"""conftest.py - pytest fixtures of the postflow integration tests.

Fixtures (see docs/testing.md):
    bin_path      callable: bin_path("policyd-warmup") -> absolute path in
                  $POSTFLOW_BIN; fails the test with a clear message if the
                  variable is unset or the binary is missing (never skips).
    lab_dir       callable: lab_dir("name") -> fresh 0755 directory under
                  /tmp, removed after the test (kept if POSTFLOW_KEEP_LAB=1).
    redis_server  a fresh, started RedisServer per test (function scope).
    postfix_lab   one started PostfixLab per test module (module scope);
                  tests call set_hooks() as they need.  A module may set
                  POSTFIX_LAB_OPTIONS = {...} (PostfixLab keyword arguments).
    A session-wide check fails the run if any process started by the lab is
    still alive at the end (and kills it, so nothing leaks into the machine).
"""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import postflow_lab as lab  # noqa: E402

KEEP = os.environ.get("POSTFLOW_KEEP_LAB") == "1"


def _rm_lab_dir(path):
    if KEEP:
        sys.stderr.write("\nlab directory kept: %s\n" % path)
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def bin_path():
    """Return a function mapping a program name to its built binary."""
    bindir = os.environ.get("POSTFLOW_BIN")

    def resolve(name):
        if not bindir:
            pytest.fail("POSTFLOW_BIN is not set: run the integration tests with "
                        "`make integration` (or POSTFLOW_BIN=$PWD/bin pytest ...)", pytrace=False)
        path = os.path.join(os.path.abspath(bindir), name)
        if not os.access(path, os.X_OK):
            pytest.fail("binary %s not found in POSTFLOW_BIN=%s: build it with `make`"
                        % (name, bindir), pytrace=False)
        return path
    return resolve


@pytest.fixture
def lab_dir():
    """Factory for private 0755 directories under /tmp (removed afterwards)."""
    made = []

    def make(name="lab"):
        path = lab.make_lab_dir(prefix="postflow-%s-" % name)
        made.append(path)
        return path
    yield make
    for path in made:
        _rm_lab_dir(path)


@pytest.fixture
def redis_server():
    """A fresh private redis-server for one test (unix socket + TCP port)."""
    workdir = lab.make_lab_dir(prefix="postflow-redis-")
    srv = lab.RedisServer(workdir).start()
    yield srv
    srv.stop()
    _rm_lab_dir(workdir)


@pytest.fixture(scope="module")
def postfix_lab(request):
    """One private Postfix (+ smtp-sink) per test module, started once.

    A test module may define POSTFIX_LAB_OPTIONS = {...}: keyword arguments
    for PostfixLab (extra_master_cf, extra_main_cf, pipe_command, ...)."""
    workdir = lab.make_lab_dir(prefix="postflow-postfix-")
    options = getattr(request.module, "POSTFIX_LAB_OPTIONS", {})
    pf = lab.PostfixLab(workdir, **options)
    try:
        pf.start()
    except Exception:
        pf.stop()
        _rm_lab_dir(workdir)
        raise
    yield pf
    pf.stop()
    _rm_lab_dir(workdir)


@pytest.fixture(scope="session", autouse=True)
def no_lab_process_left_behind():
    """Fail the run if a process started by the lab outlives the session."""
    yield
    left = lab.leftovers()
    if left:
        pids = []
        for line in left:
            pid = int(line.split()[0])
            pids.append((pid, lab.proc_starttime(pid)))
        lab.stop_processes([p for p in pids if p[1] is not None], timeout=2.0)
        pytest.fail("processes started by the lab were still running at the end "
                    "of the session (now killed):\n  " + "\n  ".join(left), pytrace=False)


@pytest.fixture
def daemons(bin_path):
    """start(workdir, config_text, name=, wrapper=) -> a running policyd-warmup (policyd_lab.Policyd);
    every one started is stopped at the end and must exit 0 with no sanitizer report."""
    from policyd_lab import Policyd
    started = []

    def start(workdir, text, name="policyd", wrapper=()):
        pd = Policyd(bin_path("policyd-warmup"), workdir, text, name=name, wrapper=wrapper).start()
        started.append(pd)
        return pd
    yield start
    for pd in started:
        rc = pd.stop()
        # A clean SIGTERM stop exits 0; the ASan build also fails here on leaks or UB.
        assert rc == 0, "policyd %s exited %s:\n%s" % (pd.name, rc, pd.log()[-3000:])
        assert "Sanitizer" not in pd.log() and "runtime error" not in pd.log(), pd.log()[-3000:]
