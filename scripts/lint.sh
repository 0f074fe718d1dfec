#!/bin/sh
# NAME
#	scripts/lint.sh - `make lint`: the house rules that a reviewer would
#	otherwise have to remember (run by `make check`)
#
# SYNOPSIS
#	sh scripts/lint.sh OBJDIR
#
# DESCRIPTION
#	Checks, over the program and common/ sources (not tests/, bench/):
#	  1. exported names: every global symbol a library defines (nm on
#	     OBJDIR/lib*.a) starts with its file's name, or with the file name's
#	     first word ("inbound_" for inbound_driver.c), or with a short
#	     prefix listed for that file in scripts/lint-prefixes.txt;
#	  2. file length: at most 800 lines per .c/.h file;
#	  3. function length: at most 80 lines from the opening to the closing
#	     brace (functions open with "{" in column 0, as the tree writes them);
#	  4. banned functions: strcpy, strcat, sprintf, vsprintf, gets, strtok,
#	     atoi, atol, atoll, tmpnam, mktemp (unbounded, or errors silently
#	     lost: use the bounded and checked ones);
#	  5. shellcheck (warnings and errors) on every shell script of the tree;
#	  6. formatting: every C source and header of the tree (tests and
#	     bench included) is as `clang-format` (Debian 12: 14) formats it
#	     with the checked-in .clang-format; fix with
#	     `clang-format -i FILE` (the finding names the first differing line).
#	Each finding is printed as "file:line: rule: what"; the exit status is
#	1 when there is any.
#
set -u
OBJDIR=${1:-build/release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
fail=0
finding() { echo "$1"; fail=1; }

SRCDIRS=$(for d in */; do d=${d%/}; case $d in tests|bench|build|bin|conf|docs|man|scripts) continue;; esac
	ls "$d"/*.c >/dev/null 2>&1 && echo "$d"; done)

# ---- 1. exported names -------------------------------------------------------------------------
for lib in "$OBJDIR"/lib*.a; do
	[ -e "$lib" ] || { finding "$OBJDIR: no libraries: build first (make)"; break; }
	nm -A --defined-only -g "$lib" 2>/dev/null | awk -v prefixes="scripts/lint-prefixes.txt" '
		BEGIN { while ((getline line < prefixes) > 0) { if (line ~ /^#/ || line == "") continue
			split(line, f, /[ \t]+/); for (i = 2; i in f; i++) extra[f[1]] = extra[f[1]] " " f[i] } }
		{ # lib.a:file.o: 0000 T name
			split($1, p, ":"); obj = p[2]; sub(/\.o$/, "", obj); type = $(NF - 1); name = $NF
			if (type !~ /^[TDBRCV]$/) next
			name = tolower(name)   # MAIL_LIMITS_DEFAULT carries mail_limits_ too
			first = obj; sub(/_.*/, "", first)
			if (index(name, obj "_") == 1 || name == obj || index(name, first "_") == 1) next
			n = split(extra[obj], e, " "); ok = 0
			for (i = 1; i <= n; i++) if (index(name, e[i]) == 1) ok = 1
			if (!ok) printf "%s.c: exported name: %s does not start with %s_, %s_ or a listed prefix\n", obj, name, obj, first
		}' | while IFS= read -r line; do echo "$line"; echo x >> "$OBJDIR/.lint-fail"; done
done
if [ -e "$OBJDIR/.lint-fail" ]; then fail=1; rm -f "$OBJDIR/.lint-fail"; fi

# ---- 2.-4. files, functions, banned calls -----------------------------------------------------
for d in $SRCDIRS; do
	for f in "$d"/*.c "$d"/*.h; do
		[ -e "$f" ] || continue
		n=$(wc -l < "$f")
		[ "$n" -le 800 ] || finding "$f:$n: file length: $n lines (at most 800: split it along its seams)"
		awk -v file="$f" '
			/^[A-Za-z_].*[^;]$/ { sig = FNR; what = $0 }
			/^\{/ { if (sig) { start = FNR; inside = 1; head = what } }
			/^\}/ { if (inside) { len = FNR - start - 1
				if (len > 80) { sub(/\(.*/, "", head); printf "%s:%d: function length: %s has %d lines (at most 80)\n", file, start, head, len }
				inside = 0; sig = 0 } }' "$f" | while IFS= read -r line; do echo "$line"; echo x >> "$OBJDIR/.lint-fail"; done
		grep -nE '(^|[^A-Za-z0-9_.>])(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|tmpnam|mktemp)[ ]*\(' "$f" \
			| grep -vE '^[0-9]+:[[:space:]]*(\*|/\*|//)' | while IFS= read -r line; do
			echo "$f:${line%%:*}: banned function: ${line#*:}"; echo x >> "$OBJDIR/.lint-fail"; done
	done
done
if [ -e "$OBJDIR/.lint-fail" ]; then fail=1; rm -f "$OBJDIR/.lint-fail"; fi

# ---- 5. shell scripts ---------------------------------------------------------------------------
if command -v shellcheck >/dev/null 2>&1; then
	for s in scripts/*.sh tests/*.sh bench/*.sh .ci/run; do
		[ -e "$s" ] || continue
		shellcheck -S warning -f gcc "$s" || fail=1
	done
else
	finding "shellcheck: not installed (make deps installs it)"
fi

# ---- 6. formatting ------------------------------------------------------------------------------
if command -v clang-format >/dev/null 2>&1; then
	if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
		CSRC=$(git ls-files '*.c' '*.h')
	else
		CSRC=$(find . -name '*.[ch]' -not -path './build/*' | sed 's|^\./||')
	fi
	for f in $CSRC; do
		[ -e "$f" ] || continue
		clang-format "$f" | diff -U0 "$f" - 2>/dev/null | awk -v file="$f" '
			/^@@/ { split($2, a, ","); sub(/^-/, "", a[1]); printf "%s:%d: formatting: not as clang-format writes it (clang-format -i %s)\n", file, a[1], file; exit }'
	done | while IFS= read -r line; do echo "$line"; echo x >> "$OBJDIR/.lint-fail"; done
	if [ -e "$OBJDIR/.lint-fail" ]; then fail=1; rm -f "$OBJDIR/.lint-fail"; fi
else
	finding "clang-format: not installed (make deps installs it)"
fi

[ "$fail" = 0 ] && echo "lint: clean"
exit "$fail"
