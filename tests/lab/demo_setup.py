"""demo_setup - the lab `make demo` plays on: every postflow program attached to a private Postfix.

DESCRIPTION
    DemoLab(bindir, workdir).start() brings up, all on loopback under WORKDIR:
      * a private redis-server (WORKDIR/redis.sock and a TCP port);
      * two DKIM keys made by our dkim-keygen (RSA 2048 and Ed25519, domain
        example.com, selectors rsa2026 and ed2026) and a trace secret;
      * one postflow.conf for every program (written by postflow_conf()),
        checked with each program's -n before anything starts;
      * milter-dkim (both signatures and the X-Postflow-Trace header) and
        policyd-warmup (pool "demo": 127.0.0.2 warming with a cap of
        WARMING_CAP a day, 127.0.0.3 warm; a per-sender rate limit;
        attribution records; a complaint watch every second);
      * a private Postfix whose submit listener has both hooks (the policy
        hook as the shipped conf/main.cf.snippet writes it, one smtp
        transport per sending IP from conf/master.cf.snippet) and whose
        inbound listener delivers the bounce domain to bounce-proc and the
        FBL domain to fbl-proc: the shipped pipe entries, run as nobody, with
        the binaries, the config and a nobody-owned 0600 copy of the secret
        staged in WORKDIR/bin (tests/integration/test_bounce_proc_postfix.py
        does the same).
    stop() ends every process it started; keep() instead records them in
    WORKDIR/lab.pids (labproc's registry-file format) and lets them outlive
    the demo; stop_kept(WORKDIR) ends them later.

USERS
    tests/lab/demo.py.

OWNERSHIP
    DemoLab owns its processes (registered with labproc, so an interrupted
    demo still leaves nothing behind) and WORKDIR's contents.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import labproc
import labsnippet
import postflow_lab as lab
from milter_dkim_helpers import Key  # noqa: E402  (dkim-keygen and the TXT record)

DKIM_DOMAIN = "example.com"
FBL_DOMAIN = "fbl.example.net"
FBL_ADDRESS = "fbl@" + FBL_DOMAIN
POOL = "demo"
WARMING_IP, WARM_IP = "127.0.0.2", "127.0.0.3"
WARMING_CAP = 3
RATE_LIMIT = 5                # messages per sender and hour
COMPLAINT_MAX = "50%"         # demo threshold: 1 complaint in 3 is under it, 2 in 3 over
SECRET = b"demo-trace-secret-0123456789abcdef"
PIDS_FILE = "lab.pids"
RATE_PHRASE = "this sender's hourly limit of %d messages is reached" % RATE_LIMIT
RATE_TEXT = "4.7.1 %s, try again later" % RATE_PHRASE


RULES = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf",
                                     "shaping-rules.conf"))


def postflow_conf(redis_address, secret_file, keys, policy_port, maillog, checkpoint):
    """The one configuration file every program of the demo reads."""
    key_entries = ", ".join('{ name = "%s"; domain = "%s"; selector = "%s"; key_file = "%s"; }'
                            % (k.alg, k.domain, k.selector, k.path) for k in keys)
    return """# postflow.conf of `make demo` (tests/lab/demo_setup.py)
log = { level = "info"; };
redis = { address = "%(redis)s"; };
trace = { secret_file = "%(secret)s"; key_id = "k1"; };
milter_dkim = {
  keys = ( %(keys)s );
  signing_table = ( { from = "%(domain)s"; keys = [ %(names)s ]; } );
  trace_header = true;
};
policy = {
  listen = [ "inet:127.0.0.1:%(port)d" ];
  warmup = {
    smoothing_hours = 0;                       # the whole daily cap is available at once
    health = { complaint_max = "%(cmax)s"; evaluate_interval = "1s"; };
    schedules = ( { name = "demo"; caps = "%(cap)d, 50, 500"; } );
    pools = ( { name = "%(pool)s"; default = true;
                ips = ( { address = "%(warming)s"; schedule = "demo"; },   # warming
                        { address = "%(warm)s"; } ); } );                  # warm: no cap
  };
  rate_limits = (
    { name = "per-sender"; key = "sender"; count = "messages"; limit = %(rate)d; window = "1h";
      stage = "end_of_message"; text = "%(rate_text)s"; }
  );
};
bounce = { };
fbl = { };
maillog_tap = {
  log_file = "%(maillog)s";
  checkpoint = "%(checkpoint)s";
  rules_file = "%(rules)s";
  from_start = true;                           # the lab's maillog from its first line
  poll_interval = 100;
};
""" % {"maillog": maillog, "checkpoint": checkpoint, "rules": RULES,"redis": redis_address, "secret": secret_file, "keys": key_entries, "domain": DKIM_DOMAIN,
       "names": ", ".join('"%s"' % k.alg for k in keys), "port": policy_port, "cmax": COMPLAINT_MAX,
       "cap": WARMING_CAP, "pool": POOL, "warming": WARMING_IP, "warm": WARM_IP, "rate": RATE_LIMIT,
       "rate_text": RATE_TEXT}


class DemoLab:
    def __init__(self, bindir, workdir):
        self.bindir, self.workdir = bindir, workdir
        self.daemons = []           # [(Popen, description)]
        self.redis_server = self.pf = None
        self.keys = []

    def path(self, name):
        return os.path.join(self.bindir, name)

    def log_path(self, name):
        return os.path.join(self.workdir, name + ".log")

    # ---- start -----------------------------------------------------------------------------
    def start(self):
        self.redis_server = lab.RedisServer(self.workdir).start()
        self.redis = self.redis_server.client()
        keydir = os.path.join(self.workdir, "dkim")
        os.makedirs(keydir, mode=0o700)
        self.keys = [Key(self.path("dkim-keygen"), keydir, DKIM_DOMAIN, "rsa2026", "rsa"),
                     Key(self.path("dkim-keygen"), keydir, DKIM_DOMAIN, "ed2026", "ed25519")]
        self.pf = pf = self._postfix()
        self.conf = self._write_conf(pf.bin_dir)
        for prog in ("milter-dkim", "policyd-warmup", "bounce-proc", "fbl-proc", "warmupctl", "maillog-tap"):
            self._check_conf(prog)
        self.milter_port = lab.free_port()
        self._spawn("milter-dkim", ["-f", "-c", self.conf, "-p", "inet:%d@127.0.0.1" % self.milter_port],
                    self.milter_port)
        self._spawn("policyd-warmup", ["-f", "-c", self.conf], self.policy_port)
        pf.milter = "inet:127.0.0.1:%d" % self.milter_port
        pf.policy = "inet:127.0.0.1:%d" % self.policy_port
        pf.start()
        self._spawn("maillog-tap", ["-f", "-c", self.conf, "--follow"], None,
                    ready=lambda: "following" in self._log_text("maillog-tap"))
        return self

    def _log_text(self, prog):
        try:
            with open(self.log_path(prog), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _postfix(self):
        # The pipe commands are fixed before Postfix starts; their config is written right after.
        bin_dir = os.path.join(self.workdir, "bin")
        conf = os.path.join(bin_dir, "postflow.conf")

        def pipe(prog, entry):
            shipped = labsnippet.pipe_transport(entry)
            return [lab.stage_file(bin_dir, self.path(prog)), "-c", conf] + shipped["argv"][3:]
        self.policy_port = lab.free_port()
        return lab.PostfixLab(self.workdir, pipe_command=pipe("bounce-proc", "bounceproc"),
                              extra_pipes={FBL_DOMAIN: pipe("fbl-proc", "fblproc")},
                              extra_master_cf=lab.shipped_ip_transports((WARMING_IP, WARM_IP)),
                              policy_snippet=True, policy_stages=("rcpt", "data_end"))

    def _write_conf(self, bin_dir):
        # The pipes run as nobody: the secret is nobody's own 0600 file, the config world-readable.
        nobody = pwd.getpwnam("nobody")
        os.makedirs(bin_dir, mode=0o755, exist_ok=True)
        secret = os.path.join(bin_dir, "trace.secret")
        with open(secret, "wb") as f:
            f.write(SECRET + b"\n")
        os.chmod(secret, 0o600)
        os.chown(secret, nobody.pw_uid, nobody.pw_gid)
        conf = os.path.join(bin_dir, "postflow.conf")
        with open(conf, "w") as f:
            f.write(postflow_conf(self.redis_server.tcp_address, secret, self.keys, self.policy_port,
                                  self.pf.maillog_path, os.path.join(self.workdir, "maillog-tap.checkpoint")))
        os.chmod(conf, 0o644)
        return conf

    def _check_conf(self, prog):
        res = subprocess.run([self.path(prog), "-n", "-c", self.conf], capture_output=True, text=True,
                             timeout=30)
        if res.returncode != 0:
            raise lab.LabError("%s -n -c %s refuses the demo's configuration (exit %d):\n%s"
                               % (prog, self.conf, res.returncode, (res.stdout + res.stderr).strip()))

    def _spawn(self, prog, args, port, ready=None):
        with open(self.log_path(prog), "ab") as log:
            proc = subprocess.Popen([self.path(prog)] + args, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log, start_new_session=True)
        lab.register_process(proc.pid, prog)
        self.daemons.append((proc, prog))
        ready = ready or (lambda: labproc.port_open(port))
        if not lab.wait_until(lambda: proc.poll() is not None or ready(), 15) \
                or proc.poll() is not None:
            with open(self.log_path(prog), errors="replace") as f:
                text = f.read()[-2000:]
            raise lab.LabError("%s did not start (exit %s); %s:\n%s"
                               % (prog, proc.poll(), self.log_path(prog), text))

    # ---- what Redis says ---------------------------------------------------------------------
    def ip_state(self, ip):
        return {k.decode(): v.decode() for k, v in self.redis.hgetall("pf:ip:{%s}:%s" % (POOL, ip)).items()}

    def health(self, ip):
        """The IP's health counters summed over providers and hours."""
        out = {}
        for key in self.redis.scan_iter("pf:hl:{%s}:%s:*" % (POOL, ip)):
            for k, v in self.redis.hgetall(key).items():
                out[k.decode()] = out.get(k.decode(), 0) + int(v)
        return out

    def suppression(self, addr):
        return {k.decode(): v.decode() for k, v in self.redis.hgetall("pf:sup:{%s}" % addr).items()}

    def attribution(self, queue_id):
        return {k.decode(): v.decode() for k, v in self.redis.hgetall("pf:q:{%s}" % queue_id).items()}

    def stream_entries(self, stream, recipient):
        return [{k.decode(): v.decode("utf-8", "replace") for k, v in e.items()}
                for _, e in self.redis.xrange(stream) if e.get(b"recipient") == recipient.encode()]

    def effect(self, ip, provider, action):
        """The shaping effect maillog-tap wrote for ip x provider ({} when none)."""
        key = "pf:fx:{%s}:%s:%s:%s" % (POOL, ip, provider, action)
        return {k.decode(): v.decode("utf-8", "replace") for k, v in self.redis.hgetall(key).items()}

    def warmupctl(self, *args):
        return subprocess.run([self.path("warmupctl"), "-c", self.conf] + list(args),
                              capture_output=True, text=True, timeout=30)

    # ---- stop or keep ------------------------------------------------------------------------
    def stop(self):
        procs = [(p.pid, lab.proc_starttime(p.pid)) for p, _ in self.daemons]
        lab.stop_processes([x for x in procs if x[1] is not None], timeout=5.0)
        for (p, _), (pid, st) in zip(self.daemons, procs):
            p.wait(timeout=5)
            if st is not None:
                labproc.unregister(("process", pid, st))
        if self.pf is not None:
            self.pf.stop()
        if self.redis_server is not None:
            self.redis_server.stop()

    def keep(self):
        """Let the lab run on after the demo exits: record every process in
        WORKDIR/lab.pids and take it off the demo's own registry (whose
        exit handler would stop it)."""
        entries = [("process", p.pid, desc) for p, desc in self.daemons]
        entries += [("process", self.redis_server.pid, "redis-server"),
                    ("process", self.pf.sink.pid, "smtp-sink"),
                    ("session", self.pf.master_pid, "postfix master and its session")]
        lines = []
        for kind, pid, desc in entries:
            st = lab.proc_starttime(pid)
            lines.append("%s %d %d %s\n" % (kind, pid, st, desc))
            labproc.unregister((kind, pid, st))
        with open(os.path.join(self.workdir, PIDS_FILE), "w") as f:
            f.writelines(lines)
        return os.path.join(self.workdir, PIDS_FILE)


def stop_kept(workdir):
    """Stop a lab left running by `make demo KEEP=1` and remove its directory.
    Returns (stopped "pid description" strings, still-running ones)."""
    pids = os.path.join(workdir, PIDS_FILE)
    if not os.path.isfile(pids):
        raise lab.LabError("%s is not a kept demo lab (no %s)" % (workdir, PIDS_FILE))
    stopped = labproc.reap_registry_file(pids)
    left = labproc.reap_registry_file(pids)     # a second pass finds nothing when all is gone
    if not left:
        shutil.rmtree(workdir, ignore_errors=True)
    return stopped, left
