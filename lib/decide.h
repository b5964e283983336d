/*
 * decide.h - the daemon's one entry point to a decision: what it answers
 * the MTA at MAIL and at each RCPT, and what it logs. The policy's mode
 * (enforce, report), sender_login.mode and dry-run rules are settled
 * here, so the milter callbacks only translate macros in and the answer
 * out. The words are those of the decision line of authrelay-milter(8),
 * LOGGING: accept, reject, tempfail, and would-permit, would-reject,
 * would-tempfail for a decision that is only reported.
 */
#ifndef AR_DECIDE_H
#define AR_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* one decision line: its word and rule */
struct ar_logged {
    const char *word; /* "accept", ..., "would-permit", ... */
    const char *rule; /* never NULL ("-" if a decision named none) */
    bool exception;   /* the rule is an exception: its last match counts */
    const char *limit; /* rule LIMIT: the limit's name; else NULL */
};

/* Do not copy an answer by value: v.reply may point into v.own_text. */
struct ar_answer {
    struct ar_verdict v; /* the decision as enforce mode makes it */
    bool refuse;         /* answer with v.decision and v.reply */
    size_t nlog;         /* decision lines to log, in this order */
    struct ar_logged log[AR_DRY_RUN_MAX + 1 + 4 /* AR_LIMIT_DRY_MAX */];
};

/* ar_answer_mail - MAIL FROM: the sender-login binding. No line to log
 * (nlog 0) when the sender passes or the check does not apply; refuse
 * only when the failure is enforced. */
void ar_answer_mail(const struct ar_policy *p, const struct ar_request *r,
                    struct ar_answer *a);
/* ar_answer_rcpt - one RCPT TO: the relay decision, a line for every
 * dry-run rule that matched first, then the deciding one; refuse when it
 * is a reject or tempfail that is enforced. */
void ar_answer_rcpt(const struct ar_policy *p, const struct ar_request *r,
                    struct ar_answer *a);

/* ar_decision_word - the logged word: ar_decision_name(d), or its
 * would- form (would-permit for accept) when only reported */
const char *ar_decision_word(enum ar_decision d, bool reported);

#endif
