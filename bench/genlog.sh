#!/bin/bash
# genlog.sh N DOMAINS > LOG - N decision lines of authrelay-milter, as
# syslog writes them (classic timestamps), for a policy of genpolicy.sh
# with DOMAINS local domains: a mix of local recipients, authenticated,
# trusted and rejected relay attempts, each logged with the decision that
# policy makes, Postfix's own lines in between. Replayed under that policy
# nothing changes: `authrelay-policy replay` reads and decides every line.
set -eu
awk -v n="$1" -v nd="$2" 'BEGIN {
    srand(1)
    for (i = 0; i < n; i++) {
        s = i % 86400
        stamp = sprintf("Dec %2d %02d:%02d:%02d", 1 + int(i / 86400) % 28,
                        int(s / 3600), int(s / 60) % 60, s % 60)
        qid = sprintf("4Q%08X", i)
        k = i % 10
        if (k < 6) {
            rcpt = sprintf("<user%d@customer%d.example>", i % 97, int(rand() * nd))
            printf "%s mx1 authrelay[812]: %s: rcpt=%s decision=accept rule=local client=mail%d.remote.test[192.0.2.%d] auth=- from=<s%d@remote.test>\n",
                stamp, qid, rcpt, i % 50, i % 250 + 1, i % 13
        } else if (k < 8) {
            printf "%s mx1 authrelay[812]: %s: rcpt=<friend%d@remote%d.test> decision=accept rule=authenticated client=laptop%d.isp.test[198.18.%d.%d] auth=user%d@customer%d.example from=<user%d@customer%d.example>\n",
                stamp, qid, i % 31, i % 7, i % 40, i % 200, i % 250 + 1, i % 300, i % 300, i % 300, i % 300
        } else if (k < 9) {
            printf "%s mx1 authrelay[812]: %s: rcpt=<ops%d@remote.test> decision=accept rule=trusted-network client=localhost[127.0.0.1] auth=- from=<cron@customer1.example>\n",
                stamp, qid, i % 5
        } else {
            printf "%s mx1 authrelay[812]: NOQUEUE: rcpt=<victim%d@remote%d.test> decision=reject rule=default client=unknown[203.0.113.%d] auth=- from=<spam%d@remote.test>\n",
                stamp, i % 1000, i % 9, i % 250 + 1, i % 77
            printf "%s mx1 postfix/smtpd[4711]: NOQUEUE: reject: RCPT from unknown[203.0.113.%d]: 554 5.7.1 <victim%d@remote%d.test>: Relay access denied; proto=ESMTP helo=<x>\n",
                stamp, i % 250 + 1, i % 1000, i % 9
        }
    }
}'
