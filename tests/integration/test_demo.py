"""test_demo.py - `make demo` end to end, as CI runs it.

The demo (tests/lab/demo.py) checks each of its steps itself and exits 1 when
one fails; these tests run it as a separate process, as `make demo` does, and
check from the outside: exit 0, the key line of every step, no terminal
colours when stdout is not a terminal, and - independently of the demo's own
leftover check - that no process of its lab directory still runs.  The second
test keeps the lab up (--keep, what `make demo KEEP=1` passes), finds the
recorded processes alive, and stops them with the command the demo prints.
"""

import os
import re
import shutil
import subprocess
import sys

import postflow_lab as lab
from labproc import proc_cmdline, reap_registry_file

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab", "demo.py")


def run_demo(bin_path, *args, timeout=90):
    env = dict(os.environ, POSTFLOW_BIN=os.path.dirname(bin_path("policyd-warmup")))
    return subprocess.run([sys.executable, DEMO] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


def lab_dir_of(out):
    m = re.search(r"^Logs and data in (/tmp/postflow-demo-\S+):$", out, re.M)
    assert m, out
    return m.group(1)


def processes_under(path):
    """Live processes whose command line names PATH (the lab's binaries, configs and sockets do)."""
    return [p for p in (int(n) for n in os.listdir("/proc") if n.isdigit())
            if path in proc_cmdline(p) and p != os.getpid()]


def test_the_demo_plays_every_step_checked_and_leaves_nothing_running(bin_path):
    res = run_demo(bin_path)
    out = res.stdout
    workdir = lab_dir_of(out)
    try:
        assert res.returncode == 0, out + res.stderr
        for n in range(1, 7):
            assert re.search(r"^%d\. " % n, out, re.M), "step %d missing:\n%s" % (n, out)
        assert "FAILED" not in out and "\033[" not in out
        # 1 and 2: five messages delivered, both signatures verified by dkimpy, 3 via the warming IP
        delivered = re.findall(r"^   ok  \S+@\S+ +\S+  via (127\.0\.0\.[23])  DKIM: rsa-sha256 pass, "
                               r"ed25519-sha256 pass$", out, re.M)
        assert delivered[:5] == ["127.0.0.2"] * 3 + ["127.0.0.3"] * 2, out
        assert re.search(r"deferred at end of DATA: 45\d 4\.7\.1 .*hourly limit", out), out
        # 3: the follower suspends IP x gmail in Redis, policyd steers around it, warmupctl cancels it
        assert re.search(r"^   ok  maillog-tap suspended 127\.0\.0\.3 x gmail for \d+ min \(rule gmail-rate-ip, "
                         r"count 3 in 600s\), in Redis \d\.\d\d s after the demo saw the line$", out, re.M), out
        assert re.search(r"^   ok  kate@gmail\.com +deferred at end of DATA: 45\d 4\.7\.0 .*receivers asked us to "
                         r"slow down", out, re.M), out
        assert re.search(r"^   ok  liam@yahoo\.com .* via 127\.0\.0\.3 ", out, re.M), out
        assert re.search(r"^   ok  kate@gmail\.com .* via 127\.0\.0\.3 ", out, re.M), out
        assert "step 3: suspended, steered around, cancelled." in out, out
        # 4: the bounce loop
        assert "category=userunknown class=hard" in out and "reason=hard" in out, out
        assert re.search(r"refused at RCPT: 550 5\.1\.1 .*suppression list", out), out
        # 5: complaints, forgery, pause
        assert "verified=0" in out and re.search(r"paused 127\.0\.0\.2: complaints .* over the limit", out), out
        # 6: warmupctl's own table
        assert re.search(r"^ +demo +127\.0\.0\.2 .* paused$", out, re.M), out
        assert re.search(r"warmupctl report --html \S+/report\.html: one self-contained page, \d+ KB, "
                         r"([2-9]|\d\d+) charts", out), out
        assert "no process left behind" in out and out.rstrip().endswith(".")
        assert not processes_under(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_keep_leaves_the_lab_running_and_the_printed_stop_command_ends_it(bin_path):
    res = run_demo(bin_path, "--keep")
    workdir = lab_dir_of(res.stdout)
    pids_file = os.path.join(workdir, "lab.pids")
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        recorded = [line.split() for line in open(pids_file).read().splitlines()]
        assert {r[3] for r in recorded} >= {"milter-dkim", "policyd-warmup", "redis-server", "smtp-sink",
                                             "postfix"}
        assert all(lab.proc_alive(int(r[1]), int(r[2])) for r in recorded), recorded
        stop = re.search(r"^   (/\S+python3\S*) (\S+demo\.py) --stop (\S+)$", res.stdout, re.M)
        assert stop and stop.group(3) == workdir, res.stdout
        done = subprocess.run([sys.executable, stop.group(2), "--stop", workdir], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not any(lab.proc_alive(int(r[1]), int(r[2])) for r in recorded)
        assert not os.path.exists(workdir) and not processes_under(workdir)
    finally:
        if os.path.exists(pids_file):      # a failed check above: stop what the demo kept
            reap_registry_file(pids_file)
        shutil.rmtree(workdir, ignore_errors=True)
