#!/bin/bash
# t/tsan_daemon.sh BUILD_DIR - the daemon suite built with ThreadSanitizer
# (the test program and the daemon it starts), every report kept.
#
# libmilter 8.17 (Debian 12) reports on itself under TSan: its worker pool
# and listener destroy mutexes at shutdown that its closer, pool and
# signal threads still lock, and it never joins its signal thread. Those
# reports have no frame outside libmilter, libc and TSan. Ours would: any
# report with a frame in this project's code (the daemon or the test
# program) fails the run. The libmilter ones are counted and shown, not
# hidden; see SECURITY.md.
set -euo pipefail
B=${1:?usage: t/tsan_daemon.sh BUILD_DIR}
L=$(cd "$B" && pwd)/tsan-daemon
rm -rf "$L"
mkdir -p "$L"
chmod 1777 "$L" # one test runs the daemon as nobody: its report goes here too
TSAN_OPTIONS="halt_on_error=0 exitcode=0 log_path=$L/report" \
    "$B/t/milter/check_daemon"
reports=$(cat "$L"/report.* 2>/dev/null || true)
frames=$(grep -E '^ +#[0-9]+ ' <<<"$reports" || true)
ours=$(grep -v -E '\((libtsan|libmilter|libc|ld-linux-x86-64)\.so[^)]*\)$' <<<"$frames" || true)
if [ -n "$ours" ]; then
    echo "tsan: a report with a frame of ours:"
    grep -l -F "$(head -1 <<<"$ours")" "$L"/report.* | head -1 | xargs cat
    exit 1
fi
echo "tsan: $(grep -c '^WARNING: ThreadSanitizer' <<<"$reports" || true) reports, none with a frame of ours (all inside libmilter):"
grep '^SUMMARY' <<<"$reports" | sed 's/ (pid=[0-9]*)//; s/+0x[0-9a-f]*//' | sort | uniq -c || true
