"""postflow_lab - the real-service test lab of postflow (one import for tests).

NAME
    postflow_lab - private redis-server, Postfix and smtp-sink for tests

SYNOPSIS
    import postflow_lab as lab
    port = lab.free_port()
    with lab.RedisServer(workdir) as srv: ...
    pf = lab.PostfixLab(workdir, milter="inet:127.0.0.1:8891"); pf.start()
    pf.send("a@example.org", ["b@example.com"], b"Subject: x\\r\\n\\r\\nbody\\r\\n")
    pf.wait_sink(1); pf.stop()

DESCRIPTION
    This module only re-exports the lab's parts so tests and the demo need one
    import.  Each part lives in its own file beside this one:

      labproc.py     free_port, make_lab_dir, stage_file, process registry, leftovers()
      labredis.py    RedisServer
      labpostfix.py  PostfixLab (private Postfix + smtp-sink + pipe recorder)
      labsnippet.py  the shipped conf/main.cf.snippet and master.cf.snippet
      pipe_recorder.py  default pipe(8) command of the bounce domain

    Everything runs on loopback and in private directories; every process is
    registered and stop() ends exactly those (see labproc).  docs/testing.md
    describes the lab in full.

    Standard library and python3-redis only.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labproc import (LabError, free_port, leftovers, make_lab_dir,  # noqa: E402,F401
                     proc_alive, proc_starttime, register_process, reserve_port, session_members,
                     stage_file, stop_processes, wait_until)
from labredis import RedisServer  # noqa: E402,F401

from labpostfix import (BOUNCE_DOMAIN, HARDBOUNCE_DOMAIN, PIPE_ENVELOPE_ARGS,  # noqa: E402,F401
                        PostfixLab, SendResult, ip_transport, shipped_ip_transports)

__all__ = ["LabError", "free_port", "leftovers", "make_lab_dir", "proc_alive",
           "proc_starttime", "register_process", "reserve_port", "session_members", "stage_file", "stop_processes",
           "wait_until", "RedisServer", "PostfixLab", "SendResult", "ip_transport", "shipped_ip_transports", "BOUNCE_DOMAIN",
           "HARDBOUNCE_DOMAIN", "PIPE_ENVELOPE_ARGS"]
