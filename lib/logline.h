/*
 * logline.h - one line of a mail log, read back: is it a decision line of
 * authrelay-milter, and if so, the request it decided and what it decided.
 *
 * The line is a syslog line with a classic timestamp ("Dec  4 18:12:58 host
 * authrelay[123]: ..."), an ISO one (rsyslog's RFC 3339 stamps,
 * "2026-12-04T18:12:58.123456+01:00 host authrelay[123]: ..."; journalctl
 * -o short-iso's "2026-12-04T18:12:58+0100"), or none (the daemon's own
 * stderr in the foreground: "authrelay[123]: ..."). The message is the
 * decision line of authrelay-milter(8):
 *
 *   QUEUEID: rcpt=<a@b> decision=D rule=R client=NAME[ADDR] auth=L from=<s@d>
 *   QUEUEID: from=<s@d> decision=D rule=sender-login client=NAME[ADDR] auth=L
 *
 * then any number of key=value fields. Known ones: helo= (the HELO name),
 * resolve=ok|no (the client name was verified or not), mailer= (the
 * {rcpt_mailer} macro); others are ignored. The daemon logs no space inside
 * a field (it logs '?' for a space, a control or a non-ASCII octet) and
 * cuts a field longer than AR_LOGLINE_FIELD_MAX octets to that many, the
 * last three being "...".
 *
 * ar_logline_parse() works in place: it writes NULs into the line, and the
 * fields point into it. It does not allocate. Thread-safe.
 */
#ifndef AR_LOGLINE_H
#define AR_LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* the daemon's longest logged field (a cut one ends in AR_LOGLINE_CUT) */
#define AR_LOGLINE_FIELD_MAX 256
#define AR_LOGLINE_CUT "..."
/* longer lines are not the daemon's */
#define AR_LOGLINE_MAX 8192

enum ar_logline_kind {
    AR_LL_OTHER,    /* another program's line, or not a syslog line */
    AR_LL_DAEMON,   /* the daemon's, but no decision (start, warning) */
    AR_LL_DECISION, /* a recipient's decision: rcpt= */
    AR_LL_SENDER,   /* the sender-login decision at MAIL FROM: no rcpt= */
    AR_LL_BAD,      /* a decision line that cannot be read back (cut,
                       garbled, a field that is ambiguous) */
};

enum ar_logline_stamp {
    AR_LL_NO_STAMP, /* stderr: no time at all */
    AR_LL_CLASSIC,  /* local time, no year: mon..sec */
    AR_LL_ISO,      /* epoch (UTC seconds) */
};

struct ar_logline {
    enum ar_logline_stamp stamp;
    int mon, mday, hour, min, sec; /* AR_LL_CLASSIC: mon 0..11 */
    int64_t epoch;                 /* AR_LL_ISO */
    /* AR_LL_DECISION and AR_LL_SENDER: the fields as logged (rcpt NULL for
     * AR_LL_SENDER; helo, resolve and mailer NULL when not logged) */
    const char *qid, *rcpt, *word, *rule, *client_name, *client_addr, *auth,
        *from, *helo, *resolve, *mailer;
    enum ar_decision decision; /* word without "would-" (permit: accept) */
    bool reported;             /* word was would-...: logged, not done */
    const char *why;           /* AR_LL_BAD: what was wrong */
};

/* ar_logline_parse - line[0..len) (no newline; line[len] must be
 * writable); returns l->kind's value */
enum ar_logline_kind ar_logline_parse(char *line, size_t len,
                                      struct ar_logline *l);

/*
 * ar_logline_request - the request a decision line records, for `today`:
 * client name verified as resolve= says, or when not logged by the rule
 * `query` uses (any name but "unknown" and "[...]"); no HELO, no
 * {rcpt_mailer} unless logged; auth "-" is none. -1 if the client address
 * is neither an address nor "unknown".
 */
int ar_logline_request(const struct ar_logline *l, int64_t today,
                       struct ar_request *r);

#endif
