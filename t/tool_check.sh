# tool_check.sh - the checks of the tool tests, sourced: exact stdout and
# exit status. Needs TMP (a scratch directory); counts in runs and fails.
fails=0 runs=0

# check LABEL WANT_RC WANT_STDOUT CMD... : stdout must equal WANT_STDOUT exactly
check() {
    local label=$1 want_rc=$2 want=$3
    shift 3
    local got rc
    got=$("$@" 2>"$TMP/err")
    rc=$?
    runs=$((runs + 1))
    if [ "$rc" != "$want_rc" ] || [ "$got" != "$want" ]; then
        fails=$((fails + 1))
        echo "FAIL $label: exit $rc (want $want_rc)"
        diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/    /'
        sed 's/^/    stderr: /' "$TMP/err"
    fi
}

# check_err LABEL WANT_RC STDERR_SUBSTRING CMD...
check_err() {
    local label=$1 want_rc=$2 want=$3
    shift 3
    local rc
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    runs=$((runs + 1))
    if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want" "$TMP/err"; then
        fails=$((fails + 1))
        echo "FAIL $label: exit $rc (want $want_rc), stderr lacks: $want"
        sed 's/^/    stderr: /' "$TMP/err"
    fi
}
