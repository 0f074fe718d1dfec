#!/bin/sh
# NAME
#	bench/run.sh - `make bench`: postflow against its peers, side by side
#
# SYNOPSIS
#	POSTFLOW_BIN=DIR [QUICK=1] sh bench/run.sh
#
# DESCRIPTION
#	Runs every benchmark of issues 3 (milter-dkim), 4 (policyd-warmup),
#	8 and 9 (bounce-proc, fbl-proc) and 10 (maillog-tap) in one go on this
#	machine, with the peers measured in the same run:
#	  1. openssl speed -multi 2 rsa2048 ed25519 (the signing ceiling);
#	  2. milter_load (bench/milter_load.c) against Debian's OpenDKIM and
#	     milter-dkim: RSA-2048 and Ed25519 (the same keys for both), 2 KB
#	     and 100 KB messages, 1, 8 and 32 connections over TCP, 8 over a
#	     unix socket, and 8 over TCP with a new connection per message;
#	     msg/s, p50/p99 latency, CPU ms per message of the
#	     milter process; one signed message of each is verified by dkimpy;
#	  3. Postfix end to end (bench/postfix_e2e.sh): smtp-source -> private
#	     Postfix -> smtp-sink, no milter / a milter that does nothing
#	     (bench/null_milter.c) / OpenDKIM / milter-dkim RSA and Ed25519,
#	     in alternating rounds (medians reported);
#	  4. policy_load (bench/policy_load.c) against postfwd1 (rate rule per
#	     sender, request cache off) and policyd-warmup, and redis-benchmark
#	     EVALSHA of a comparable rate-limit script (bench/ratelimit.lua),
#	     at 1, 16, 64 and 256 connections; then the RSS of policyd-warmup
#	     over 1M requests;
#	  5. bounce-proc and fbl-proc (bench/inbound_bench.py) against Sisimai
#	     (bench/sisimai_batch.pl, Debian's libsisimai-perl) on the corpora in
#	     tests/corpus: batch messages/s on one core, one pipe invocation
#	     with a real Redis (p50/p99, spawned from Python and, as Postfix's
#	     pipe(8) does, forked from bench/spawn_latency), peak RSS on hostile
#	     sizes;
#	  6. maillog-tap (bench/tap_bench.py) against pflogsumm on a synthetic
#	     Postfix log of a busy relay (per-IP transports, providers' real
#	     replies): replay lines/s on one core, peak RSS at 1M and 10M lines,
#	     and in daemon mode with a real Redis, the time from a Gmail
#	     421-4.7.28 burst's last line to its suspend effect (p50/p99/max)
#	     while the log grows by 1,000 lines/s; the outcome counters must
#	     add up to the outcome lines written.
#	The load generators are compiled here into build/bench/.  A program of
#	ours missing from POSTFLOW_BIN (default ./bin) is reported "not built".
#	The report (ratios ours/peer) is printed and written to
#	build/bench/report.md; raw RESULT lines are in build/bench/results.txt.
#
#	Speed is never pass/fail.  Correctness is: a signer run in which a
#	message was left unsigned or failed, a signature dkimpy rejects, a
#	policy request without a well-formed reply, Postfix not delivering
#	every message, a maillog-tap replay not reading every line, or its
#	daemon missing an effect or miscounting outcomes makes the script
#	exit 1 (after writing the report).
#
# ENVIRONMENT
#	POSTFLOW_BIN  directory of our binaries (default ./bin)
#	QUICK=1       shorter runs (about 2 minutes instead of about 6, plus
#	              about 1 instead of 4 for maillog-tap)
#	BENCH_DIR     private work directory (default /run/postflow-bench/PID);
#	              must not be under a world-writable directory (OpenDKIM
#	              refuses its config and keys there)
#
# FILES
#	Everything started here (OpenDKIM, milter-dkim, postfwd1, redis-server,
#	policyd-warmup, Postfix, smtp-sink) listens on loopback or in
#	BENCH_DIR and is stopped, by PID, on exit.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${POSTFLOW_BIN:-$ROOT/bin}
QUICK=${QUICK:-0}
OUT=$ROOT/build/bench
PY=/usr/bin/python3
W=${BENCH_DIR:-/run/postflow-bench/$$}
RESULTS=$OUT/results.txt
FAILED=0

if [ "$QUICK" = 1 ]; then
	SPEED_SECS=1; T_MILTER=1.5; E2E_N=300; E2E_ROUNDS=1; T_POLICY=2; REDIS_N=30000; MEM_N=200000
else
	SPEED_SECS=3; T_MILTER=3; E2E_N=1000; E2E_ROUNDS=5; T_POLICY=5; REDIS_N=100000; MEM_N=1000000
fi

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAIL: $*"; echo "fail $*" >> "$RESULTS"; FAILED=1; }

# ---- set-up and clean-up ---------------------------------------------------
PIDS=""
# alive PID: running and not a zombie
alive() {
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}
cleanup() {
	[ -d "$W/pf/etc" ] && sh "$ROOT/bench/postfix_e2e.sh" down "$W/pf" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	# OpenDKIM can take seconds to act on SIGTERM: wait up to 5 s, then KILL.
	n=0
	while [ $n -lt 50 ]; do
		left=""
		for p in $PIDS; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && break
		sleep 0.1
		n=$((n + 1))
	done
	for p in $PIDS; do alive "$p" && kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_ready inet:PORT@127.0.0.1 | unix:PATH | HOST:PORT  (up to 15 s)
wait_ready() {
	$PY - "$1" <<'EOF'
import socket, sys, time
a = sys.argv[1]
for _ in range(150):
    try:
        if a.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX); s.connect(a[5:])
        else:
            a2 = a[5:] if a.startswith("inet:") else a
            port, host = (a2.split("@") if "@" in a2 else a2.split(":")[::-1])
            s = socket.socket(); s.connect((host, int(port)))
        s.close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}
# start NAME PIDFILE CMD...: starts a foreground daemon, remembers its PID
start() {
	name=$1; shift
	"$@" > "$W/log/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	echo $! > "$W/run/$name.pid"
}

mkdir -p "$OUT" "$W" || exit 2
chmod 755 "$W"
mkdir -p "$W/keys" "$W/od" "$W/sock" "$W/run" "$W/log" "$W/policy"
chmod 700 "$W/keys" "$W/od" "$W/sock" "$W/run" "$W/log" "$W/policy"
: > "$RESULTS"
{
	echo "env date=$(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')" \
		"quick=$QUICK kernel=$(uname -r)"
	echo "version opendkim=$(opendkim -V 2>&1 | head -1 | sed 's/.*v//') openssl=$(openssl version | cut -d' ' -f2)" \
		"postfix=$(postconf -d -h mail_version 2>/dev/null) redis=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" \
		"postfwd=$(postfwd1 -V 2>&1 | head -1 | cut -d' ' -f2)"
} >> "$RESULTS"

log "building load generators into $OUT"
for g in milter_load policy_load spawn_latency; do
	cc -O2 -Wall -Wextra -Werror -o "$OUT/$g" "$ROOT/bench/$g.c" -lpthread || exit 2
done
cc -O2 -Wall -Wextra -Werror -o "$OUT/null_milter" "$ROOT/bench/null_milter.c" -lmilter -lpthread || exit 2

have() { [ -x "$BIN/$1" ]; }
for b in milter-dkim policyd-warmup; do
	have "$b" || { log "$b: not built (no $BIN/$b)"; echo "notbuilt $b" >> "$RESULTS"; }
done

# ---- 1. openssl speed -------------------------------------------------------
# Run before and after the milter part; the report takes the higher figure
# (the machine is shared, and a low ceiling would flatter the signers).
openssl_speed() {
	log "openssl speed -seconds $SPEED_SECS -multi 2 rsa2048 ed25519 ($1)"
	openssl speed -seconds "$SPEED_SECS" -multi 2 rsa2048 ed25519 2>/dev/null | awk -v when="$1" '
		/^rsa 2048 bits/ { rsa = $(NF-1) }
		/EdDSA \(Ed25519\)/ { ed = $(NF-1) }
		END { printf "speed when=%s rsa_sign_s=%s ed25519_sign_s=%s\n", when, rsa, ed }' >> "$RESULTS"
}
openssl_speed before

# ---- 2. milters -------------------------------------------------------------
K=$W/keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$K/ed.pem" 2>/dev/null
chmod 600 "$K"/*.pem

# opendkim_conf ALG SOCKET: one instance signs with one algorithm.
opendkim_conf() {
	f=$W/od/$1-$(echo "$2" | cut -c1-4).conf
	{
		echo "Syslog no"
		echo "Mode s"
		echo "Domain example.com"
		echo "Selector $1"
		echo "KeyFile $K/$1.pem"
		[ "$1" = ed ] && echo "SignatureAlgorithm ed25519-sha256"
		echo "Canonicalization relaxed/simple"
		echo "Socket $2"
		echo "PidFile $f.pid"
		echo "InternalHosts 127.0.0.0/8"
		echo "Background no"
	} > "$f"
	echo "$f"
}

# milter_cells SIGNER ALG TCP_ADDR UNIX_ADDR TCP_PID UNIX_PID
milter_cells() {
	signer=$1 alg=$2 tcp=$3 unx=$4 tpid=$5 upid=$6
	for size in 2048 102400; do
		for conc in 1 8 32; do
			extra=""
			[ "$size" = 2048 ] && [ "$conc" = 1 ] && extra="-o $W/sample-$signer-$alg.eml"
			milter_one "$signer" "$alg" "$size" "$conc" tcp "$tcp" "$tpid" $extra
		done
	done
	milter_one "$signer" "$alg" 2048 8 unix "$unx" "$upid"
	# One milter connection per message, as Postfix opens one per SMTP session.
	milter_one "$signer" "$alg" 2048 8 tcp-per-msg "$tcp" "$tpid" -1
	if [ -f "$W/sample-$signer-$alg.eml" ]; then
		if v=$($PY "$ROOT/bench/dkim_verify.py" "$W/sample-$signer-$alg.eml" example.com "$alg=$K/$alg.pem" 2>&1); then
			echo "verify signer=$signer alg=$alg result=pass" >> "$RESULTS"
		else
			echo "verify signer=$signer alg=$alg result=FAIL" >> "$RESULTS"
			fail "$signer $alg: dkimpy rejects the signature: $v"
		fi
	else
		fail "$signer $alg: no signed sample message"
	fi
}
milter_one() {
	signer=$1 alg=$2 size=$3 conc=$4 via=$5 addr=$6 pid=$7; shift 7
	log "milter $signer $alg size=$size conc=$conc $via"
	line=$("$OUT/milter_load" -a "$addr" -c "$conc" -n 1000000 -T "$T_MILTER" -s "$size" -P "$pid" -q "$@" 2>"$W/log/ml.err")
	rc=$?
	echo "milter signer=$signer alg=$alg size=$size conc=$conc via=$via $line" >> "$RESULTS"
	[ $rc -eq 0 ] || fail "$signer $alg size=$size conc=$conc $via: $(echo "$line" | cut -c8-90) $(head -3 "$W/log/ml.err" | tr '\n' ' ')"
}

for alg in rsa ed; do
	tp=$(free_port)
	ct=$(opendkim_conf "$alg" "inet:$tp@127.0.0.1")
	cu=$(opendkim_conf "$alg" "local:$W/sock/od-$alg.sock")
	start "od-$alg-tcp" opendkim -f -x "$ct"
	start "od-$alg-unix" opendkim -f -x "$cu"
	if wait_ready "inet:$tp@127.0.0.1" && wait_ready "unix:$W/sock/od-$alg.sock"; then
		milter_cells opendkim "$alg" "inet:$tp@127.0.0.1" "unix:$W/sock/od-$alg.sock" \
			"$(cat "$W/run/od-$alg-tcp.pid")" "$(cat "$W/run/od-$alg-unix.pid")"
	else
		fail "opendkim ($alg) did not start: $(cat "$W/log/od-$alg-tcp.log")"
	fi
	if have milter-dkim; then
		mp=$(free_port)
		start "md-$alg-tcp" "$BIN/milter-dkim" -f -p "inet:$mp@127.0.0.1" -d example.com -s "$alg" -k "$K/$alg.pem"
		start "md-$alg-unix" "$BIN/milter-dkim" -f -p "unix:$W/sock/md-$alg.sock" -d example.com -s "$alg" -k "$K/$alg.pem"
		if wait_ready "inet:$mp@127.0.0.1" && wait_ready "unix:$W/sock/md-$alg.sock"; then
			milter_cells milter-dkim "$alg" "inet:$mp@127.0.0.1" "unix:$W/sock/md-$alg.sock" \
				"$(cat "$W/run/md-$alg-tcp.pid")" "$(cat "$W/run/md-$alg-unix.pid")"
		else
			fail "milter-dkim ($alg) did not start: $(head -5 "$W/log/md-$alg-tcp.log" | tr '\n' ' ')"
		fi
		echo "md_tcp_$alg=inet:$mp@127.0.0.1" >> "$W/run/addrs"
	fi
	echo "od_tcp_$alg=inet:$tp@127.0.0.1" >> "$W/run/addrs"
done

openssl_speed after

# ---- 3. Postfix end to end ----------------------------------------------------
e2e_one() {
	label=$1 spec=$2 want_signed=$3 reuse=${4:-}
	sh "$ROOT/bench/postfix_e2e.sh" milter "$W/pf" "$spec"
	log "postfix e2e: $label, round $round ($E2E_N messages, 10 sessions${reuse:+, connections reused})"
	line=$(sh "$ROOT/bench/postfix_e2e.sh" run "$W/pf" "$E2E_N" 10 2048 $reuse)
	rc=$?
	echo "e2e milter=$label round=$round sessions=${reuse:-single} $line" >> "$RESULTS"
	[ $rc -eq 0 ] || fail "postfix e2e $label: not every message delivered ($line)"
	if [ "$want_signed" = 1 ]; then
		case $line in *" signed=$E2E_N "*) ;; *) fail "postfix e2e $label: not every message signed ($line)";; esac
	fi
}
log "postfix e2e: starting a private Postfix"
if sh "$ROOT/bench/postfix_e2e.sh" up "$W/pf" > /dev/null && wait_ready "127.0.0.1:$(cat "$W/pf/smtp.port")"; then
	sh "$ROOT/bench/postfix_e2e.sh" run "$W/pf" 50 10 2048 > /dev/null   # warm-up
	# The floor: a milter that receives everything and changes nothing.
	np=$(free_port)
	start null-milter "$OUT/null_milter" "inet:$np@127.0.0.1"
	wait_ready "inet:$np@127.0.0.1" || fail "null_milter did not start: $(cat "$W/log/null-milter.log")"
	# Rounds alternate the configurations, so a slow spell of the shared
	# machine hits all of them; the report takes each one's median.
	round=1
	while [ "$round" -le "$E2E_ROUNDS" ]; do
		e2e_one none "" 0
		e2e_one null-milter "inet:127.0.0.1:$np" 0
		e2e_one opendkim "$(sed -n 's/^od_tcp_rsa=inet:\([0-9]*\)@.*/inet:127.0.0.1:\1/p' "$W/run/addrs")" 1
		if have milter-dkim; then
			e2e_one milter-dkim "$(sed -n 's/^md_tcp_rsa=inet:\([0-9]*\)@.*/inet:127.0.0.1:\1/p' "$W/run/addrs")" 1
			e2e_one milter-dkim-ed25519 "$(sed -n 's/^md_tcp_ed=inet:\([0-9]*\)@.*/inet:127.0.0.1:\1/p' "$W/run/addrs")" 1
		fi
		# A bulk sender's pattern: many messages per SMTP session (smtp-source -d).
		e2e_one none "" 0 reuse
		e2e_one null-milter "inet:127.0.0.1:$np" 0 reuse
		if have milter-dkim; then
			e2e_one milter-dkim "$(sed -n 's/^md_tcp_rsa=inet:\([0-9]*\)@.*/inet:127.0.0.1:\1/p' "$W/run/addrs")" 1 reuse
		fi
		round=$((round + 1))
	done
	sh "$ROOT/bench/postfix_e2e.sh" down "$W/pf"
else
	fail "postfix e2e: private Postfix did not start: $(tail -3 "$W/pf/maillog" 2>/dev/null)"
fi

# The milters are not needed any more: free the CPU for the policy part.
for f in "$W"/run/od-*.pid "$W"/run/md-*.pid "$W"/run/null-milter.pid; do
	[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
done

# ---- 4. policy daemons ------------------------------------------------------
RSOCK=$W/sock/redis.sock
start redis redis-server --port 0 --unixsocket "$RSOCK" --unixsocketperm 700 --save "" \
	--appendonly no --dir "$W/policy"
wait_ready "unix:$RSOCK" || fail "redis-server did not start"

# postfwd1: rate rule per sender (1000 messages per hour), request cache off.
# It forks into the background (-d) and drops root to nobody.
cat > "$W/policy/postfwd.cf" <<'EOF'
id=RATE01; protocol_state=END-OF-MESSAGE; action=rate(sender/1000/3600/450 4.7.1 sender rate limit exceeded)
id=DEFAULT; action=dunno
EOF
chmod 644 "$W/policy/postfwd.cf"
chmod 711 "$W/policy"
PFW_PORT=$(free_port)
postfwd1 -d -f "$W/policy/postfwd.cf" -i 127.0.0.1 -p "$PFW_PORT" -u nobody -g nogroup --cache=0 \
	-n -P --noidlestats --pidfile "$W/run/postfwd.pid" > "$W/log/postfwd.log" 2>&1
if wait_ready "127.0.0.1:$PFW_PORT" && [ -s "$W/run/postfwd.pid" ]; then
	PIDS="$PIDS $(cat "$W/run/postfwd.pid")"
else
	fail "postfwd1 did not start: $(cat "$W/log/postfwd.log")"
fi

# policyd-warmup: the same rule (per sender, 1000 messages per hour, at
# END-OF-MESSAGE), suppression on, warm-up off (no pools configured).
if have policyd-warmup; then
	PW_PORT=$(free_port)
	cat > "$W/policy/postflow.conf" <<EOF
log = { level = "warning"; };
redis = { address = "unix:$RSOCK"; key_prefix = "bench:"; };
policy = {
  listen = [ "inet:127.0.0.1:$PW_PORT" ];
  suppression = { enabled = true; };
  warmup = { enabled = false; };
  rate_limits = (
    { name = "per_sender"; key = "sender"; count = "messages"; limit = 1000; window = "1h";
      stage = "end_of_message"; action = "defer"; }
  );
};
EOF
	start policyd-warmup "$BIN/policyd-warmup" -f -c "$W/policy/postflow.conf" -p "inet:127.0.0.1:$PW_PORT"
	wait_ready "127.0.0.1:$PW_PORT" || fail "policyd-warmup did not start: $(head -5 "$W/log/policyd-warmup.log" | tr '\n' ' ')"
fi

SHA=$(redis-cli -s "$RSOCK" SCRIPT LOAD "$(cat "$ROOT/bench/ratelimit.lua")")
# Record the script calls policyd-warmup really makes, for redis-benchmark to
# replay (bench/redis_policy_bench.py): Redis's own rate for the same script.
if have policyd-warmup && [ -s "$W/run/policyd-warmup.pid" ]; then
	redis-cli -s "$RSOCK" monitor > "$W/log/monitor.txt" 2>&1 &
	MON=$!
	sleep 0.3
	"$OUT/policy_load" -a "inet:127.0.0.1:$PW_PORT" -c 4 -n 400 -q > /dev/null 2>&1
	sleep 0.3
	kill "$MON" 2>/dev/null
	wait "$MON" 2>/dev/null
fi
evalsha_calls() {
	redis-cli -s "$RSOCK" info commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p'
}
policy_one() {
	daemon=$1 addr=$2 pid=$3 conc=$4 n=$5 secs=$6
	log "policy $daemon conc=$conc"
	line=$("$OUT/policy_load" -a "$addr" -c "$conc" -n "$n" -T "$secs" -P "$pid" -q 2>"$W/log/pl.err")
	rc=$?
	echo "policy daemon=$daemon $line" >> "$RESULTS"
	[ $rc -eq 0 ] || fail "$daemon conc=$conc: $(echo "$line" | cut -c8-60) $(head -3 "$W/log/pl.err" | tr '\n' ' ')"
}
for conc in 1 16 64 256; do
	if [ -s "$W/run/postfwd.pid" ]; then
		policy_one postfwd1 "inet:127.0.0.1:$PFW_PORT" "$(cat "$W/run/postfwd.pid")" "$conc" 10000000 "$T_POLICY"
	fi
	if have policyd-warmup; then
		policy_one policyd-warmup "inet:127.0.0.1:$PW_PORT" "$(cat "$W/run/policyd-warmup.pid")" "$conc" 10000000 "$T_POLICY"
	fi
	log "redis-benchmark EVALSHA conc=$conc"
	rb=$(redis-benchmark -s "$RSOCK" -c "$conc" -n "$REDIS_N" -r 400 --csv EVALSHA "$SHA" 2 \
		'rl:{sender__rand_int__@example.com}' 'sup:{list}' 1000000 3600 1 'user__rand_int__@gmail.com' 2>&1 | tail -1)
	echo "$rb" | awk -F'","' -v c="$conc" 'NF >= 8 { gsub(/"/, "", $8);
		printf "redisbench conc=%s rps=%s avg_ms=%s p50_ms=%s p99_ms=%s max_ms=%s\n", c, $2, $3, $5, $7, $8 }' >> "$RESULTS"
	case $rb in *EVALSHA*) ;; *) fail "redis-benchmark conc=$conc: $rb";; esac
	if [ -s "$W/log/monitor.txt" ]; then
		log "redis-benchmark: policyd-warmup's own script calls, conc=$conc"
		$PY "$ROOT/bench/redis_policy_bench.py" "$W/log/monitor.txt" "$RSOCK" "$conc" "$REDIS_N" >> "$RESULTS" \
			|| fail "redis-benchmark of policyd-warmup's script calls failed (conc=$conc)"
	fi
done
if have policyd-warmup; then
	log "policyd-warmup: $MEM_N requests at 64 connections (memory)"
	calls0=$(evalsha_calls)
	line=$("$OUT/policy_load" -a "inet:127.0.0.1:$PW_PORT" -c 64 -n "$MEM_N" -P "$(cat "$W/run/policyd-warmup.pid")" -q 2>"$W/log/pl.err")
	rc=$?
	calls1=$(evalsha_calls)
	echo "policymem daemon=policyd-warmup evalsha=$((calls1 - calls0)) $line" >> "$RESULTS"
	[ $rc -eq 0 ] || fail "policyd-warmup memory run: $(head -3 "$W/log/pl.err" | tr '\n' ' ')"
fi

# ---- 5. bounce-proc and fbl-proc against Sisimai ------------------------------
log "bounce-proc, fbl-proc and Sisimai: batch on one core, pipe invocations, memory"
POSTFLOW_SPAWN_LATENCY="$OUT/spawn_latency" $PY "$ROOT/bench/inbound_bench.py" "$BIN" "$W/inbound" "$QUICK" >> "$RESULTS" || fail "inbound_bench.py failed"

# ---- 6. maillog-tap against pflogsumm ---------------------------------------------
log "maillog-tap and pflogsumm: replay on one core, memory at 1x and 10x, daemon effect latency"
$PY "$ROOT/bench/tap_bench.py" "$BIN" "$W/tap" "$QUICK" >> "$RESULTS" || fail "tap_bench.py failed"

# ---- report -------------------------------------------------------------------
$PY "$ROOT/bench/report.py" "$RESULTS" > "$OUT/report.md" || FAILED=1
cat "$OUT/report.md"
log "report written to $OUT/report.md"
[ "$FAILED" = 0 ] || { log "correctness failures: see the report"; exit 1; }
exit 0
