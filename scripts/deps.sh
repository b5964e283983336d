# shellcheck shell=bash disable=SC2034
# deps.sh - sourced by the scripts: install the Debian packages that are
# missing (as root, with apt-get), and nothing else.
# usage: . scripts/deps.sh; need_packages PKG...

need_packages() {
    local missing=()
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing: ${missing[*]}"
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    # postfix asks how to configure itself: nothing, we run private instances
    echo "postfix postfix/main_mailer_type select No configuration" |
        $sudo debconf-set-selections 2>/dev/null || true
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq || true
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

BUILD_PACKAGES=(build-essential cmake pkg-config libconfig-dev libidn2-dev libmilter-dev check valgrind)
# the integration tests and the demo: a real Postfix with Cyrus SASL, swaks;
# Sendmail is unpacked from its .debs (it conflicts with postfix): m4, libwrap0
MTA_PACKAGES=(postfix sasl2-bin libsasl2-modules swaks m4 libwrap0 bc python3)
