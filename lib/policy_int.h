/*
 * policy_int.h - the layout of a compiled policy, for lib/ only.
 */
#ifndef AR_POLICY_INT_H
#define AR_POLICY_INT_H

#include <stdatomic.h>

#include "domainset.h"
#include "exindex.h"
#include "loginmap.h"
#include "netset.h"
#include "policy.h"

enum ar_action { AR_ACT_PERMIT, AR_ACT_REJECT, AR_ACT_TEMPFAIL };

struct ar_exception {
    char *name;
    char *comment, *owner;
    const char *file; /* owned by the policy's file list */
    unsigned line;
    int64_t expires; /* day number; -1 = never */
    unsigned expires_line;
    enum ar_action action;
    bool dry_run; /* log what it would do, then act as if absent */
    bool has_reply;
    struct ar_reply reply; /* own reply, or a copy of relay.reply */
    /* match: NULL/-1 when the condition is not given */
    struct ar_netset *networks;
    struct ar_domainset *hostnames;
    struct ar_domainset *helo;
    struct ar_domainset *sender_domains;
    int sender_is_local; /* -1 not given, 0 must not be local, 1 must be */
    bool recent_login; /* match.recent_login = true */
    unsigned networks_line, hostnames_line, helo_line, sender_domains_line,
        sender_is_local_line, recent_login_line;
};

/* limits (authrelay.conf(5), LIMITS) */
enum ar_limit_key { AR_LKEY_LOGIN, AR_LKEY_CLIENT };
enum ar_limit_count { AR_LCOUNT_RECIPIENTS, AR_LCOUNT_CLIENTS };

#define AR_LIMIT_PER_MAX (7u * 86400u)

struct ar_limit {
    char *name;
    char *comment, *owner;
    const char *file; /* owned by the policy's file list */
    unsigned line;
    enum ar_limit_key key;
    enum ar_limit_count count;
    uint32_t max; /* 1 .. */
    uint32_t per; /* seconds, 1 .. AR_LIMIT_PER_MAX */
    char **rules; /* the accepting rules whose recipients count */
    size_t nrules;
    enum ar_decision action; /* AR_TEMPFAIL or AR_REJECT */
    struct ar_reply reply;   /* own, or the default of the action */
    bool dry_run;
};

enum ar_backend { AR_BACKEND_MEMORY, AR_BACKEND_REDIS };

/* the state section, with its defaults filled in */
struct ar_state_conf {
    enum ar_backend backend;
    char *redis; /* "unix:/path" or "tcp:HOST:PORT"; NULL unless redis */
    char *redis_user, *redis_password; /* NULL: none */
    char *prefix;                      /* default "authrelay:" */
    unsigned timeout_ms;               /* default 20 */
    unsigned recent_login_ttl;         /* seconds, default 1800 */
    size_t max_keys;                   /* default 1000000 */
};

struct ar_policy {
    atomic_uint refs;
    char *path;
    char **files; /* every file name diagnostics and rules point into */
    size_t nfiles;

    char *socket, *user, *pidfile;
    enum ar_mode mode;
    enum ar_on_error on_error;

    struct ar_domainset *local_domains;
    struct ar_netset *trusted;
    char **remote_mailers;
    size_t nremote_mailers;
    struct ar_reply reply;

    struct ar_exception *exc;
    size_t nexc;
    struct ar_exindex *exidx; /* NULL: try every exception */
    bool uses_helo;           /* some exception has a helo condition */

    enum { AR_SL_OFF, AR_SL_ENFORCE, AR_SL_REPORT } sl_mode;
    struct ar_loginmap *sl_map;
    bool sl_has_reply;
    struct ar_reply sl_reply;

    struct ar_state_conf state;
    char *control_socket; /* milter.control_socket; NULL: none */
    struct ar_limit *limits;
    size_t nlimits;
    bool uses_recent_login; /* some exception has recent_login */

    char *metrics_file;
    unsigned metrics_interval;
    unsigned timeout; /* seconds libmilter waits for the MTA's next command */
    char sha256[65];
};

void ar_policy_free(struct ar_policy *p);

#endif
