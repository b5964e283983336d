#!/bin/bash
# policy_tool.sh - authrelay-policy's exact output and exit codes (authrelay-policy(1)).
# usage: policy_tool.sh AUTHRELAY_POLICY DATA_DIR ETC_DIR
set -u
TOOL=$1 DATA=$2 ETC=$3
POL=$ETC/authrelay.conf
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/tool_check.sh"

R='code=554 xcode=5.7.1 text="Relay access denied: authenticate with SMTP AUTH to send to other domains"'

# --- query: one line per --rcpt, in order ---------------------------------
check "query local and relay" 0 \
"<user@example.com> accept rule=local
<user@remote.test> reject rule=default $R
<user%remote.test@example.com> reject rule=default $R" \
    "$TOOL" query -c "$POL" --client-addr 192.0.2.99 \
    --rcpt '<user@example.com>' --rcpt '<user@remote.test>' \
    --rcpt '<user%remote.test@example.com>'

check "query authenticated" 0 "<user@remote.test> accept rule=authenticated" \
    "$TOOL" query -c "$POL" --client-addr 192.0.2.99 --auth alice --auth-type PLAIN \
    --rcpt '<user@remote.test>'

check "query trusted before authenticated" 0 \
    "<user@remote.test> accept rule=trusted-network" \
    "$TOOL" query -c "$POL" --client-addr 127.0.0.1 --auth alice --rcpt '<user@remote.test>'

check "query no client address = unknown client" 0 \
    "<user@remote.test> reject rule=default $R" \
    "$TOOL" query -c "$POL" --rcpt '<user@remote.test>'

check "query ISP exception" 0 \
    '<user@remote.test> reject rule=earthlink code=554 xcode=5.7.1 text="EarthLink customers: send through smtp.earthlink.net, without SMTP AUTH"' \
    "$TOOL" query -c "$POL" --client-addr 192.0.2.7 --client-name pool-7.earthlink.net \
    --rcpt '<user@remote.test>'

check "query unverified name never matches" 0 \
    "<user@remote.test> reject rule=default $R" \
    "$TOOL" query -c "$POL" --client-addr 192.0.2.7 --client-name '[192.0.2.7]' \
    --rcpt '<user@remote.test>'

check "query permit exception" 0 "<friend@remote.test> accept rule=aol-relays" \
    "$TOOL" query -c "$POL" --client-addr 198.51.100.9 --from '<bob@example.com>' \
    --rcpt '<friend@remote.test>'

check "query escapes quotes and backslashes" 0 \
    '<a@remote.test> tempfail rule=helo-tempfail code=451 xcode=4.7.1 text="Busy: \"try\" later \\ please"' \
    "$TOOL" query -c "$DATA/order.conf" --client-addr 192.0.2.5 --helo busy.test \
    --rcpt '<a@remote.test>'

check "query percent is literal" 0 \
    '<a@remote.test> reject rule=default code=550 xcode=5.7.1 text="No relay for you, 100% sure"' \
    "$TOOL" query -c "$DATA/order.conf" --client-addr 192.0.2.99 --rcpt '<a@remote.test>'

check "query --date before expiry" 0 "<a@remote.test> accept rule=expired" \
    "$TOOL" query -c "$DATA/order.conf" --client-addr 192.0.2.5 --date 2019-06-01 \
    --rcpt '<a@remote.test>'

out=$("$TOOL" query -c "$POL" --client-addr 192.0.2.99 --explain --rcpt '<u%x@example.com>')
runs=$((runs + 1))
if [ "$(printf '%s\n' "$out" | head -1)" != "<u%x@example.com> reject rule=default $R" ] ||
   ! printf '%s\n' "$out" | grep -q "^    recipient: sender-specified routing" ||
   ! printf '%s\n' "$out" | grep -q "^    exception earthlink: client_hostnames"; then
    fails=$((fails + 1)); echo "FAIL query --explain:"; printf '%s\n' "$out"
fi

# internationalised domains: a U-label recipient against an A-label
# entry (xn--bcher-kva.example) and an A-label one against a U-label entry
# (straße.example); printed as given; invalid IDNA is a relay attempt
check "query U-label and A-label recipients" 0 \
"<jörg@bücher.example> accept rule=local
<jörg@BÜCHER.Example> accept rule=local
<u@xn--strae-oqa.example> accept rule=local
<u@straße.example> accept rule=local
<u@strasse.example> reject rule=default code=554 xcode=5.7.1 text=\"Relay access denied\"
<u@xn--zz.example> reject rule=default code=554 xcode=5.7.1 text=\"Relay access denied\"
<u@☃.example> reject rule=default code=554 xcode=5.7.1 text=\"Relay access denied\"" \
    "$TOOL" query -c "$DATA/idn.conf" --client-addr 192.0.2.99 \
    --rcpt '<jörg@bücher.example>' --rcpt '<jörg@BÜCHER.Example>' \
    --rcpt '<u@xn--strae-oqa.example>' --rcpt '<u@straße.example>' \
    --rcpt '<u@strasse.example>' --rcpt '<u@xn--zz.example>' --rcpt '<u@☃.example>'
out=$("$TOOL" query -c "$DATA/idn.conf" --client-addr 192.0.2.99 --explain \
    --rcpt '<jörg@bücher.example>' --rcpt '<u@xn--zz.example>')
for w in '    recipient: local part "jörg", domain xn--bcher-kva.example, no routing' \
         '    local_domains: xn--bcher-kva.example matches entry xn--bcher-kva.example' \
         '    recipient: unparseable (not valid IDNA: bad A-label (xn--)): relay attempt'; do
    runs=$((runs + 1))
    grep -qxF -- "$w" <<<"$out" || { fails=$((fails + 1)); echo "FAIL query --explain IDN lacks: $w"; printf '%s\n' "$out"; }
done
check "lint IDN policy" 0 \
    "$DATA/idn.conf: OK: version 1, 6 local domains, 1 trusted network, 7 exceptions, mode enforce, 0 warnings" \
    "$TOOL" lint -c "$DATA/idn.conf"
check_err "lint invalid IDNA in a list file" 1 \
    "idna-domains.list:3: bad domain \"xn--zz.example\": not valid IDNA: bad A-label (xn--)" \
    "$TOOL" lint -c "$DATA/bad/idna_file.conf"

check_err "query without --rcpt" 2 "needs at least one --rcpt" "$TOOL" query -c "$POL"
check_err "query bad address" 2 "--client-addr 300.1.1.1" \
    "$TOOL" query -c "$POL" --client-addr 300.1.1.1 --rcpt '<a@b.test>'
check_err "query unknown option" 2 "usage:" "$TOOL" query -c "$POL" --bogus --rcpt x
check_err "query broken policy" 2 "host_bits.conf:5: bad network" \
    "$TOOL" query -c "$DATA/bad/host_bits.conf" --rcpt '<a@b.test>'
check_err "query missing policy" 2 "cannot read" \
    "$TOOL" query -c "$TMP/none.conf" --rcpt '<a@b.test>'

# --- lint ------------------------------------------------------------------
check "lint shipped policy" 0 \
    "$POL: OK: version 1, 3 local domains, 2 trusted networks, 7 exceptions, mode enforce, 0 warnings" \
    "$TOOL" lint -c "$POL"
check_err "lint broken policy" 1 "bad_domain_last.conf:6: bad domain \"exa_mple.org\"" \
    "$TOOL" lint -c "$DATA/bad/bad_domain_last.conf"
check_err "lint prints every error" 1 "many_errors.conf:9: exception x: action \"maybe\"" \
    "$TOOL" lint -c "$DATA/bad/many_errors.conf"
[ "$(grep -c '' "$TMP/err")" = 4 ] || { fails=$((fails + 1)); echo "FAIL lint: want 4 errors"; cat "$TMP/err"; }
check_err "lint usage" 2 "usage:" "$TOOL" lint -c "$POL" extra

# warnings: a valid file with every kind of warning
soon=$(date -u -d '+10 days' +%F)
cat > "$TMP/warn.conf" <<EOW
version = 1;
relay = {
  local_domains = [ "example.com" ];
  trusted_networks = [ "10.0.0.0/8", "10.1.0.0/16" ];
};
exceptions = (
  { name = "helo-only"; match = { helo = [ "friend.test" ]; }; action = "permit"; },
  { name = "wide"; match = { client_networks = [ "192.0.2.0/24" ]; }; action = "permit"; },
  { name = "narrow"; match = { client_networks = [ "192.0.2.7" ]; sender_is_local = true; };
    action = "reject"; },
  { name = "open"; match = { client_networks = [ "0.0.0.0/0" ]; }; action = "permit"; },
  { name = "soon"; expires = "$soon"; match = { client_networks = [ "203.0.113.0/24" ]; };
    action = "permit"; },
  { name = "inside-trusted"; match = { client_networks = [ "10.9.0.0/16" ]; };
    action = "reject"; }
);
EOW
check_err "lint warns: HELO alone" 0 "warn.conf:7: warning: exception helo-only matches on HELO alone" \
    "$TOOL" lint -c "$TMP/warn.conf"
for w in "warn.conf:4: warning: trusted_networks: 10.1.0.0/16 overlaps 10.0.0.0/8" \
         "warn.conf:9: warning: exception narrow can never match: exception wide (line 8) always matches first" \
         "warn.conf:11: warning: exception open permits relay from every address" \
         "warn.conf:12: warning: exception soon expires on $soon, in 10 days" \
         "warn.conf:14: warning: exception inside-trusted: every client_networks entry is in trusted_networks" \
         "8 warnings"; do
    runs=$((runs + 1))
    grep -qF -- "$w" "$TMP/err" "$TMP/out" || { fails=$((fails + 1)); echo "FAIL lint warning missing: $w"; cat "$TMP/err"; }
done
printf 'version = 1;\nmilter = { socket = "inet:8891@127.0.0.1"; };\nrelay = { local_domains = [ "example.com" ]; };\n' >"$TMP/inet.conf"
check_err "lint warns: inet socket" 0 \
    "inet.conf: warning: milter.socket inet:8891@127.0.0.1 is an inet socket: every local user can connect to it" \
    "$TOOL" lint -c "$TMP/inet.conf"

# networks that hold every address, or, written as IPv6, every IPv4 client
# (held as ::ffff:a.b.c.d): stderr exactly, with the entry's file and line
errs() { "$@" 2>&1 >/dev/null; }
cat > "$TMP/wide-trusted.conf" <<'EOW'
version = 1;
relay = {
  local_domains = [ "example.com" ];
  trusted_networks = [ "0.0.0.0/0",
                       "::/0" ];
  trusted_networks_files = [ "wide.list" ];
};
EOW
printf '# trusted\n2001:db8::/32\n::ffff:0:0/96\n::/64\n' >"$TMP/wide.list"
check "lint: trusted networks that hold every client" 0 \
"$TMP/wide.list:4: warning: trusted_networks: ::/64 overlaps ::/0 ($TMP/wide-trusted.conf:5)
$TMP/wide-trusted.conf:4: warning: trusted_networks: 0.0.0.0/0 overlaps ::/0 ($TMP/wide-trusted.conf:5)
$TMP/wide.list:3: warning: trusted_networks: ::ffff:0.0.0.0/96 overlaps ::/0 ($TMP/wide-trusted.conf:5)
$TMP/wide.list:2: warning: trusted_networks: 2001:db8::/32 overlaps ::/0 ($TMP/wide-trusted.conf:5)
$TMP/wide-trusted.conf:5: warning: trusted_networks: ::/0 covers every address, IPv4 clients too (::ffff:0:0/96): it trusts all of them, an open relay
$TMP/wide.list:4: warning: trusted_networks: ::/64 covers ::ffff:0:0/96, every IPv4 client: it trusts all of them, an open relay
$TMP/wide-trusted.conf:4: warning: trusted_networks: 0.0.0.0/0 covers every IPv4 address: it trusts all of them, an open relay
$TMP/wide.list:3: warning: trusted_networks: ::ffff:0.0.0.0/96 covers ::ffff:0:0/96, every IPv4 client: it trusts all of them, an open relay" \
    errs "$TOOL" lint -c "$TMP/wide-trusted.conf"
cat > "$TMP/wide-permit.conf" <<'EOW'
version = 1;
relay = { local_domains = [ "example.com" ]; trusted_networks = [ "127.0.0.1" ]; };
exceptions = (
  { name = "v6-wide"; match = { client_networks = [ "::/80" ]; }; action = "permit"; },
  { name = "v6-narrow"; match = { client_networks = [ "2001:db8::/32", "::ffff:192.0.2.0/120" ]; };
    action = "permit"; },
  { name = "v6-reject"; match = { client_networks = [ "::/0" ]; }; action = "reject"; },
  { name = "everyone"; match = { client_networks = [ "::/0" ]; }; action = "permit"; }
);
EOW
check "lint: a permit that holds every IPv4 client" 0 \
"$TMP/wide-permit.conf:4: warning: exception v6-wide client_networks: ::/80 covers ::ffff:0:0/96, every IPv4 client: it permits relay from all of them, an open relay
$TMP/wide-permit.conf:8: warning: exception everyone permits relay from every address: an open relay
$TMP/wide-permit.conf:8: warning: exception everyone can never match: exception v6-reject (line 7) always matches first" \
    errs "$TOOL" lint -c "$TMP/wide-permit.conf"

# --- sender-login, dry runs, stale exceptions ----------------------------
SL=$DATA/senderlogin.conf
SLR='code=553 xcode=5.7.1 text="Sender address rejected: not owned by user alice@example.com"'
check "query sender-login on every recipient" 0 \
"<a@remote.test> reject rule=sender-login $SLR
<b@example.com> reject rule=sender-login $SLR" \
    "$TOOL" query -c "$SL" --client-addr 10.0.0.1 --auth alice@example.com \
    --from '<bob@example.com>' --rcpt '<a@remote.test>' --rcpt '<b@example.com>'
check "query sender-login passes" 0 "<a@remote.test> accept rule=trusted-network" \
    "$TOOL" query -c "$SL" --client-addr 10.0.0.1 --auth alice@example.com \
    --from '<x@example.org>' --rcpt '<a@remote.test>'
check "query sender-login report mode" 0 \
    "<a@example.com> accept rule=local dry_run=sender-login:reject" \
    "$TOOL" query -c "$DATA/senderlogin_report.conf" --auth alice@example.com \
    --from '<bob@elsewhere.test>' --rcpt '<a@example.com>'
check "query dry runs" 0 \
    '<a@remote.test> tempfail rule=real code=451 xcode=4.7.1 text="later" dry_run=staged-permit:accept dry_run=staged-reject:reject' \
    "$TOOL" query -c "$SL" --client-addr 192.0.2.5 --rcpt '<a@remote.test>'
cat > "$TMP/sl.tests" <<'EOT'
cases = (
  { name = "not hers"; client_addr = "10.0.0.1"; auth = "alice@example.com";
    from = "<bob@example.com>"; rcpt = "<a@remote.test>";
    expect = "reject"; rule = "sender-login"; },
  { name = "hers"; client_addr = "10.0.0.1"; auth = "alice@example.com";
    from = "<info@example.com>"; rcpt = "<a@remote.test>";
    expect = "accept"; rule = "trusted-network"; }
);
EOT
check "test sender-login cases" 0 "2 passed, 0 failed" "$TOOL" test -c "$SL" "$TMP/sl.tests"
now=$(date +%s)
cat > "$TMP/metrics.prom" <<EOM
# HELP authrelay_rule_last_match_timestamp_seconds When an exception last matched (Unix time).
# TYPE authrelay_rule_last_match_timestamp_seconds gauge
authrelay_rule_last_match_timestamp_seconds{rule="earthlink"} $((now - 3600))
authrelay_rule_last_match_timestamp_seconds{rule="prodigy"} $((now - 200 * 86400))
authrelay_rule_last_match_timestamp_seconds{rule="juno"} $((now - 40 * 86400))
EOM
"$TOOL" lint -c "$POL" --metrics "$TMP/metrics.prom" >"$TMP/out" 2>"$TMP/err"
rc=$?
for w in "authrelay.conf:49: warning: exception prodigy last matched on $(date -u -d @$((now - 200 * 86400)) +%F), 200 days ago (stale after 90)" \
         "warning: exception netzero has never matched (no last match in $TMP/metrics.prom)" \
         "warning: exception acme-exchange has never matched"; do
    runs=$((runs + 1))
    grep -qF -- "$w" "$TMP/err" || { fails=$((fails + 1)); echo "FAIL lint --metrics lacks: $w"; cat "$TMP/err"; }
done
runs=$((runs + 1))
if [ $rc != 0 ] || grep -q "exception earthlink\|exception juno" "$TMP/err"; then
    fails=$((fails + 1)); echo "FAIL lint --metrics: rc $rc or warned about a fresh rule"; cat "$TMP/err"
fi
"$TOOL" lint -c "$POL" --metrics "$TMP/metrics.prom" --stale-days 30 2>"$TMP/err" >/dev/null
runs=$((runs + 1))
grep -q "exception juno last matched" "$TMP/err" || { fails=$((fails + 1)); echo "FAIL --stale-days 30"; cat "$TMP/err"; }
check_err "lint --stale-days bad" 2 "--stale-days x" "$TOOL" lint -c "$POL" --metrics "$TMP/metrics.prom" --stale-days x

# --- test ------------------------------------------------------------------
check "test shipped cases" 0 "32 passed, 0 failed" "$TOOL" test -c "$POL" "$ETC/authrelay.tests"
cat > "$TMP/fail.tests" <<'EOT'
cases = (
  { name = "ok"; rcpt = "<a@example.com>"; expect = "accept"; },
  { name = "wrong decision"; client_addr = "192.0.2.1";
    rcpt = "<a@remote.test>"; expect = "accept"; },
  { name = "wrong rule"; client_addr = "127.0.0.1"; auth = "alice";
    rcpt = "<a@remote.test>"; expect = "accept"; rule = "authenticated"; }
);
EOT
check "test failing cases" 1 \
"FAIL $TMP/fail.tests:3 [wrong decision]: <a@remote.test> -> got reject rule=default, want accept
FAIL $TMP/fail.tests:5 [wrong rule]: <a@remote.test> -> got accept rule=trusted-network, want accept rule=authenticated
1 passed, 2 failed" \
    "$TOOL" test -c "$POL" "$TMP/fail.tests"
check_err "test malformed cases" 2 "bad_expect.tests:3: expect \"allow\"" \
    "$TOOL" test -c "$POL" "$DATA/cases/bad_expect.tests"
check_err "test broken policy" 2 "syntax.conf:4:" \
    "$TOOL" test -c "$DATA/bad/syntax.conf" "$ETC/authrelay.tests"
check_err "unknown command" 2 "unknown command frob" "$TOOL" frob
version=$(sed -n 's/^project(authrelay VERSION \([0-9.]*\).*/\1/p' "$ETC/../CMakeLists.txt")
check "version" 0 "authrelay-policy $version" "$TOOL" -V

echo "$((runs - fails)) of $runs checks passed"
[ "$fails" = 0 ]
