#!/usr/bin/python3
"""redis_policy_bench.py - Redis's own rate for policyd-warmup's script calls.

Usage: redis_policy_bench.py MONITOR_FILE SOCKET CONC N

MONITOR_FILE is the output of `redis-cli monitor` recorded while
policy_load drove policyd-warmup: it holds the EVALSHA calls the daemon
really made (its script, already loaded in this Redis, its keys and
arguments).  One RCPT-stage call and one END-OF-MESSAGE call are picked,
the sender address in them is replaced by a redis-benchmark __rand_int__
pattern (so counters spread over many keys as in the daemon's run), and
redis-benchmark runs each with CONC connections and N calls.  The combined
rate weights the two by the share of RCPT and END-OF-MESSAGE calls seen in
the recording (time per call averaged, so the result is what Redis alone
could do for the daemon's request mix).  Prints one line:
  redispolicy conc= rps_rcpt= rps_eom= rps= p50_ms= p99_ms= eom_share=
Exits 1 when the recording holds no usable call or redis-benchmark fails.
"""
import re
import subprocess
import sys

QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def unescape(s):
    """Undoes redis-cli MONITOR's quoting (\\\\, \\", \\n, \\r, \\t, \\xHH)."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}.get(n, n.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return out.decode("utf-8", "replace")


def calls(path):
    """Yields (mode, args) for every EVALSHA in the recording."""
    for line in open(path, encoding="utf-8", errors="replace"):
        if '"EVALSHA"' not in line and '"evalsha"' not in line:
            continue
        args = [unescape(a) for a in QUOTED.findall(line.split("]", 1)[-1])]
        try:
            nkeys = int(args[2])
            mode = args[3 + nkeys + 1]
        except (IndexError, ValueError):
            continue
        yield mode, args


def randomize(args):
    """Replaces the sender (senderNNN@) and recipient (userNNN@) local parts
    of policy_load's addresses by random ones, keys and arguments alike."""
    return [re.sub(r"\b(sender|user)\d+@", r"\1__rand_int__@", a) for a in args]


def bench(sock, conc, n, args):
    out = subprocess.run(["redis-benchmark", "-s", sock, "-c", str(conc), "-n", str(n), "-r", "400",
                          "--csv"] + args, capture_output=True, text=True, timeout=300).stdout
    last = [l for l in out.splitlines() if l.startswith('"EVALSHA')]
    if not last:
        return None
    f = [x.strip('"') for x in last[-1].split('","')]
    return {"rps": float(f[1]), "p50": float(f[4]), "p99": float(f[6])}


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    path, sock, conc, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seen = {}
    counts = {}
    for mode, args in calls(path):
        seen.setdefault(mode, args)
        counts[mode] = counts.get(mode, 0) + 1
    if "rcpt" not in seen or "eom" not in seen:
        print(f"redispolicy conc={conc} error=no_calls_recorded modes={','.join(counts) or 'none'}")
        return 1
    share = counts["eom"] / (counts["eom"] + counts["rcpt"])
    r = bench(sock, conc, n, randomize(seen["rcpt"]))
    e = bench(sock, conc, n, randomize(seen["eom"]))
    if r is None or e is None:
        print(f"redispolicy conc={conc} error=redis_benchmark_failed")
        return 1
    rps = 1.0 / ((1 - share) / r["rps"] + share / e["rps"])
    p50 = (1 - share) * r["p50"] + share * e["p50"]
    p99 = max(r["p99"], e["p99"])
    print(f"redispolicy conc={conc} rps_rcpt={r['rps']:.0f} rps_eom={e['rps']:.0f} rps={rps:.0f} "
          f"p50_ms={p50:.3f} p99_ms={p99:.3f} eom_share={share:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
