/*
 * policy.h - the compiled relay policy and the per-recipient decision.
 *
 * A struct ar_policy is built by ar_policy_load() from a libconfig file and
 * is immutable afterwards: every string it holds is its own copy, and any
 * number of threads may call ar_policy_eval() on it at once. Its lifetime
 * is reference-counted (ar_policy_ref/ar_policy_unref) so that the daemon
 * can swap in a new policy while transactions still use the old one.
 *
 * ar_policy_eval() is the one code path for the daemon, `query` and
 * `test`: the decision order of authrelay.conf(5), step by step. It does not allocate. The strings of a
 * verdict point into the policy and live as long as it does.
 */
#ifndef AR_POLICY_H
#define AR_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "netset.h"

enum ar_decision { AR_ACCEPT, AR_REJECT, AR_TEMPFAIL };
enum ar_mode { AR_MODE_ENFORCE, AR_MODE_REPORT };
enum ar_on_error { AR_ONERR_TEMPFAIL, AR_ONERR_ACCEPT, AR_ONERR_REJECT };

/* the reserved rule names */
#define AR_RULE_LOCAL "local"
#define AR_RULE_TRUSTED "trusted-network"
#define AR_RULE_AUTH "authenticated"
#define AR_RULE_DEFAULT "default"
#define AR_RULE_SENDER_LOGIN "sender-login"

#define AR_DRY_RUN_MAX 8 /* dry-run rules reported per decision */
#define AR_REPLY_TEXT_MAX 400

struct ar_reply {
    char code[4];   /* "554" */
    char xcode[12]; /* "5.7.1" */
    char *text;
};

/* Everything the MTA tells us about one recipient of one transaction. */
struct ar_request {
    struct ar_ip client_addr;  /* .valid false: unknown client */
    const char *client_name;   /* NULL when unknown */
    bool client_name_verified; /* forward-confirmed (a verified client name: authrelay.conf(5)) */
    const char *helo;
    const char *auth_authen; /* NULL or "": not authenticated */
    const char *auth_type;
    const char *mail_from;   /* MAIL FROM argument as sent; NULL = none */
    const char *rcpt;        /* RCPT TO argument as sent */
    const char *rcpt_mailer; /* {rcpt_mailer}; NULL when not sent */
    int64_t today;           /* days since 1970-01-01, UTC */
    /* recent_login (authrelay.conf(5)): with a state, asked of it when an
     * exception first needs it; without one (query, test), this value */
    struct ar_state *state;
    bool recent_login;
    int64_t now; /* seconds since the epoch, for the state */
};

/* A dry-run rule that would have decided, had it not been a dry run. */
struct ar_dry_hit {
    const char *rule;
    enum ar_decision decision;
};

/* Do not copy a verdict by value: reply may point into own_text. */
struct ar_verdict {
    enum ar_decision decision;
    const char *rule;             /* "local", ..., or an exception name */
    const struct ar_reply *reply; /* NULL when accepted */
    const char *rule_file;        /* where the deciding exception is */
    unsigned rule_line;           /* 0 for the built-in rules */
    size_t ndry;                  /* dry-run rules that matched first */
    struct ar_dry_hit dry[AR_DRY_RUN_MAX];
    struct ar_reply own_reply; /* a reply made for this request */
    char own_text[AR_REPLY_TEXT_MAX + 1];
};

/*
 * Optional trace of every step of the decision (query --explain). The
 * callback gets one line at a time, without newline.
 */
struct ar_trace {
    void (*line)(void *ctx, const char *text);
    void *ctx;
};

struct ar_policy;
struct ar_state;

/* ar_policy_load - read and compile a policy file. On any error returns
 * NULL and d holds every error as FILE:LINE; warnings may be added either
 * way (an expired exception). */
struct ar_policy *ar_policy_load(const char *path, int64_t today,
                                 struct ar_diags *d);
/* ar_policy_load_string - the same from text[0..len): name is what
 * errors call it, dir where relative *_files paths start (fuzzing, tests) */
struct ar_policy *ar_policy_load_string(const char *name, const char *text,
                                        size_t len, const char *dir,
                                        int64_t today, struct ar_diags *d);
/* ar_policy_lint - append the linter's warnings about a loaded policy */
void ar_policy_lint(const struct ar_policy *p, int64_t today,
                    struct ar_diags *d);

struct ar_policy *ar_policy_ref(struct ar_policy *p);
void ar_policy_unref(struct ar_policy *p);

enum ar_decision ar_policy_eval(const struct ar_policy *p,
                                const struct ar_request *r,
                                struct ar_verdict *v);
enum ar_decision ar_policy_eval_trace(const struct ar_policy *p,
                                      const struct ar_request *r,
                                      struct ar_verdict *v,
                                      const struct ar_trace *t);

/*
 * ar_policy_check_sender - the sender-login binding (authrelay.conf(5), sender_login), as
 * enforce mode decides it: AR_ACCEPT when the sender passes or the check
 * does not apply (off, not authenticated, null sender), else AR_REJECT
 * with rule "sender-login" and its reply. ar_policy_sender_login_report()
 * says whether a failure is only to be logged.
 */
enum ar_decision ar_policy_check_sender(const struct ar_policy *p,
                                        const struct ar_request *r,
                                        struct ar_verdict *v,
                                        const struct ar_trace *t);
bool ar_policy_sender_login_report(const struct ar_policy *p);

/* ar_policy_uses_helo - does any exception look at the HELO name? */
bool ar_policy_uses_helo(const struct ar_policy *p);
/* ar_policy_checks_sender - is sender_login anything but off? */
bool ar_policy_checks_sender(const struct ar_policy *p);

/*
 * ar_policy_decide - what `query` and `test` show for one recipient: the
 * sender-login check, then the relay decision, as enforce mode decides;
 * a sender-login failure in report mode shows as a dry-run hit.
 */
enum ar_decision ar_policy_decide(const struct ar_policy *p,
                                  const struct ar_request *r,
                                  struct ar_verdict *v,
                                  const struct ar_trace *t);

/* Settings of the milter section (strings NULL when not set). */
const char *ar_policy_socket(const struct ar_policy *p);
const char *ar_policy_user(const struct ar_policy *p);
const char *ar_policy_pidfile(const struct ar_policy *p);
enum ar_mode ar_policy_mode(const struct ar_policy *p);
enum ar_on_error ar_policy_on_error(const struct ar_policy *p);
const char *ar_policy_path(const struct ar_policy *p);
const char *ar_policy_metrics_file(const struct ar_policy *p);
unsigned ar_policy_metrics_interval(const struct ar_policy *p);
/* milter.timeout: how long (seconds) the daemon waits for the MTA's next
 * command on a connection before it closes it; AR_MILTER_TIMEOUT if unset.
 * An hour and five minutes: longer than any silence the MTAs' own limits
 * allow on a session (see authrelay.conf(5)). */
#define AR_MILTER_TIMEOUT 3900u
unsigned ar_policy_timeout(const struct ar_policy *p);
/* ar_policy_sha256 - hex SHA-256 of the policy file's text */
const char *ar_policy_sha256(const struct ar_policy *p);
/* ar_policy_exception - name of exception i (0 <= i < stats.exceptions) */
const char *ar_policy_exception(const struct ar_policy *p, size_t i,
                                const char **file, unsigned *line);

struct ar_policy_stats {
    size_t local_domains;
    size_t trusted_networks;
    size_t exceptions;
    size_t remote_mailers;
};
void ar_policy_stats(const struct ar_policy *p, struct ar_policy_stats *s);

/* ar_policy_summary - one line: "FILE: OK: version 1, N local domains, ..." */
void ar_policy_summary(const struct ar_policy *p, char *buf, size_t size);

/* ar_decision_name - "accept", "reject", "tempfail" */
const char *ar_decision_name(enum ar_decision d);

/* ar_today - the current UTC day number; ar_parse_date - "YYYY-MM-DD" to
 * a day number, -1 if not a real calendar date */
int64_t ar_today(void);
int64_t ar_parse_date(const char *s);
void ar_format_date(int64_t day, char *buf, size_t size);

#endif
