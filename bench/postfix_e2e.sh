#!/bin/sh
# NAME
#	postfix_e2e.sh - Postfix end-to-end throughput with and without a milter
#
# SYNOPSIS
#	postfix_e2e.sh up DIR          start a private Postfix and smtp-sink
#	postfix_e2e.sh milter DIR SPEC set smtpd_milters (SPEC "" = none), reload
#	postfix_e2e.sh run DIR N SESSIONS SIZE [reuse]
#	postfix_e2e.sh down DIR
#
# DESCRIPTION
#	A minimal private Postfix (the settings of mta-lab-notes.md: own
#	config, queue and data directories, loopback only, no DNS, log to
#	DIR/maillog) that relays everything to an smtp-sink on another loopback
#	port; smtp-sink writes each delivered message to DIR/sink/.
#	`run` submits N messages of SIZE bytes with smtp-source over SESSIONS
#	parallel sessions (one message per SMTP session, smtp-source's default;
#	with "reuse", smtp-source -d sends every message of a session over one
#	connection, as a bulk sender does) and times from the start of
#	submission until the N-th message file
#	appears in the sink.  It prints one line:
#	    RESULT msgs= delivered= signed= secs= msg_per_s= cpu_ms_per_msg=
#	where signed counts sink files carrying a DKIM-Signature header and
#	cpu_ms_per_msg is the busy time of all CPUs (/proc/stat) over the timed
#	part per delivered message: the whole chain's work, milter included.
#	`up` prints the SMTP port; DIR must not be under a world-writable
#	directory other than with the sticky bit (Postfix needs to traverse it).
#
# EXIT STATUS
#	0 on success; 1 when not every message arrived within 120 s.
set -eu

cmd=${1:?usage: postfix_e2e.sh up|milter|run|down DIR ...}
D=${2:?DIR}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case $cmd in
up)
	mkdir -p "$D/etc" "$D/data" "$D/sink" "$D/spool"
	chmod 755 "$D"
	chown postfix "$D/data" "$D/sink"
	SMTP_PORT=$(free_port)
	SINK_PORT=$(free_port)
	cat > "$D/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $D/maillog
maillog_file_prefixes = $D
myhostname = mta-bench.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in the bench
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtputf8_enable = no
relayhost = [127.0.0.1]:$SINK_PORT
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters =
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
default_destination_concurrency_limit = 20
EOF
	cat > "$D/etc/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
proxywrite unix - - n -  1 proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	echo "$SMTP_PORT" > "$D/smtp.port"
	# smtp-sink: -u drops root after binding, -d writes one file per message.
	smtp-sink -u postfix -d "$D/sink/m." "127.0.0.1:$SINK_PORT" 256 > "$D/sink.log" 2>&1 &
	echo $! > "$D/sink.pid"
	postfix -c "$D/etc" check > "$D/postfix-start.log" 2>&1
	postfix -c "$D/etc" start >> "$D/postfix-start.log" 2>&1
	echo "$SMTP_PORT"
	;;
milter)
	postconf -c "$D/etc" -e "smtpd_milters = ${3:-}"
	postfix -c "$D/etc" reload > /dev/null 2>&1
	sleep 1
	;;
run)
	N=${3:?N}; S=${4:?SESSIONS}; SIZE=${5:?SIZE}; REUSE=${6:-}
	SMTP_PORT=$(cat "$D/smtp.port")
	rm -f "$D"/sink/m.*
	# One process starts smtp-source and watches the sink directory (a
	# listing every 10 ms: a shell loop forking find/wc/date instead took
	# about a tenth of the two CPUs from the Postfix being measured).
	/usr/bin/python3 - "$D" "$N" "$S" "$SIZE" "$SMTP_PORT" "$REUSE" <<'PY'
import os, subprocess, sys, time
d, n, s, size, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
reuse = ["-d"] if sys.argv[6] == "reuse" else []
sink = os.path.join(d, "sink")
def count():
    return sum(1 for e in os.scandir(sink) if e.name.startswith("m."))
def busy_ticks():
    # user nice system irq softirq of all CPUs (/proc/stat): the work of every process of the chain
    f = open("/proc/stat").readline().split()
    return sum(int(f[i]) for i in (1, 2, 3, 6, 7))
log = open(os.path.join(d, "source.log"), "w")
b0 = busy_ticks()
t0 = time.monotonic()
src = subprocess.Popen(["smtp-source"] + reuse + ["-s", s, "-m", str(n), "-l", size, "-f", "news@example.com",
                        "-t", "user@sink.example.org", "-M", "client.bench.example", "127.0.0.1:" + port],
                       stdout=log, stderr=subprocess.STDOUT)
got = 0
while time.monotonic() - t0 < 120:
    got = count()
    if got >= n:
        break
    time.sleep(0.01)
t1 = time.monotonic()
b1 = busy_ticks()
src.wait()
got = count()
signed = 0
for e in os.scandir(sink):
    if e.name.startswith("m."):
        with open(e.path, "rb") as f:
            if any(line.lower().startswith(b"dkim-signature:") for line in f):
                signed += 1
secs = t1 - t0
cpu_ms = (b1 - b0) * 1000.0 / os.sysconf("SC_CLK_TCK") / got if got else 0
print("RESULT msgs=%d delivered=%d signed=%d secs=%.3f msg_per_s=%.1f cpu_ms_per_msg=%.2f"
      % (n, got, signed, secs, got / secs if secs > 0 else 0, cpu_ms))
sys.exit(0 if got >= n else 1)
PY
	;;
down)
	postfix -c "$D/etc" stop > /dev/null 2>&1 || true
	if [ -f "$D/sink.pid" ]; then kill "$(cat "$D/sink.pid")" 2>/dev/null || true; fi
	;;
*)
	echo "usage: postfix_e2e.sh up|milter|run|down DIR ..." >&2
	exit 2
	;;
esac
