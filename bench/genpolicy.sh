#!/bin/bash
# genpolicy.sh DIR DOMAINS NETWORKS EXCEPTIONS - a policy that grows:
# DOMAINS local domains (customerN.example) in DIR/domains, NETWORKS
# trusted /29 networks (at most 131072) in DIR/networks
# (none of them the benchmark's client), EXCEPTIONS rules each with two
# networks and two host names. Writes DIR/policy.conf; socket from $SOCKET.
set -eu
dir=$1 nd=$2 nn=$3 ne=$4
mkdir -p "$dir"
awk -v n="$nd" 'BEGIN { for (i = 0; i < n; i++) printf "customer%d.example\n", i }' >"$dir/domains"
# distinct /29s inside 172.16.0.0/12 (131072 of them)
awk -v n="$nn" 'BEGIN { for (i = 0; i < n; i++)
    printf "172.%d.%d.%d/29\n", 16 + int(i / 8192), int(i / 32) % 256, (i % 32) * 8 }' >"$dir/networks"
{
    echo "version = 1;"
    echo "milter = { socket = \"${SOCKET:-inet:8891@127.0.0.1}\"; mode = \"enforce\"; };"
    echo "relay = {"
    echo "  local_domains_files = [ \"domains\" ];"
    echo "  trusted_networks = [ \"127.0.0.0/8\" ];"
    [ "$nn" -gt 0 ] && echo "  trusted_networks_files = [ \"networks\" ];"
    echo "  reply = { code = \"554\"; xcode = \"5.7.1\"; text = \"Relay access denied\"; };"
    echo "};"
    if [ "$ne" -gt 0 ]; then
        echo "exceptions = ("
        awk -v n="$ne" 'BEGIN { for (i = 0; i < n; i++)
            printf "  { name = \"isp%d\"; comment = \"generated\"; match = { client_networks = [ \"198.18.%d.%d\", \"2001:db8:%x::/48\" ]; client_hostnames = [ \".isp%d.test\", \"mx.isp%d.test\" ]; }; action = \"reject\"; }%s\n",
                i, int(i / 256) % 256, i % 256, i, i, i, (i < n - 1 ? "," : "") }'
        echo ");"
    fi
} >"$dir/policy.conf"
