#!/bin/sh
# NAME
#     install-deps.sh - install the Debian 12 packages postflow needs
#
# SYNOPSIS
#     sh scripts/install-deps.sh [GROUP...]         (`make deps`: build test)
#     sh scripts/install-deps.sh --list [GROUP...]  (print the packages and exit)
#
# DESCRIPTION
#     Installs the Debian 12 packages of the groups asked for (default:
#     build and test), from the package network (apt):
#       build  compilers and the C libraries: enough for `make` and
#              `make install` (`make deps-build`);
#       test   what `make check`, `make demo` and `make fuzz` run against:
#              cmocka, clang-format, shellcheck, redis-server, Postfix, the
#              Python test tools, the independent DKIM verifiers (dkimpy,
#              Mail::DKIM, OpenDKIM's tools), Chromium (the browser test of
#              `warmupctl report`), strace, and Exim 4.96 unpacked for the
#              Exim tests (below);
#       bench  the peers `make bench` measures against that no test needs:
#              postfwd, Sisimai, pflogsumm (`make bench` asks for it).
#     Idempotent and non-interactive (root, no tty, no stdin: fine for CI):
#
#     * fast path: if dpkg-query reports every package installed, it does
#       nothing (no apt-get update) and exits 0;
#     * Postfix is preseeded with "No configuration", so nothing system-wide
#       is configured;
#     * no service is started: a temporary /usr/sbin/policy-rc.d that
#       answers 101 is put in place for the install and removed afterwards
#       only if this script created it;
#     * apt waits for a dpkg lock held by someone else (DPkg::Lock::Timeout)
#       and the whole step is retried a few times;
#     * Exim: exim4-daemon-light conflicts with postfix as a package, so it
#       is fetched with `apt-get download` and unpacked with `dpkg-deb -x`
#       into $EXIM_CACHE/root (the tests run $EXIM_CACHE/root/usr/sbin/exim4;
#       its libraries are the last line of the package list), and the user
#       Debian-exim, compiled into Debian's binary, is created.  Skipped
#       when the binary is there and the user exists.
#
# EXIT STATUS
#     0 all packages installed and Exim unpacked; 1 installation or the Exim
#     download failed; 77 not root and sudo unavailable (what is missing is
#     listed).

set -eu

BUILD_PACKAGES="
build-essential pkg-config clang libclang-rt-dev
libmilter-dev libhiredis-dev libconfig-dev libev-dev libssl-dev libpcre2-dev
"
TEST_PACKAGES="
libcmocka-dev clang-format shellcheck
redis-server postfix
python3 python3-pytest python3-redis python3-dkim python3-nacl python3-dnspython
libmail-dkim-perl opendkim opendkim-tools miltertest swaks
procps iproute2 strace chromium
libidn12 libgnutls-dane0 libnsl2 libdb5.3 libpcre2-8-0
"
# The last line: libraries of exim4-daemon-light, which this script
# unpacks with `apt-get download` + `dpkg-deb -x` (Exim conflicts with
# Postfix as a package; see docs/testing.md).
BENCH_PACKAGES="
postfwd libsisimai-perl pflogsumm
"

list=no
if [ "${1:-}" = "--list" ]; then
    list=yes
    shift
fi
[ $# -gt 0 ] || set -- build test
PACKAGES=""
WANT_EXIM=no
for group in "$@"; do
    case $group in
    build) PACKAGES="$PACKAGES $BUILD_PACKAGES" ;;
    test)  PACKAGES="$PACKAGES $TEST_PACKAGES"; WANT_EXIM=yes ;;
    bench) PACKAGES="$PACKAGES $BENCH_PACKAGES" ;;
    *) echo "usage: install-deps.sh [--list] [build|test|bench]..." >&2; exit 64 ;;
    esac
done
# The directory the Exim tests take the binary from (test_policy_exim.py: CACHE).
EXIM_CACHE=/tmp/postflow-exim-cache
EXIM_BIN=$EXIM_CACHE/root/usr/sbin/exim4

# Unquoted $PACKAGES on purpose: the list is split into words.
# shellcheck disable=SC2086
if [ "$list" = yes ]; then
    echo $PACKAGES
    exit 0
fi

exim_ready() {
    [ "$WANT_EXIM" = no ] || { [ -x "$EXIM_BIN" ] && getent passwd Debian-exim >/dev/null 2>&1; }
}

# Fetches and unpacks exim4-daemon-light into $EXIM_CACHE/root, creates
# Debian-exim.  Returns 1, with the reason on stderr, when it cannot.
exim_unpack() {
    [ "$WANT_EXIM" = yes ] || return 0
    if [ ! -x "$EXIM_BIN" ]; then
        $SUDO mkdir -p "$EXIM_CACHE"
        $SUDO chmod 755 "$EXIM_CACHE"
        # apt-get download needs the package lists: update once when it fails without them.
        # Its output (a warning about _apt's sandbox, as root) is shown only on failure.
        if ! out=$(cd "$EXIM_CACHE" && $SUDO apt-get -q download exim4-daemon-light 2>&1 </dev/null); then
            $SUDO apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null >/dev/null 2>&1 || true
            if ! out=$(cd "$EXIM_CACHE" && $SUDO apt-get -q download exim4-daemon-light 2>&1 </dev/null); then
                printf '%s\n' "$out" | tail -n 3 >&2
                echo "deps: apt-get download exim4-daemon-light failed (no package source?)" >&2
                return 1
            fi
        fi
        deb=""
        for f in "$EXIM_CACHE"/exim4-daemon-light_*.deb; do
            [ -e "$f" ] && deb=$f      # the glob sorts by name: the last is the newest version
        done
        if [ -z "$deb" ] || ! $SUDO dpkg-deb -x "$deb" "$EXIM_CACHE/root"; then
            echo "deps: cannot unpack exim4-daemon-light from $EXIM_CACHE" >&2
            return 1
        fi
        echo "deps: unpacked $(basename "$deb") into $EXIM_CACHE/root"
    fi
    if ! getent passwd Debian-exim >/dev/null 2>&1; then
        $SUDO useradd -r -U -M -d /nonexistent -s /usr/sbin/nologin Debian-exim || return 1
        echo "deps: created user Debian-exim (compiled into Debian's exim4)"
    fi
}

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done

# shellcheck disable=SC2086
count=$(echo $PACKAGES | wc -w)
if [ -z "$missing" ] && exim_ready; then
    if [ "$WANT_EXIM" = yes ]; then
        echo "deps: all $count packages already installed ($*), Exim unpacked in $EXIM_CACHE"
    else
        echo "deps: all $count packages already installed ($*)"
    fi
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        exim_ready || missing="$missing (and Exim in $EXIM_CACHE)"
        echo "deps: must run as root (or with password-less sudo) to install:$missing" >&2
        exit 77
    fi
fi

if [ -z "$missing" ]; then
    echo "deps: all $count packages already installed"
    exim_unpack || exit 1
    exit 0
fi
echo "deps: missing:$missing"

export DEBIAN_FRONTEND=noninteractive
POLICY_RC=/usr/sbin/policy-rc.d
created_policy=no
cleanup() {
    if [ "$created_policy" = yes ]; then
        $SUDO rm -f "$POLICY_RC"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ ! -e "$POLICY_RC" ]; then
    # Keep apt from starting the system's redis, postfix and opendkim.
    printf '#!/bin/sh\n# temporary, from postflow scripts/install-deps.sh\nexit 101\n' |
        $SUDO tee "$POLICY_RC" >/dev/null
    $SUDO chmod 755 "$POLICY_RC"
    created_policy=yes
fi

echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections

APT_OPTS="-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"

try=1
while :; do
    # Word splitting of $APT_OPTS and $missing is intended.
    # shellcheck disable=SC2086
    if $SUDO apt-get $APT_OPTS update </dev/null &&
       $SUDO apt-get $APT_OPTS install --no-install-recommends $missing </dev/null; then
        break
    fi
    if [ $try -ge 4 ]; then
        echo "deps: apt-get failed $try times; giving up" >&2
        exit 1
    fi
    echo "deps: apt-get failed (try $try), retrying in $((try * 10))s" >&2
    sleep $((try * 10))
    try=$((try + 1))
done

still=""
for p in $missing; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || still="$still $p"
done
if [ -n "$still" ]; then
    echo "deps: still not installed:$still" >&2
    exit 1
fi
echo "deps: installed:$missing"
exim_unpack || exit 1
