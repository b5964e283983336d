#!/bin/bash
# sendmail.sh - authrelay-milter behind a real Sendmail 8.17 on 127.0.0.1
# (unpacked from Debian's .debs), with real SMTP AUTH and the shipped
# policy, except that loopback is not trusted and the customer Exchange
# rule names 127.0.0.1: Sendmail has no XCLIENT to present other clients.
# usage: sendmail.sh AUTHRELAY_MILTER ETC_DIR CACHE_DIR   (exit 77: skipped)
set -u
MILTER_BIN=$1 ETC=$2 CACHE=$3
for c in swaks saslpasswd2 m4 unshare dpkg-deb apt-get; do
    command -v $c >/dev/null || { echo "SKIP: $c missing"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ar_sendmail_XXXXXX")
chmod 755 "$WORK"
# shellcheck source=t/mta/lib.sh
. "$(dirname "$0")/lib.sh"
SMROOT=$CACHE/sendmail-root
sm_unpack "$SMROOT" || { echo "SKIP: cannot fetch Sendmail's .debs"; exit 77; }
BASE=$((20000 + RANDOM % 20000))
PORT=$BASE SINK=$((BASE + 1))
SOCK=unix:$WORK/run/milter.sock
SM=$WORK/sm
POLICY=$WORK/authrelay.conf
cleanup() { mta_cleanup; [ "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

REJ='Relay access denied: authenticate with SMTP AUTH to send to other domains'

sed -e 's|trusted_networks = \[ "127.0.0.0/8", "::1/128" \];|trusted_networks = [ ];|' \
    -e 's|client_networks = \[ "203.0.113.25" \];|client_networks = [ "127.0.0.1" ];|' \
    "$ETC/authrelay.conf" >"$POLICY"
grep -q 'trusted_networks = \[ \];' "$POLICY" && grep -q '"127.0.0.1" \]' "$POLICY" ||
    { echo "FAIL cannot derive the test policy"; exit 1; }

t0=$(date +%s.%N)
sink_start "$SINK" || { echo "FAIL smtp-sink"; exit 1; }
milter_start "$MILTER_BIN" "$POLICY" "$SOCK" || exit 1
sm_setup "$SM" "$SMROOT" "$PORT" "$SOCK" "$SINK" || { cat "$SM/m4.log"; echo "FAIL m4"; exit 1; }
sm_user "$SM" alice mta2.test secret
sm_start "$SM" "$SMROOT" "$PORT" || { cat "$SM/sendmail.out"; echo "FAIL sendmail does not start"; exit 1; }
ok "Sendmail up in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-4) s"

send --from sender@remote.test --to user@remote.test
if grep -qE "^<\*\* 554 5\.7\.1 .*$REJ" "$T" && ! has "250 2.1.5"; then
    ok "unauthenticated relay rejected with the policy's reply"; else bad "unauthenticated relay" "$T"; fi

send --auth PLAIN --auth-user alice@mta2.test --auth-password secret \
    --from alice@mta2.test --to plain@remote.test
if has "235 2.0.0" && has "Message accepted for delivery" && sink_has plain@remote.test 30; then
    ok "AUTH PLAIN relay delivered"; else bad "AUTH PLAIN relay" "$T"; fi
send --auth LOGIN --auth-user alice@mta2.test --auth-password secret \
    --from alice@mta2.test --to login@remote.test
if has "235 2.0.0" && has "Message accepted for delivery" && sink_has login@remote.test 30; then
    ok "AUTH LOGIN relay delivered"; else bad "AUTH LOGIN relay" "$T"; fi
grep -q "rcpt=<plain@remote.test> decision=accept rule=authenticated client=localhost\[127.0.0.1\] auth=alice@mta2.test" "$WORK/milter.log" &&
    ok "stock Sendmail macros + setsymlist: the login reaches the milter" ||
    bad "auth macro from Sendmail" "$WORK/milter.log"

send --from sender@remote.test --to user@example.com
if has "Message accepted for delivery" && sink_has user@example.com 30; then
    ok "local recipient accepted without AUTH"; else bad "local recipient" "$T"; fi

send --from sender@remote.test --to local1@example.com,mixed@remote.test
if grep -qE "^<\*\* 554 5\.7\.1 $REJ" "$T" &&
    has "Message accepted for delivery" && sink_has local1@example.com 30 &&
    ! grep -qs "^X-Rcpt-Args: <mixed@remote.test>" "$WORK"/sink/*; then
    ok "mixed recipients: local delivered, relay rejected"; else bad "mixed recipients" "$T"; fi

send --from ceo@acme.example --to partner@remote.test
if has "Message accepted for delivery" && sink_has partner@remote.test 30 &&
    grep -q "rcpt=<partner@remote.test> decision=accept rule=acme-exchange" "$WORK/milter.log"; then
    ok "exception: the customer's server relays for its own domain"; else bad "acme-exchange permit" "$T"; fi
send --from someone@other.test --to partner2@remote.test
grep -qE "^<\*\* 554 5\.7\.1 .*$REJ" "$T" && ok "exception: not for another sender domain" ||
    bad "acme-exchange other domain" "$T"

sed -i 's/text = "Relay access denied: authenticate/text = "Relay access denied (100% sure): authenticate/' "$POLICY"
kill -USR1 "$MILTER_PID"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q "reloaded $POLICY" "$WORK/milter.log" && break
    sleep 0.1
done
send --from sender@remote.test --to pct@remote.test
grep -qF "<** 554 5.7.1 Relay access denied (100% sure): authenticate" "$T" &&
    ok "reload; reply text with '%' reaches the client literally" || bad "percent in reply text" "$T"

milter_stop && ok "the daemon lived through every test and stopped with status 0" ||
    bad "the daemon died or did not stop cleanly"
send --from sender@remote.test --to down@remote.test
if grep -qE '^<\*\* 4[0-9][0-9] ' "$T" && ! has "Message accepted"; then
    ok "milter down: unauthenticated client gets 4xx (F=T)"; else bad "milter down, unauthenticated" "$T"; fi
send --auth PLAIN --auth-user alice@mta2.test --auth-password secret \
    --from alice@mta2.test --to down2@remote.test
if grep -qE '^<\*\* 4[0-9][0-9] ' "$T" && ! has "Message accepted"; then
    ok "milter down: authenticated client gets 4xx"; else bad "milter down, authenticated" "$T"; fi

echo "sendmail: $((runs - fails)) of $runs passed in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
[ $fails = 0 ]
