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
    unsigned networks_line, hostnames_line, helo_line, sender_domains_line,
        sender_is_local_line;
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

    char *metrics_file;
    unsigned metrics_interval;
    unsigned timeout; /* seconds libmilter waits for the MTA's next command */
    char sha256[65];
};

void ar_policy_free(struct ar_policy *p);

#endif
