#!/usr/bin/python3
"""pipe_recorder - the lab's default pipe(8) command for the bounce domain.

SYNOPSIS
    pipe_recorder OUTDIR SENDER RECIPIENT ORIGINAL_RECIPIENT NEXTHOP QUEUE_ID
                  CLIENT_ADDRESS USER EXTENSION

DESCRIPTION
    Postfix runs this (as user nobody) for every recipient in the bounce
    domain.  It records one delivery as two files in OUTDIR:
        NAME.eml   the exact bytes read from stdin (the message)
        NAME.json  {"argv": [...], "env": {...}, "uid": N, "exit": N,
                    "stdin": "NAME.eml", "time": T}
    NAME.json is written last and atomically (rename), so a reader that sees
    it also sees the complete message.

    The exit status is chosen by the recipient's local part (without the
    +extension): "exit-N" exits N (exit-75 = EX_TEMPFAIL, so Postfix defers),
    "signal-N" kills itself with signal N, anything else exits 0.

    Standard library only; no dependency on the lab module (it runs as
    nobody under PATH=/usr/bin:/bin).
"""

import json
import os
import re
import sys
import time


def choose_exit(recipient):
    local = recipient.rsplit("@", 1)[0].split("+", 1)[0].lower()
    m = re.fullmatch(r"(exit|signal)-(\d{1,3})", local)
    if not m:
        return "exit", 0
    return m.group(1), int(m.group(2))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: pipe_recorder OUTDIR SENDER RECIPIENT ...\n")
        return 64
    outdir, args = argv[1], argv[2:]
    data = sys.stdin.buffer.read()
    kind, code = choose_exit(args[1])
    name = "%d-%d" % (time.time_ns(), os.getpid())
    with open(os.path.join(outdir, name + ".eml"), "wb") as f:
        f.write(data)
    record = {"argv": args, "env": dict(os.environ), "uid": os.getuid(),
              "exit": code if kind == "exit" else -code, "stdin": name + ".eml",
              "time": time.time()}
    tmp = os.path.join(outdir, "." + name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.rename(tmp, os.path.join(outdir, name + ".json"))
    if kind == "signal":
        os.kill(os.getpid(), code)
        time.sleep(5)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
