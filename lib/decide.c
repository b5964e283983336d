/*
 * decide.c - the daemon's answers at MAIL and RCPT (see decide.h): the
 * engine's verdict, then what mode and sender_login.mode make of it.
 */
#include "decide.h"

const char *
ar_decision_word(enum ar_decision d, bool reported)
{
    if (!reported)
        return ar_decision_name(d);
    return d == AR_ACCEPT   ? "would-permit"
           : d == AR_REJECT ? "would-reject"
                            : "would-tempfail";
}

static void
add_line(struct ar_answer *a, enum ar_decision d, bool reported,
         const char *rule, bool exception)
{
    struct ar_logged *l = &a->log[a->nlog++];
    l->word = ar_decision_word(d, reported);
    l->rule = rule ? rule : "-"; /* every refusal names its rule */
    l->exception = exception;
}

void
ar_answer_mail(const struct ar_policy *p, const struct ar_request *r,
               struct ar_answer *a)
{
    a->refuse = false;
    a->nlog = 0;
    if (ar_policy_check_sender(p, r, &a->v, NULL) == AR_ACCEPT)
        return;
    bool report =
        ar_policy_sender_login_report(p) || ar_policy_mode(p) == AR_MODE_REPORT;
    add_line(a, a->v.decision, report, a->v.rule, false);
    a->refuse = !report;
}

void
ar_answer_rcpt(const struct ar_policy *p, const struct ar_request *r,
               struct ar_answer *a)
{
    struct ar_verdict *v = &a->v;
    a->nlog = 0;
    ar_policy_eval(p, r, v);
    bool report =
        ar_policy_mode(p) == AR_MODE_REPORT && v->decision != AR_ACCEPT;
    for (size_t k = 0; k < v->ndry; k++)
        add_line(a, v->dry[k].decision, true, v->dry[k].rule, true);
    /* only exceptions have a file */
    add_line(a, v->decision, report, v->rule, v->rule_file != NULL);
    a->refuse = v->decision != AR_ACCEPT && !report;
}
