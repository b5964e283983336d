#!/bin/bash
# soak.sh MILTER LOADGEN [SECONDS] - sustained load on the daemon with the
# million-domain-free default test policy: 16 connections for SECONDS
# (default 150) in 10 rounds, with a reload every round. After the first
# round (warm-up), resident memory may not grow by more than 10 %, and the
# number of open descriptors between rounds must stay what it was after the
# first (libmilter keeps a couple once it has served).
set -u
MILTER=$1 LOADGEN=$2 SECS=${3:-150}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ar_soak_XXXXXX")
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
cat >"$WORK/p.conf" <<EOP
version = 1;
relay = { local_domains = [ $(for i in $(seq 0 9); do printf '"customer%d.example", ' $i; done) "example.com" ]; };
exceptions = ( { name = "isp"; match = { client_networks = [ "198.51.100.0/24" ]; }; action = "reject"; } );
EOP
"$MILTER" -f -u root -c "$WORK/p.conf" -p "unix:$WORK/s" 2>"$WORK/log" >/dev/null &
PID=$!
for i in $(seq 50); do [ -S "$WORK/s" ] && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
fds() { ls /proc/$PID/fd | wc -l; }
idle_fds=$(fds)
round=$((SECS / 10))
base=
fail=0
for r in $(seq 1 10); do
    out=$("$LOADGEN" -s "unix:$WORK/s" -c 16 -d "$round" -n 10)
    kill -USR1 $PID
    sleep 0.3
    now_rss=$(rss) now_fds=$(fds)
    echo "round $r: $out rss_kb=$now_rss fds=$now_fds"
    grep -q "failed=0 " <<<"$out" || fail=1
    [ -z "$base" ] && base=$now_rss base_fds=$now_fds
done
echo "descriptors idle $idle_fds, after warm-up $base_fds, at the end $(fds); rss after warm-up ${base} kB, at the end $(rss) kB"
[ "$(fds)" -le "$base_fds" ] || { echo "FAIL descriptors leak"; fail=1; }
[ "$(rss)" -le $((base * 110 / 100)) ] || { echo "FAIL resident memory grows"; fail=1; }
kill -0 $PID || { echo "FAIL daemon died"; fail=1; }
[ $fail = 0 ] && echo "soak: ok"
exit $fail
