#!/bin/sh
# run-unit.sh - runs every cmocka unit-test binary given as argument and
# prints one closing line "unit: N passed, M failed".  Exit status is non-zero
# if any test failed or any binary crashed.
passed=0; failed=0; status=0
out=$(mktemp); trap 'rm -f "$out"' EXIT
for t in "$@"; do
    "$t" >"$out" 2>&1; rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] || [ -z "$p$f" ]; then
        status=1
        [ -n "$f" ] || failed=$((failed + 1))   # crashed before reporting
        echo "---- $t (exit $rc)"; cat "$out"
    else
        echo "ok   $t (${p:-0} tests)"
    fi
done
echo "unit: $passed passed, $failed failed"
exit $status
