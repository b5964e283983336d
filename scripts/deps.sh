# shellcheck shell=bash disable=SC2034
# deps.sh - sourced by the scripts: install the Debian packages that are
# missing (as root, with apt-get), and nothing else.
# usage: . scripts/deps.sh; need_packages PKG...

# say LINE: to the terminal even inside a step of scripts/test, whose
# output is held until the step ends (it keeps the terminal on fd 3)
say() {
    if { true >&3; } 2>/dev/null; then echo "$*" >&3; else echo "$*"; fi
}

need_packages() {
    local missing=()
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "install them as root (apt-get install ${missing[*]}) or run this as root" >&2
        return 1
    fi
    say "    installing ${#missing[@]} Debian packages: ${missing[*]}"
    local t0 log
    t0=$(date +%s)
    log=$(mktemp)
    # postfix asks how to configure itself: nothing, we run private instances
    echo "postfix postfix/main_mailer_type select No configuration" |
        debconf-set-selections 2>/dev/null || true
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "apt-get failed for: ${missing[*]}" >&2
        return 1
    fi
    rm -f "$log"
    say "    installed in $(($(date +%s) - t0)) s"
}

BUILD_PACKAGES=(build-essential cmake pkg-config libconfig-dev libidn2-dev libmilter-dev zlib1g-dev check valgrind)
# the integration tests and the demo: a real Postfix with Cyrus SASL, swaks;
# Sendmail is unpacked from its .debs (it conflicts with postfix): m4,
# libwrap0; python3 speaks SMTPUTF8 where swaks cannot
MTA_PACKAGES=(postfix sasl2-bin libsasl2-modules swaks m4 libwrap0 bc python3)
# the fuzz targets: clang's libFuzzer and sanitizer runtimes, and
# llvm-symbolizer (package llvm), without which LeakSanitizer cannot name a
# leak's frames and its suppressions, which name functions, match nothing
FUZZ_PACKAGES=(clang libclang-rt-14-dev llvm)
