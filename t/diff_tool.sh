#!/bin/bash
# diff_tool.sh - authrelay-policy diff over pairs of policies with known
# differences: exact output (structure, then each changed decision as a
# query command line) and exit status.
# usage: diff_tool.sh AUTHRELAY_POLICY DATA_DIR
set -u
TOOL=$1 D=$2/diff
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/tool_check.sh"

check "base" 0 \
"0 structural changes, 0 decisions changed over 204 probes" \
    "$TOOL" diff "$D/base.conf" "$D/base.conf"

check "domain-removed" 1 \
"list relay.local_domains: 0 added, 1 removed
  - example.net
authrelay-policy query --from '<sender@remote.invalid>' --rcpt '<probe@example.net>'  # old: accept rule=local, new: reject rule=default
authrelay-policy query --auth probe --from '<sender@remote.invalid>' --rcpt '<probe@example.net>'  # old: accept rule=local, new: accept rule=authenticated
authrelay-policy query --client-addr 198.51.100.0 --from '<probe@example.net>' --rcpt '<probe@remote.invalid>'  # old: accept rule=isp, new: reject rule=deny-range
authrelay-policy query --client-addr 198.51.100.255 --from '<probe@example.net>' --rcpt '<probe@remote.invalid>'  # old: accept rule=isp, new: reject rule=deny-range
1 structural change, 4 decisions changed over 190 probes" \
    "$TOOL" diff "$D/base.conf" "$D/domain-removed.conf"

check "network-narrowed" 1 \
"list relay.trusted_networks: 1 added, 1 removed
  + 192.0.2.0/25
  - 192.0.2.0/24
authrelay-policy query --client-addr 192.0.2.255 --from '<sender@remote.invalid>' --rcpt '<probe@remote.invalid>'  # old: accept rule=trusted-network, new: reject rule=default
authrelay-policy query --client-addr 192.0.2.255 --auth probe --from '<sender@remote.invalid>' --rcpt '<probe@remote.invalid>'  # old: accept rule=trusted-network, new: accept rule=authenticated
authrelay-policy query --client-addr 192.0.2.128 --from '<sender@remote.invalid>' --rcpt '<probe@remote.invalid>'  # old: accept rule=trusted-network, new: reject rule=default
authrelay-policy query --client-addr 192.0.2.128 --auth probe --from '<sender@remote.invalid>' --rcpt '<probe@remote.invalid>'  # old: accept rule=trusted-network, new: accept rule=authenticated
1 structural change, 4 decisions changed over 204 probes" \
    "$TOOL" diff "$D/base.conf" "$D/network-narrowed.conf"

check "shadowed" 1 \
"rule isp: moved from position 1 to 2
rule deny-range: moved from position 2 to 1
authrelay-policy query --client-addr 198.51.100.0 --from '<probe@example.net>' --rcpt '<probe@remote.invalid>'  # old: accept rule=isp, new: reject rule=deny-range
authrelay-policy query --client-addr 198.51.100.255 --from '<probe@example.net>' --rcpt '<probe@remote.invalid>'  # old: accept rule=isp, new: reject rule=deny-range
2 structural changes, 2 decisions changed over 204 probes" \
    "$TOOL" diff "$D/base.conf" "$D/shadowed.conf"

check "expiry-added" 1 \
"rule partner: changed: expires
authrelay-policy query --client-addr 203.0.113.25 --from '<probe@partner.test>' --rcpt '<probe@remote.invalid>'  # old: accept rule=partner, new: reject rule=default
authrelay-policy query --client-addr 203.0.113.25 --from '<probe@partner.test>' --date 2020-01-01 --rcpt '<probe@remote.invalid>'  # old: accept rule=partner, new: reject rule=default
1 structural change, 2 decisions changed over 208 probes" \
    "$TOOL" diff "$D/base.conf" "$D/expiry-added.conf"

# a cases file adds its requests to the probes
check "cases" 1 \
"list relay.local_domains: 0 added, 1 removed
  - example.net
authrelay-policy query --from '<sender@remote.invalid>' --rcpt '<probe@example.net>'  # old: accept rule=local, new: reject rule=default
authrelay-policy query --auth probe --from '<sender@remote.invalid>' --rcpt '<probe@example.net>'  # old: accept rule=local, new: accept rule=authenticated
authrelay-policy query --client-addr 198.51.100.0 --from '<probe@example.net>' --rcpt '<probe@remote.invalid>'  # old: accept rule=isp, new: reject rule=deny-range
authrelay-policy query --client-addr 198.51.100.255 --from '<probe@example.net>' --rcpt '<probe@remote.invalid>'  # old: accept rule=isp, new: reject rule=deny-range
authrelay-policy query --client-addr 192.0.2.200 --rcpt '<user@example.net>'  # old: accept rule=local, new: accept rule=trusted-network
1 structural change, 5 decisions changed over 191 probes" \
    "$TOOL" diff --cases "$D/cases.tests" "$D/base.conf" "$D/domain-removed.conf"

# every command line printed reproduces its old and new result
for p in domain-removed network-narrowed shadowed expiry-added; do
    "$TOOL" diff "$D/base.conf" "$D/$p.conf" | grep '^authrelay-policy query ' |
        while IFS= read -r line; do
            cmd=${line%%  # old: *} res=${line#*  # old: }
            want_old=${res%%, new: *} want_new=${res#*, new: }
            for side in old new; do
                pol=$D/base.conf want=$want_old
                [ $side = new ] && pol=$D/$p.conf want=$want_new
                got=$(eval "\"\$TOOL\" query -c \"\$pol\" ${cmd#authrelay-policy query }")
                got=$(printf '%s' "$got" | cut -d' ' -f2,3)
                if [ "$got" != "$want" ]; then
                    echo "FAIL $p: $cmd under $side: got $got, want $want"
                    exit 1
                fi
            done
        done || fails=$((fails + 1))
    runs=$((runs + 1))
done

# errors: exit 2
check "one policy" 2 "" "$TOOL" diff "$D/base.conf"
check "a bad policy" 2 "" "$TOOL" diff "$D/base.conf" "$D/cases.tests"
check "a bad cases file" 2 "" "$TOOL" diff --cases "$D/base.conf" "$D/base.conf" "$D/base.conf"

echo "$runs checks, $fails failed"
[ "$fails" = 0 ]
