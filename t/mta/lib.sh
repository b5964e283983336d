# shellcheck shell=bash disable=SC2034
# t/mta/lib.sh - private MTA instances on 127.0.0.1 for the integration
# tests and the demo (sourced, bash). Everything lives under $WORK; every
# process we start is recorded in $WORK/pids and stopped by pid by
# mta_cleanup, which the caller traps on EXIT. Nothing leaves the machine:
# the MTAs relay everything to an smtp-sink on loopback.
#

: "${WORK:?set WORK to a scratch directory}"

record_pid() { echo "$1 $2" >>"$WORK/pids"; }

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT
wait_port() {
    local port=$1 n=$((${2:-10} * 20))
    while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.05
    done
}

# wait_gone PID [SECONDS]
wait_gone() {
    local pid=$1 n=$((${2:-15} * 20))
    while kill -0 "$pid" 2>/dev/null; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.05
    done
}

# sink_start PORT: smtp-sink accepting everything, each message in a file
# of its own under $WORK/sink/
sink_start() {
    local port=$1
    mkdir -p "$WORK/sink"
    chown nobody "$WORK/sink"
    smtp-sink -u nobody -d "$WORK/sink/%H%M%S." "127.0.0.1:$port" 64 \
        >"$WORK/sink.log" 2>&1 &
    record_pid $! smtp-sink
    wait_port "$port"
}

# milter_start BINARY POLICY SOCKET: authrelay-milter in the foreground
# as user postfix (so that Postfix's smtpd may use a unix socket, as it
# would with a user of its own whose group postfix is in); its log
# (stderr) in $WORK/milter.log; MILTER_PID is set
milter_start() {
    mkdir -p "$WORK/run"
    chown postfix:postfix "$WORK/run"
    "$1" -f -u "${MILTER_USER:-postfix}" -c "$2" -p "$3" \
        -P "$WORK/run/milter.pid" >>"$WORK/milter.log" 2>&1 &
    MILTER_PID=$!
    record_pid "$MILTER_PID" authrelay-milter
    local n=200
    while ! grep -q "starting on $3" "$WORK/milter.log" 2>/dev/null; do
        n=$((n - 1))
        if [ $n -le 0 ] || ! kill -0 "$MILTER_PID" 2>/dev/null; then
            echo "authrelay-milter did not start:" >&2
            cat "$WORK/milter.log" >&2
            return 1
        fi
        sleep 0.05
    done
}

# milter_stop: an orderly stop of the daemon milter_start started; fails
# (with the log's last lines) if it had died before, or does not exit 0
milter_stop() {
    [ -n "${MILTER_PID:-}" ] || return 0
    local pid=$MILTER_PID rc=0
    MILTER_PID=
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || rc=$?
        echo "authrelay-milter had died before the stop (status $rc):" >&2
        tail -n 20 "$WORK/milter.log" | sed 's/^/  log: /' >&2
        return 1
    fi
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "authrelay-milter: exit status $rc after SIGTERM:" >&2
        tail -n 20 "$WORK/milter.log" | sed 's/^/  log: /' >&2
        return 1
    fi
}

# pf_setup DIR PORT MILTER_SOCKET SINK_PORT: a private Postfix 3.x
# instance on 127.0.0.1:PORT with Cyrus SASL (sasldb) and the milter.
# SASL users: see pf_user.
pf_setup() {
    local pf=$1 port=$2 milter=$3 sinkport=$4
    mkdir -p "$pf/etc/sasl" "$pf/spool" "$pf/data" "$pf/log"
    cp /etc/postfix/master.cf "$pf/etc/master.cf"
    : >"$pf/etc/main.cf"
    local pc=(postconf -c "$pf/etc")
    "${pc[@]}" -e \
        "compatibility_level = 3.6" \
        "config_directory = $pf/etc" "queue_directory = $pf/spool" \
        "data_directory = $pf/data" \
        "myhostname = mta.test" "mydomain = test" "myorigin = mta.test" \
        "mydestination =" "inet_interfaces = 127.0.0.1" \
        "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
        "alias_maps =" "alias_database =" \
        "relayhost = [127.0.0.1]:$sinkport" \
        "smtp_dns_support_level = disabled" \
        "smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination" \
        "smtpd_recipient_restrictions =" \
        "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
        "smtpd_sasl_path = smtpd" \
        "smtpd_sasl_security_options = noanonymous" \
        "smtpd_tls_security_level = none" \
        "smtpd_milters = $milter" "milter_default_action = tempfail" \
        "milter_protocol = 6" \
        "maillog_file = $pf/log/postfix.log" "maillog_file_prefixes = $pf" \
        "smtpd_authorized_xclient_hosts = 127.0.0.1" \
        "smtpd_client_connection_rate_limit = 0" \
        "smtpd_error_sleep_time = 0" "smtpd_soft_error_limit = 1000" \
        "smtpd_hard_error_limit = 1000" "service_throttle_time = 2s" \
        "shlib_directory = /usr/lib/postfix" "meta_directory = /etc/postfix"
    "${pc[@]}" -F '*/*/chroot = n'
    "${pc[@]}" -M# smtp/inet
    "${pc[@]}" -M "127.0.0.1:$port/inet=127.0.0.1:$port inet n - n - - smtpd"
    cat >"$pf/etc/sasl/smtpd.conf" <<EOS
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $pf/etc/sasl/sasldb2
EOS
    postfix -c "$pf/etc" check 2>>"$WORK/postfix-check.log"
    chown postfix "$pf/data"
}

# pf_user DIR USER DOMAIN PASSWORD: a SASL user USER@DOMAIN
pf_user() {
    local pf=$1
    echo "$4" | saslpasswd2 -p -c -f "$pf/etc/sasl/sasldb2" -u "$3" "$2"
    chown root:postfix "$pf/etc/sasl/sasldb2"
    chmod 640 "$pf/etc/sasl/sasldb2"
}

pf_start() {
    local pf=$1 port=$2
    postfix -c "$pf/etc" start 2>>"$WORK/postfix-start.log" || return 1
    echo "postfix -c $pf/etc" >>"$WORK/postfix-instances"
    wait_port "$port" 15
}

pf_stop() {
    local pf=$1
    postfix -c "$pf/etc" stop 2>/dev/null || true
    local pid
    pid=$(head -1 "$pf/spool/pid/master.pid" 2>/dev/null | tr -d ' ')
    [ -n "$pid" ] && wait_gone "$pid" 10
    return 0
}

# mta_cleanup: stop every Postfix we started, then every recorded pid
mta_cleanup() {
    local line pid name
    if [ -f "$WORK/postfix-instances" ]; then
        while read -r line; do
            $line stop >/dev/null 2>&1 || true
        done <"$WORK/postfix-instances"
        rm -f "$WORK/postfix-instances"
    fi
    if [ -f "$WORK/sendmail.pids" ]; then
        while read -r pid; do
            kill -TERM "$pid" 2>/dev/null || true
        done <"$WORK/sendmail.pids"
        rm -f "$WORK/sendmail.pids"
    fi
    if [ -f "$WORK/pids" ]; then
        while read -r pid name; do
            kill -TERM "$pid" 2>/dev/null && wait_gone "$pid" 15 ||
                kill -KILL "$pid" 2>/dev/null || true
        done <"$WORK/pids"
        rm -f "$WORK/pids"
    fi
}

# sink_has RCPT [SECONDS]: the sink got a message for RCPT (queue runs
# are asynchronous: wait)
sink_has() {
    local n=$((${2:-15} * 10))
    while ! grep -qis "^X-Rcpt-Args: <$1>" "$WORK"/sink/* 2>/dev/null; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.1
    done
}

# sm_unpack ROOT: Sendmail 8.17 from Debian's .debs, unpacked (not
# installed: the sendmail packages conflict with postfix) into ROOT once
sm_unpack() {
    local root=$1
    [ -x "$root/usr/libexec/sendmail/sendmail" ] && return 0
    local debs
    debs=$(mktemp -d)
    chmod 755 "$debs"
    (cd "$debs" && apt-get download sendmail-bin sendmail-cf sendmail-base \
        >/dev/null 2>&1) || { rm -rf "$debs"; return 1; }
    mkdir -p "$root"
    for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$root"; done
    rm -rf "$debs"
    [ -x "$root/usr/libexec/sendmail/sendmail" ]
}

# sm_setup DIR ROOT PORT MILTER_SOCKET SINK_PORT: a Sendmail daemon
# configuration on 127.0.0.1:PORT with SASL (sasldb) and the milter,
# relaying everything to the sink. Stock milter macro lists: authrelay
# asks for what it needs with smfi_setsymlist, which Sendmail honours.
sm_setup() {
    local sm=$1 root=$2 port=$3 milter=$4 sinkport=$5
    mkdir -p "$sm/etc" "$sm/queue" "$sm/run" "$sm/sasl"
    chmod 700 "$sm/queue"
    touch "$sm/run/statistics"
    cp "$root/etc/mail/helpfile" "$sm/etc/helpfile" 2>/dev/null || : >"$sm/etc/helpfile"
    printf 'mta2.test\nlocalhost\n' >"$sm/etc/local-host-names"
    cat >"$sm/etc/sm.mc" <<EOM
divert(-1)
# authrelay integration test: a private Sendmail
divert(0)dnl
VERSIONID(\`authrelay-integration-test')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mta2.test')dnl
define(\`QUEUE_DIR', \`$sm/queue')dnl
define(\`confPID_FILE', \`$sm/run/sendmail.pid')dnl
define(\`STATUS_FILE', \`$sm/run/statistics')dnl
define(\`HELP_FILE', \`$sm/etc/helpfile')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confCW_FILE', \`-o $sm/etc/local-host-names')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confDEF_USER_ID', \`daemon:daemon')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
define(\`confAUTH_OPTIONS', \`A')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sinkport')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
INPUT_MAIL_FILTER(\`authrelay', \`S=$milter, F=T, T=C:10s;S:10s;R:10s;E:30s')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
LOCAL_CONFIG
ESASL_CONF_PATH=$sm/sasl
EOM
    m4 -D_CF_DIR_="$root/usr/share/sendmail/cf/" \
        "$root/usr/share/sendmail/cf/m4/cf.m4" "$sm/etc/sm.mc" \
        >"$sm/etc/sm.cf" 2>"$sm/m4.log" || return 1
    cat >"$sm/sasl/Sendmail.conf" <<EOS
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $sm/sasl/sasldb2
EOS
}

# sm_user DIR USER DOMAIN PASSWORD
sm_user() {
    echo "$4" | saslpasswd2 -p -c -f "$1/sasl/sasldb2" -u "$3" "$2"
    chmod 600 "$1/sasl/sasldb2"
}

# sm_start DIR ROOT PORT: the daemon, in a UTS namespace of its own whose
# host name is qualified (else Sendmail sleeps a minute at start)
sm_start() {
    local sm=$1 root=$2 port=$3
    unshare --uts sh -c 'hostname mta2.test && exec "$@"' sh \
        "$root/usr/libexec/sendmail/sendmail" -C "$sm/etc/sm.cf" -bD -L sm-authrelay \
        >>"$sm/sendmail.out" 2>&1 &
    echo $! >>"$WORK/sendmail.pids"
    SM_PID=$!
    wait_port "$port" 15
}

sm_stop() {
    [ -n "${SM_PID:-}" ] || return 0
    kill -TERM "$SM_PID" 2>/dev/null
    wait_gone "$SM_PID" 10
    SM_PID=
}

# ---- the test scripts' harness: results and swaks sessions ---------------
fails=0 runs=0 n=0
ok() { runs=$((runs + 1)); echo "ok   $1"; }
bad() {
    runs=$((runs + 1)) fails=$((fails + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && sed 's/^/     | /' "$2"
}
# send ARGS...: one swaks session against 127.0.0.1:$PORT; transcript in $T
send() {
    n=$((n + 1))
    T=$WORK/t.$n
    swaks --server "127.0.0.1:$PORT" --ehlo client.test --timeout 30 "$@" >"$T" 2>&1
}
has() { grep -qF -- "$1" "$T"; }
