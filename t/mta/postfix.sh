#!/bin/bash
# postfix.sh - authrelay-milter behind a real Postfix on 127.0.0.1, with
# real SMTP AUTH (Cyrus SASL, sasldb) and the shipped policy (plus two
# internationalised local domains, for SMTPUTF8 in step 8a). Clients
# "from the Internet" are presented with XCLIENT (the shipped policy
# trusts loopback, as a mail server's own host should be).
# usage: postfix.sh AUTHRELAY_MILTER ETC_DIR     (exit 77: no Postfix here)
set -u
MILTER_BIN=$1 ETC=$2
command -v postfix >/dev/null && command -v swaks >/dev/null &&
    command -v saslpasswd2 >/dev/null && command -v python3 >/dev/null ||
    { echo "SKIP: postfix/swaks/sasl2-bin/python3 missing"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a private Postfix"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ar_postfix_XXXXXX")
chmod 755 "$WORK"
# shellcheck source=t/mta/lib.sh
. "$(dirname "$0")/lib.sh"
BASE=$((20000 + RANDOM % 20000))
PORT=$BASE SINK=$((BASE + 1)) UTF8SINK=$((BASE + 2))
SOCK=unix:$WORK/run/milter.sock
PF=$WORK/pf
POLICY=$WORK/authrelay.conf
cleanup() { mta_cleanup; [ "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

REJ='<** 554 5.7.1 Relay access denied: authenticate with SMTP AUTH to send to other domains'
INET=(--xclient-addr 192.0.2.99 --xclient-name client.example.net)

# the shipped policy, with an internationalised local domain written as an
# A-label and one written as a U-label (step 8a)
sed 's/^\(  local_domains = \[\)/\1 "xn--bcher-kva.example", "münchen.example",/' \
    "$ETC/authrelay.conf" >"$POLICY"
grep -qF '"xn--bcher-kva.example", "münchen.example",' "$POLICY" ||
    { echo "FAIL cannot add the IDN local domains to $POLICY"; exit 1; }
t0=$(date +%s.%N)
sink_start "$SINK" || { echo "FAIL smtp-sink does not start"; exit 1; }
# smtp-sink does not offer SMTPUTF8: mail from utf8@remote.test goes to a
# next hop that does (t/mta/smtputf8.py), each envelope in $WORK/utf8sink/
mkdir -p "$WORK/utf8sink"
python3 "$(dirname "$0")/smtputf8.py" sink "$UTF8SINK" "$WORK/utf8sink" \
    >"$WORK/utf8sink.log" 2>&1 &
record_pid $! smtputf8-sink
wait_port "$UTF8SINK" || { echo "FAIL the SMTPUTF8 sink does not start"; exit 1; }
milter_start "$MILTER_BIN" "$POLICY" "$SOCK" || exit 1
pf_setup "$PF" "$PORT" "$SOCK" "$SINK"
postconf -c "$PF/etc" -e "smtputf8_enable = yes" \
    "sender_dependent_relayhost_maps = inline:{ utf8@remote.test=[127.0.0.1]:$UTF8SINK }"
pf_user "$PF" alice example.com secret
pf_start "$PF" "$PORT" || { cat "$WORK"/postfix-*.log; echo "FAIL postfix does not start"; exit 1; }

# 1. unauthenticated relay: the policy's exact code and text
send "${INET[@]}" --from sender@remote.test --to user@remote.test
if has "$REJ" && ! has "250 2.1.5"; then ok "unauthenticated relay rejected with the policy's reply"
else bad "unauthenticated relay" "$T"; fi
grep -q "milter-reject: RCPT from client.example.net\[192.0.2.99\]: 554 5.7.1 Relay access denied" "$PF/log/postfix.log" &&
    ok "Postfix logs the milter's reject" || bad "postfix log lacks milter-reject" "$PF/log/postfix.log"

# 2, 3. AUTH PLAIN and LOGIN relay: delivered to the sink
send "${INET[@]}" --auth PLAIN --auth-user alice@example.com --auth-password secret \
    --from alice@example.com --to plain@remote.test
if has "235 2.7.0" && has "250 2.0.0 Ok: queued" && sink_has plain@remote.test; then
    ok "AUTH PLAIN relay delivered"; else bad "AUTH PLAIN relay" "$T"; fi
send "${INET[@]}" --auth LOGIN --auth-user alice@example.com --auth-password secret \
    --from alice@example.com --to login@remote.test
if has "235 2.7.0" && has "250 2.0.0 Ok: queued" && sink_has login@remote.test; then
    ok "AUTH LOGIN relay delivered"; else bad "AUTH LOGIN relay" "$T"; fi
send "${INET[@]}" --auth PLAIN --auth-user alice@example.com --auth-password wrong \
    --from alice@example.com --to never@remote.test
has "535 5.7.8" && ok "wrong password refused by Postfix" || bad "wrong password" "$T"

# 4. local recipient without AUTH
send "${INET[@]}" --from sender@remote.test --to user@example.com
if has "250 2.0.0 Ok: queued" && sink_has user@example.com; then
    ok "local recipient accepted without AUTH"; else bad "local recipient" "$T"; fi

# 5. mixed recipients: only the local ones are delivered
send "${INET[@]}" --from sender@remote.test --to local1@example.com,mixed@remote.test,local2@sub.example.com
if has "$REJ" && has "250 2.0.0 Ok: queued" && sink_has local1@example.com &&
    sink_has local2@sub.example.com && ! grep -qs "^X-Rcpt-Args: <mixed@remote.test>" "$WORK"/sink/*; then
    ok "mixed recipients: local delivered, relay rejected"; else bad "mixed recipients" "$T"; fi
# Postfix opens the queue file at the first recipient it accepts: the
# relay refused after it is logged with the queue id Postfix logs
qid=$(sed -n 's/.* \([0-9A-F]*\): milter-reject: RCPT from .* to=<mixed@remote.test> .*/\1/p' "$PF/log/postfix.log")
if [ -n "$qid" ] && grep -q "$qid: rcpt=<mixed@remote.test> decision=reject" "$WORK/milter.log" &&
    grep -q "NOQUEUE: rcpt=<local1@example.com> decision=accept" "$WORK/milter.log"; then
    ok "mixed recipients: logged with Postfix's queue id once it has one"
else bad "queue id of the mixed recipients (Postfix: '$qid')" "$WORK/milter.log"; fi

# 6. an ISP exception, through XCLIENT NAME (Postfix passes it as verified)
send --xclient-addr 192.0.2.7 --xclient-name dial-7.atl.earthlink.net \
    --from someone@earthlink.test --to user@remote.test
has "<** 554 5.7.1 EarthLink customers: send through smtp.earthlink.net, without SMTP AUTH" &&
    ok "EarthLink customer told which server to use" || bad "earthlink exception" "$T"

# 7. AOL relays may relay for our hosted senders only
send --xclient-addr 198.51.100.9 --xclient-name relay.aol.test --from bob@example.com --to aolfriend@remote.test
if has "250 2.0.0 Ok: queued" && sink_has aolfriend@remote.test; then
    ok "aol-relays permit a hosted sender"; else bad "aol-relays permit" "$T"; fi
send --xclient-addr 198.51.100.9 --xclient-name relay.aol.test --from bob@aol.test --to aolfriend2@remote.test
has "$REJ" && ok "aol-relays do not permit a foreign sender" || bad "aol-relays foreign sender" "$T"

# 8. the host itself is trusted
send --from cron@mta.test --to ops@remote.test
if has "250 2.0.0 Ok: queued" && grep -q "rcpt=<ops@remote.test> decision=accept rule=trusted-network" "$WORK/milter.log"; then
    ok "loopback client is a trusted network"; else bad "trusted loopback" "$T"; fi

# 8a. SMTPUTF8 (RFC 6531) with smtputf8_enable=yes, from the Internet: a
# U-label recipient (any case) of the local domain written as an A-label,
# an A-label one of the local domain written as a U-label: accepted and
# delivered; a U-label domain that is not local: the relay reply. The
# milter logs the recipient as sent (a non-ASCII octet as '?'). swaks
# cannot declare SMTPUTF8: smtputf8.py sends. (Before step 9: it reloads
# the shipped policy, without these domains.)
send_utf8() {
    n=$((n + 1))
    T=$WORK/t.$n
    python3 "$(dirname "$0")/smtputf8.py" send "$PORT" "$@" >"$T" 2>&1
}
send_utf8 utf8@remote.test 'u@bücher.example' 'v@BÜCHER.Example' \
    'w@xn--mnchen-3ya.example' 'x@bücher.test'
if has "EHLO smtputf8" && has "RCPT <u@bücher.example> 250 2.1.5" &&
    has "RCPT <v@BÜCHER.Example> 250 2.1.5" &&
    has "RCPT <w@xn--mnchen-3ya.example> 250 2.1.5" &&
    has "RCPT <x@bücher.test> 554 5.7.1 Relay access denied" &&
    has "END 250 2.0.0 Ok: queued"; then
    ok "SMTPUTF8: U-label and A-label recipients of IDN local domains accepted"
else bad "SMTPUTF8 recipients" "$T"; fi
if grep -qF "rcpt=<u@b??cher.example> decision=accept rule=local" "$WORK/milter.log" &&
    grep -qF "rcpt=<w@xn--mnchen-3ya.example> decision=accept rule=local" "$WORK/milter.log" &&
    grep -qF "rcpt=<x@b??cher.test> decision=reject rule=default" "$WORK/milter.log"; then
    ok "SMTPUTF8: the milter logs the recipients as sent"
else bad "SMTPUTF8 milter log lines" "$WORK/milter.log"; fi
k=150
until grep -qsE '^RCPT TO:<u@(bücher|xn--bcher-kva)\.example>' "$WORK"/utf8sink/*.env; do
    k=$((k - 1))
    [ $k -gt 0 ] || break
    sleep 0.1
done
if [ $k -gt 0 ]; then ok "SMTPUTF8: the U-label recipient delivered"
else bad "SMTPUTF8 delivery (Postfix log below)" "$PF/log/postfix.log"; fi

# 9. reload while Postfix is in use; the new text carries a '%'
sed 's/text = "Relay access denied: authenticate/text = "Relay access denied (100% sure): authenticate/' \
    "$ETC/authrelay.conf" >"$POLICY.new"
load_fail=0
for i in $(seq 1 12); do
    if [ $((i % 4)) = 0 ]; then mv "$POLICY.new" "$POLICY" 2>/dev/null; kill -USR1 "$MILTER_PID"; fi
    send "${INET[@]}" --from sender@remote.test --to "r$i@remote.test"
    grep -qE '<\*\* 554 5.7.1 Relay access denied' "$T" || { load_fail=1; cp "$T" "$WORK/loadfail"; }
    send "${INET[@]}" --auth PLAIN --auth-user alice@example.com --auth-password secret \
        --from alice@example.com --to "a$i@remote.test"
    has "250 2.0.0 Ok: queued" || { load_fail=1; cp "$T" "$WORK/loadfail"; }
done
[ $load_fail = 0 ] && grep -q "reloaded $POLICY" "$WORK/milter.log" &&
    ok "reloads while Postfix is in use: no failed transaction" || bad "reload under use" "$WORK/loadfail"
send "${INET[@]}" --from sender@remote.test --to pct@remote.test
has "<** 554 5.7.1 Relay access denied (100% sure): authenticate with SMTP AUTH" &&
    ok "reply text with '%' reaches the client literally" || bad "percent in reply text" "$T"

# 10. the daemon stopped: Postfix tempfails, never relays unchecked
milter_stop && ok "the daemon lived through every test and stopped with status 0" ||
    bad "the daemon died or did not stop cleanly"
send "${INET[@]}" --from sender@remote.test --to down@remote.test
if grep -qE '<\*\* 451 4\.(7|3)\.[0-9]' "$T" && ! has "250 2.1.5"; then
    ok "milter down: unauthenticated client gets 4xx"; else bad "milter down, unauthenticated" "$T"; fi
send "${INET[@]}" --auth PLAIN --auth-user alice@example.com --auth-password secret \
    --from alice@example.com --to down2@remote.test
if grep -qE '<\*\* 4[0-9][0-9] ' "$T" && ! has "250 2.0.0 Ok: queued"; then
    ok "milter down: authenticated client gets 4xx"; else bad "milter down, authenticated" "$T"; fi

# 11. and back
milter_start "$MILTER_BIN" "$POLICY" "$SOCK" || exit 1
send "${INET[@]}" --auth PLAIN --auth-user alice@example.com --auth-password secret \
    --from alice@example.com --to back@remote.test
has "250 2.0.0 Ok: queued" && ok "milter restarted: relay works again" || bad "milter restart" "$T"

milter_stop && ok "the restarted daemon stopped with status 0" || bad "the restarted daemon"
echo "postfix: $((runs - fails)) of $runs passed in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
[ $fails = 0 ]
