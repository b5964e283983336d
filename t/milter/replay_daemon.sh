#!/bin/bash
# replay_daemon.sh - real traffic through the daemon over its real socket,
# logged, then replayed: under the policy that decided it nothing changes
# and every line is read; under an edited policy exactly the expected
# changes. Then the same in report mode with a dry-run rule.
# usage: replay_daemon.sh AUTHRELAY_MILTER MILTERCHECK AUTHRELAY_POLICY DATA_DIR ETC_DIR
set -u
MILTER=$1 MC=$2 TOOL=$3 DATA=$4/replay ETC=$5
TMP=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
. "$(dirname "$0")/../tool_check.sh"

# traffic POLICY: the daemon on POLICY, a fixed set of sessions, stopped
traffic() {
    : >"$TMP/log"
    "$MILTER" -f -c "$1" -p "unix:$TMP/sock" -P "$TMP/pid" -u root 2>>"$TMP/log" &
    pid=$!
    for _ in $(seq 100); do [ -S "$TMP/sock" ] && break; sleep 0.05; done
    {
        "$MC" -s "unix:$TMP/sock" -a 192.0.2.77 -n user1.dialup.earthlink.net \
            '<a@remote.test>' '<b@example.com>'
        "$MC" -s "unix:$TMP/sock" -a 198.51.100.9 -n omr.mx.aol.com \
            -f '<bob@example.com>' '<c@remote.test>'
        "$MC" -s "unix:$TMP/sock" -a 2001:db8:a01::5 -n omr2.mx.aol.com \
            -f '<carol@sub.example.com>' '<d@remote.test>'
        "$MC" -s "unix:$TMP/sock" -a 203.0.113.25 -n exchange.acme.example \
            -f '<it@acme.example>' '<e@remote.test>' '<f@example.net>'
        "$MC" -s "unix:$TMP/sock" -a 192.0.2.50 -l alice@example.com \
            -f '<alice@example.com>' '<g@remote.test>'
        "$MC" -s "unix:$TMP/sock" -a 127.0.0.1 -n localhost '<h@remote.test>'
        "$MC" -s "unix:$TMP/sock" -a 192.0.2.80 -n unknown \
            '<i@remote.test>' '<j%remote.test@example.com>'
    } >/dev/null
    kill "$pid"
    wait "$pid"
    pid=
}

POL=$ETC/authrelay.conf
sed -f "$DATA/edited.sed" "$POL" >"$TMP/edited.conf"

traffic "$POL"
check "daemon log, same policy: nothing changes" 0 \
    "10 recipients replayed, 0 changed, 0 lines skipped" \
    "$TOOL" replay -c "$POL" "$TMP/log"
check "daemon log, edited policy: exactly its changes" 1 \
"NOQUEUE <a@remote.test> reject rule=earthlink -> reject rule=default client=user1.dialup.earthlink.net[192.0.2.77] auth=-
NOQUEUE <d@remote.test> accept rule=aol-relays -> reject rule=default client=omr2.mx.aol.com[2001:db8:a01::5] auth=-
10 recipients replayed, 2 changed, 0 lines skipped
1 aol-relays -> default
1 earthlink -> default" \
    "$TOOL" replay -c "$TMP/edited.conf" "$TMP/log"

# report mode, and the edit's dry run for 192.0.2.80: would-reject and
# would-permit lines replay as what they record
sed 's/mode *= "enforce";/mode = "report";/' "$TMP/edited.conf" >"$TMP/report.conf"
grep -q 'mode = "report"' "$TMP/report.conf" ||
    { echo "FAIL: no report mode in the policy"; fails=$((fails + 1)); }
traffic "$TMP/report.conf"
grep -q 'decision=would-permit rule=trial' "$TMP/log" ||
    { echo "FAIL: the dry run was not logged"; fails=$((fails + 1)); }
check "report mode and dry run, same policy: nothing changes" 0 \
    "12 recipients replayed, 0 changed, 0 lines skipped" \
    "$TOOL" replay -c "$TMP/report.conf" "$TMP/log"
check "report mode and dry run, under the shipped policy" 1 \
"NOQUEUE <a@remote.test> would-reject rule=default -> reject rule=earthlink client=user1.dialup.earthlink.net[192.0.2.77] auth=-
NOQUEUE <d@remote.test> would-reject rule=default -> accept rule=aol-relays client=omr2.mx.aol.com[2001:db8:a01::5] auth=-
NOQUEUE <i@remote.test> would-permit rule=trial -> reject rule=default client=unknown[192.0.2.80] auth=-
NOQUEUE <j%remote.test@example.com> would-permit rule=trial -> reject rule=default client=unknown[192.0.2.80] auth=-
12 recipients replayed, 4 changed, 0 lines skipped
2 trial -> default
1 default -> aol-relays
1 default -> earthlink" \
    "$TOOL" replay -c "$POL" "$TMP/log"

# The inputs the decision line carries at its end (helo=, resolve=,
# mailer=): a helo rule, an unverified client name and remote_mailers
# decide through the daemon, and replay the same. (Before the daemon
# logged them, each of these three lines replayed as a change.)
cat >"$TMP/inputs.conf" <<'EOF'
version = 1;
relay = {
  local_domains = [ "example.com" ];
  remote_mailers = [ "smtp" ];
};
exceptions = (
  { name = "busy-helo";
    match = { client_networks = [ "192.0.2.0/24" ]; helo = [ "busy.test" ]; };
    action = "tempfail";
    reply = { code = "451"; xcode = "4.7.1"; text = "Busy, try later"; }; },
  { name = "partner"; match = { client_hostnames = [ ".partner.test" ]; };
    action = "permit"; }
);
EOF
: >"$TMP/log"
"$MILTER" -f -c "$TMP/inputs.conf" -p "unix:$TMP/sock" -P "$TMP/pid" -u root 2>>"$TMP/log" &
pid=$!
for _ in $(seq 100); do [ -S "$TMP/sock" ] && break; sleep 0.05; done
check "helo rule through the daemon" 0 "<a@remote.test> 451 4.7.1 Busy, try later" \
    "$MC" -s "unix:$TMP/sock" -a 192.0.2.5 -n mx.busy.test -H busy.test '<a@remote.test>'
check "unverified partner name through the daemon" 0 "<b@remote.test> 554 5.7.1 Relay access denied" \
    "$MC" -s "unix:$TMP/sock" -a 198.51.100.9 -n mx.partner.test -r FAIL '<b@remote.test>'
check "remote mailer through the daemon" 0 "<c@example.com> 554 5.7.1 Relay access denied" \
    "$MC" -s "unix:$TMP/sock" -a 198.51.100.8 -n other.test -m smtp '<c@example.com>'
kill "$pid"
wait "$pid"
pid=
check "helo=, resolve=, mailer= logged" 0 "3" \
    grep -c ' helo=[^ ]* resolve=[a-z]*' "$TMP/log"
check "helo rule, unverified name, remote mailer: nothing changes" 0 \
    "3 recipients replayed, 0 changed, 0 lines skipped" \
    "$TOOL" replay -c "$TMP/inputs.conf" "$TMP/log"

echo "$runs checks, $fails failed"
[ "$fails" = 0 ]
