#!/bin/bash
# replay_tool.sh - authrelay-policy replay's exact output and exit codes:
# a log replayed under the policy that wrote it changes nothing; under an
# edited policy, exactly the expected changes. Plain, .gz and ISO logs,
# stdin, the year of a classic timestamp from the file's mtime.
# usage: replay_tool.sh AUTHRELAY_POLICY DATA_DIR ETC_DIR
set -u
TOOL=$1 DATA=$2/replay ETC=$3
POL=$ETC/authrelay.conf
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export TZ=UTC
. "$(dirname "$0")/tool_check.sh"

sed -f "$DATA/edited.sed" "$POL" >"$TMP/edited.conf"
cp "$DATA/mail.log" "$TMP/mail.log"
touch -d '2026-12-05 12:00 UTC' "$TMP/mail.log"
gzip -c "$TMP/mail.log" >"$TMP/mail.log.1.gz"
touch -d '2026-12-05 12:00 UTC' "$TMP/mail.log.1.gz"

SAME="12 recipients replayed, 0 changed, 2 lines skipped
1 sender-login lines not replayed"
check "same policy: nothing changes" 0 "$SAME" \
    "$TOOL" replay -c "$POL" "$TMP/mail.log" "$DATA/mail-iso.log"
check "same policy, .gz" 0 "$SAME" \
    "$TOOL" replay -c "$POL" "$TMP/mail.log.1.gz" "$DATA/mail-iso.log"

EDITED="NOQUEUE <late@remote.test> reject rule=default -> accept rule=old-partner client=unknown[192.0.2.99] auth=-
NOQUEUE <z@remote.test> reject rule=earthlink -> reject rule=default client=user1.dialup.earthlink.net[192.0.2.77] auth=-
4QXz02abcD <friend@remote.test> accept rule=aol-relays -> reject rule=default client=omr-m2.mx.aol.com[2001:db8:a01::5] auth=-
12 recipients replayed, 3 changed, 2 lines skipped
1 sender-login lines not replayed
1 aol-relays -> default
1 default -> old-partner
1 earthlink -> default"
check "edited policy: exactly its changes" 1 "$EDITED" \
    "$TOOL" replay -c "$TMP/edited.conf" "$TMP/mail.log.1.gz" "$DATA/mail-iso.log"

# the year: written 2026-01-02, "Dec  3" is 2025-12-03 and "Dec  4"
# 2025-12-04, both before old-partner's expiry: both its lines change
grep -F '[192.0.2.99]' "$DATA/mail.log" >"$TMP/old.log"
touch -d '2026-01-02 12:00 UTC' "$TMP/old.log"
check "classic timestamps take the year of the file's mtime" 1 \
"NOQUEUE <late@remote.test> reject rule=default -> accept rule=old-partner client=unknown[192.0.2.99] auth=-
NOQUEUE <user@remote.test> reject rule=default -> accept rule=old-partner client=unknown[192.0.2.99] auth=-
3 recipients replayed, 2 changed, 0 lines skipped
2 default -> old-partner" \
    "$TOOL" replay -c "$TMP/edited.conf" "$TMP/old.log"

# stdin, and journalctl -o short-iso
check "stdin, journalctl -o short-iso" 1 \
"4QXz02abcD <friend@remote.test> accept rule=aol-relays -> reject rule=default client=omr-m2.mx.aol.com[2001:db8:a01::5] auth=-
3 recipients replayed, 1 changed, 0 lines skipped
1 aol-relays -> default" \
    sh -c 'sed "s/+01:00 / /; s/\.[0-9]* / /; s/T\([0-9:]*\) /T\1+0100 /" "$1" | "$2" replay -c "$3" -' \
    sh "$DATA/mail-iso.log" "$TOOL" "$TMP/edited.conf"

# errors: exit 2
check "no log" 2 "" "$TOOL" replay -c "$POL"
check "a missing log" 2 "0 recipients replayed, 0 changed, 0 lines skipped" \
    "$TOOL" replay -c "$POL" "$TMP/nonexistent"
printf 'not gzip at all' | gzip -c | head -c 20 >"$TMP/cut.gz"
check "a cut .gz" 2 "0 recipients replayed, 0 changed, 0 lines skipped" \
    "$TOOL" replay -c "$POL" "$TMP/cut.gz"
check "a bad policy" 2 "" "$TOOL" replay -c "$DATA/mail.log" "$TMP/mail.log"

echo "$runs checks, $fails failed"
[ "$fails" = 0 ]
