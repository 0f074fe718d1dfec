#!/usr/bin/python3
"""inbound_bench.py - bounce-proc and fbl-proc against Sisimai, side by side.

Usage: inbound_bench.py BIN_DIR WORK_DIR QUICK >> results.txt

Measures, on the corpora shipped in tests/corpus (real bounces and
feedback reports; the bench reads nothing outside the repository):
  1. batch throughput on one core (taskset -c 0): bounce-proc --dry-run
     --json over an mbox holding the bounce corpus repeated to about 20,000
     messages (8,000 with QUICK=1), and fbl-proc the same with the
     complaint corpus;
  2. the peer on the same messages, in one process (bench/sisimai_batch.pl:
     Sisimai->make per message, as Debian's libsisimai-perl ships it);
  3. one pipe invocation as Postfix makes it (start, read stdin, parse, one
     Redis script call, exit) against a private redis-server: p50/p99/max
     of the wall time over N runs, the process spawn included;
  4. bounded memory: peak RSS (getrusage of the child) of bounce-proc on a
     50 MB bounce, one with 10,000 recipients and one with 100 nested parts.
Prints records for bench/report.py:
  inbound prog=P peer=0|1 mode=batch msgs=N secs=S rate=R
  inboundpipe prog=P runs=N p50_ms= p99_ms= max_ms=
  inboundmem prog=P input=NAME bytes=N maxrss_kib=K rc=RC
  fail TEXT   (a run that did not process every message: not a result)
"""
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))


def corpus(name):
    d = os.path.join(ROOT, "tests", "corpus", name)
    files = []
    for base, _, names in os.walk(d):
        files += [os.path.join(base, n) for n in sorted(names) if n.endswith(".eml")]
    return sorted(files)


def as_lf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def build_mbox(files, target, path):
    msgs = [as_lf(open(f, "rb").read()) for f in files]
    n = 0
    with open(path, "wb") as out:
        while n < target:
            for m in msgs:
                if m.startswith(b"From "):
                    m = m.split(b"\n", 1)[1]
                # mboxrd quoting of body lines that would start a new message
                m = b"\n".join(b">" + line if line.startswith(b"From ") else line for line in m.split(b"\n"))
                out.write(b"From MAILER-DAEMON Thu Dec  3 09:00:00 2026\n" + m.rstrip(b"\n") + b"\n\n")
                n += 1
                if n >= target:
                    break
    return n


def one_core(argv):
    return (["taskset", "-c", "0"] if shutil.which("taskset") else []) + argv


def batch(prog, binary, mbox, n):
    t = time.perf_counter()
    p = subprocess.run(one_core([binary, "--dry-run", "--json", "-q", "--no-progress", mbox]),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    secs = time.perf_counter() - t
    lines = p.stdout.count(b"\n")
    if p.returncode != 0 or lines < n:
        print("fail %s batch: exit %d, %d lines for %d messages" % (prog, p.returncode, lines, n))
    print("inbound prog=%s peer=0 mode=batch msgs=%d secs=%.3f rate=%.0f" % (prog, n, secs, n / secs))


def sisimai(files, n):
    script = os.path.join(ROOT, "bench", "sisimai_batch.pl")
    t = time.perf_counter()
    p = subprocess.run(one_core(["perl", script, str(n)] + files), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    secs = time.perf_counter() - t
    if p.returncode != 0:
        print("fail sisimai batch: %s" % p.stderr.decode(errors="replace")[:200].replace("\n", " "))
        return
    done = int(p.stdout.split()[0])
    print("inbound prog=sisimai peer=1 mode=batch msgs=%d secs=%.3f rate=%.0f" % (done, secs, done / secs))


ARF = (b"From: staff@fbl.example.net\nTo: fbl@fbl.example.org\nSubject: FW: complaint\nMIME-Version: 1.0\n"
       b"Content-Type: multipart/report; report-type=feedback-report; boundary=F\n\n"
       b"--F\nContent-Type: text/plain\n\nThis is an abuse report.\n\n"
       b"--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: bench/1.0\n"
       b"Version: 1\nOriginal-Rcpt-To: <user@example.net>\nSource-IP: 192.0.2.10\n\n"
       b"--F\nContent-Type: message/rfc822\n\nFrom: news@example.org\nTo: user@example.net\n"
       b"Message-ID: <%d@example.org>\nSubject: news\n\nhello\n\n--F--\n")


def pipe_latency(binary, work, runs, prog="bounce-proc", section="bounce", template=None):
    import labredis
    os.makedirs(os.path.join(work, "redis"), exist_ok=True)
    srv = labredis.RedisServer(os.path.join(work, "redis")).start()
    try:
        conf = os.path.join(work, "pipe.conf")
        with open(conf, "w") as f:
            f.write(srv.redis_conf())
            f.write('%s = { accept_unverified = true; };\nlog = { level = "warning"; };\n' % section)
        msg = template or (b"From: MAILER-DAEMON@mx.example.net\nTo: bounces@bounce.example.org\n"
               b"Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
               b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
               b"--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
               b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
               b"Final-Recipient: rfc822; gone@example.net\nAction: failed\nStatus: 5.1.1\n"
               b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: User unknown\n\n"
               b"--B\nContent-Type: text/rfc822-headers\n\nFrom: news@example.org\n"
               b"Message-ID: <%d@example.org>\n\n--B--\n")
        times = []
        for i in range(runs):
            # a different report each time, so every run does the whole Redis script
            m = msg % i
            t = time.perf_counter()
            p = subprocess.run([binary, "-c", conf, "", "bounces@bounce.example.org"], input=m,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times.append((time.perf_counter() - t) * 1000)
            if p.returncode != 0:
                print("fail %s pipe run %d: exit %d %s" % (prog, i, p.returncode, p.stderr[:200]))
                return
        times.sort()
        q = lambda f: times[min(len(times) - 1, int(f * len(times)))]
        print("inboundpipe prog=%s harness=python runs=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f"
              % (prog, runs, q(0.5), q(0.99), times[-1]))
        # the same runs as Postfix's pipe(8) makes them: fork and exec from a
        # small C process, the message on a pipe (bench/spawn_latency.c)
        spawner = os.environ.get("POSTFLOW_SPAWN_LATENCY", "")
        if spawner and os.access(spawner, os.X_OK):
            tpl = os.path.join(work, prog + "-pipe.eml")
            with open(tpl, "wb") as f:
                f.write(msg.replace(b"%d", b"@@N@@") if b"%d" in msg else msg)
            p = subprocess.run([spawner, "-n", str(runs), "-m", tpl, "--", binary, "-c", conf, "",
                                "bounces@bounce.example.org"], capture_output=True, text=True)
            out = p.stdout.strip()
            if p.returncode != 0 or not out.startswith("spawn "):
                print("fail %s spawn harness: exit %d %s %s" % (prog, p.returncode, out, p.stderr[:200]))
            else:
                print("inboundpipe prog=%s harness=spawn %s" % (prog, out[len("spawn "):]))
    finally:
        srv.stop()


def memory(binary, work):
    big_dsn = b"""From: MAILER-DAEMON@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

notice
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
"""
    rcpts = big_dsn + b"".join(b"\nFinal-Recipient: rfc822; u%d@example.net\nAction: failed\nStatus: 5.1.1\n" % i
                               for i in range(10000)) + b"\n--B--\n"
    huge = big_dsn + b"\nFinal-Recipient: rfc822; u@example.net\nAction: failed\nStatus: 5.1.1\n\n--B\n" \
        b"Content-Type: message/rfc822\n\nSubject: x\n\n" + (b"A" * 76 + b"\n") * (50 * 1024 * 1024 // 77) + b"--B--\n"
    nested = b"From: MAILER-DAEMON@example.org\nSubject: failure\nMIME-Version: 1.0\n"
    for i in range(100):
        nested += b'Content-Type: multipart/mixed; boundary="N%d"\n\n--N%d\n' % (i, i)
    nested += b"Content-Type: text/plain\n\n550 5.1.1 <u@example.net>: user unknown\n"
    for i in reversed(range(100)):
        nested += b"--N%d--\n" % i
    for name, data in (("50MB", huge), ("10000rcpts", rcpts), ("100nested", nested)):
        path = os.path.join(work, name + ".eml")
        with open(path, "wb") as f:
            f.write(data)
        # a fresh interpreter per run: RUSAGE_CHILDREN's peak is then this child's alone
        probe = ("import resource, subprocess, sys\n"
                 "rc = subprocess.run(sys.argv[1:], stdin=open(%r, 'rb'), stdout=subprocess.DEVNULL,"
                 " stderr=subprocess.DEVNULL).returncode\n"
                 "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n" % path)
        out = subprocess.run([sys.executable, "-c", probe, binary, "--dry-run", "--json"],
                             stdout=subprocess.PIPE).stdout.split()
        rc, rss = int(out[0]), int(out[1])
        print("inboundmem prog=bounce-proc input=%s bytes=%d maxrss_kib=%d rc=%d" % (name, len(data), rss, rc))
        if rc != 0:
            print("fail bounce-proc on %s: exit %d" % (name, rc))


def main():
    bindir, work, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    os.makedirs(work, exist_ok=True)
    bounces, fbl = corpus("bounces"), corpus("fbl")
    if not bounces or not fbl:
        print("fail inbound bench: tests/corpus/bounces or tests/corpus/fbl is empty")
        return 0
    target = 8000 if quick else 20000
    for prog, files in (("bounce-proc", bounces), ("fbl-proc", fbl)):
        binary = os.path.join(bindir, prog)
        if not os.access(binary, os.X_OK):
            print("notbuilt %s" % prog)
            continue
        mbox = os.path.join(work, prog + ".mbox")
        n = build_mbox(files, target, mbox)
        batch(prog, binary, mbox, n)
    # the peer: the same bounce messages, fewer of them (it is slow), same rate measure
    sisimai([f for f in bounces], 2000 if quick else 5000)
    bp = os.path.join(bindir, "bounce-proc")
    if os.access(bp, os.X_OK):
        pipe_latency(bp, work, 200 if quick else 1000)
        memory(bp, work)
    fp = os.path.join(bindir, "fbl-proc")
    if os.access(fp, os.X_OK):
        pipe_latency(fp, os.path.join(work, "fbl"), 200 if quick else 1000, "fbl-proc", "fbl", ARF)
    return 0


if __name__ == "__main__":
    sys.exit(main())
