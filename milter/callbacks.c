/*
 * callbacks.c - the libmilter callbacks. They only translate: macros and
 * arguments into a struct ar_request, the engine's verdict into SMFIS_*
 * and smfi_setreply(). Every decision is logged, one line per recipient.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "daemon.h"
#include "decide.h"
#include "log.h"
#include "metrics.h"

/* The macros we ask for, stage by stage (they replace the MTA's lists). */
#define MACROS_CONNECT "{client_addr} {client_name} {client_resolve} v j"
#define MACROS_ENVFROM "i {auth_type} {auth_authen} {mail_addr}"
#define MACROS_ENVRCPT "i {rcpt_mailer} {auth_authen} {auth_type}"

/* Replies of our own (the policy's replies come from the policy). */
#define REPLY_TEMPFAIL_CODE "451"
#define REPLY_TEMPFAIL_XCODE "4.3.0"
#define REPLY_TEMPFAIL_TEXT                                                    \
    "Relay check temporarily unavailable, try again later"
#define REPLY_REJECT_CODE "554"
#define REPLY_REJECT_XCODE "5.3.0"
#define REPLY_REJECT_TEXT "Relay check failed"

static const char *
macro(SMFICTX *ctx, const char *name)
{
    return smfi_getsymval(ctx, (char *)name);
}

/* the MTA's queue id, NULL while it has none */
static const char *
queue_id_or_null(SMFICTX *ctx)
{
    const char *i = macro(ctx, "i");
    return i && *i ? i : NULL;
}

/* the queue id as logged (ar_log_clean: anyone who can reach the socket
 * chooses it), in buf */
#define QID_BUF (AR_LOG_FIELD_MAX + 1)

static const char *
queue_id(SMFICTX *ctx, char buf[QID_BUF])
{
    const char *i = queue_id_or_null(ctx);
    return ar_log_clean(i ? i : "NOQUEUE", buf, QID_BUF);
}

/* smfi_setreply() treats '%' as a format character: double it. */
static void
set_reply(SMFICTX *ctx, const char *code, const char *xcode, const char *text)
{
    char buf[2 * AR_REPLY_TEXT_MAX + 1];
    if (strchr(text, '%')) {
        size_t n = 0;
        for (const char *p = text; *p && n + 2 < sizeof(buf); p++) {
            if (*p == '%')
                buf[n++] = '%';
            buf[n++] = *p;
        }
        buf[n] = '\0';
        text = buf;
    }
    if (smfi_setreply(ctx, (char *)code, (char *)xcode, (char *)text) !=
        MI_SUCCESS) {
        char qid[QID_BUF];
        ar_log(LOG_WARNING, "%s: smfi_setreply(%s %s) failed",
               queue_id(ctx, qid), code, xcode);
    }
}

/* An internal error: follow milter.on_error, never relay unchecked. */
static sfsistat
fail(SMFICTX *ctx, struct ar_conn *c, const char *why)
{
    enum ar_on_error how = AR_ONERR_TEMPFAIL;
    char qid[QID_BUF];
    struct ar_policy *p = c && c->policy ? ar_policy_ref(c->policy)
                                         : ar_snapshot_acquire(&ar_d.snap);
    if (p) {
        how = ar_policy_on_error(p);
        ar_policy_unref(p);
    }
    switch (how) {
    case AR_ONERR_ACCEPT:
        ar_log(LOG_ERR, "%s: internal error (%s): accepting (on_error)",
               queue_id(ctx, qid), why);
        return SMFIS_CONTINUE;
    case AR_ONERR_REJECT:
        ar_log(LOG_ERR, "%s: internal error (%s): rejecting (on_error)",
               queue_id(ctx, qid), why);
        set_reply(ctx, REPLY_REJECT_CODE, REPLY_REJECT_XCODE,
                  REPLY_REJECT_TEXT);
        return SMFIS_REJECT;
    case AR_ONERR_TEMPFAIL:
        break;
    }
    ar_log(LOG_ERR, "%s: internal error (%s): tempfail (on_error)",
           queue_id(ctx, qid), why);
    set_reply(ctx, REPLY_TEMPFAIL_CODE, REPLY_TEMPFAIL_XCODE,
              REPLY_TEMPFAIL_TEXT);
    return SMFIS_TEMPFAIL;
}

/* true the first time only: for warnings logged once per run */
static bool
first_time(atomic_bool *flag)
{
    return !atomic_exchange(flag, true);
}

/* src into dst, cut to size - 1 octets; "" for NULL */
static void
copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static struct ar_conn *
conn_of(SMFICTX *ctx)
{
    struct ar_conn *c = smfi_getpriv(ctx);
    if (c == NULL && (c = ar_conn_new()) != NULL &&
        smfi_setpriv(ctx, c) != MI_SUCCESS) {
        ar_conn_free(c);
        c = NULL;
    }
    return c;
}

/* one log line and one count per decision (the line of
 * authrelay-milter(8), LOGGING); r NULL: the sender-login decision at
 * MAIL FROM, which starts with the sender and has no rcpt=. A recipient's
 * line ends with the inputs a replay needs that the other fields lack:
 * helo= when a HELO was seen, resolve=, and mailer= when the MTA sent
 * {rcpt_mailer}. */
static void
log_decision(const char *qid, const struct ar_conn *c,
             const struct ar_request *r, const struct ar_logged *l)
{
    struct ar_log_part line[21] = {
        {qid, AR_LOG_STR},
        r ? AR_LOG_LIT(": rcpt=") : AR_LOG_LIT(": from="),
        r ? (struct ar_log_part){r->rcpt, AR_LOG_CLEAN}
          : (struct ar_log_part){c->from_log, AR_LOG_STR},
        AR_LOG_LIT(" decision="),
        {l->word, AR_LOG_STR},
        AR_LOG_LIT(" rule="),
        {l->rule, AR_LOG_STR},
        AR_LOG_LIT(" client="),
        {c->client_log, AR_LOG_STR},
        AR_LOG_LIT("["),
        {c->client_addr_text, AR_LOG_STR},
        AR_LOG_LIT("] auth="),
        {c->login_log, AR_LOG_STR}};
    size_t n = 13;
    if (r) {
        line[n++] = AR_LOG_LIT(" from=");
        line[n++] = (struct ar_log_part){c->from_log, AR_LOG_STR};
        if (r->helo) {
            line[n++] = AR_LOG_LIT(" helo=");
            line[n++] = (struct ar_log_part){r->helo, AR_LOG_CLEAN};
        }
        line[n++] = r->client_name_verified ? AR_LOG_LIT(" resolve=ok")
                                            : AR_LOG_LIT(" resolve=no");
        if (r->rcpt_mailer) {
            line[n++] = AR_LOG_LIT(" mailer=");
            line[n++] = (struct ar_log_part){r->rcpt_mailer, AR_LOG_CLEAN};
        }
    }
    ar_log_parts(LOG_INFO, line, n);
    ar_metrics_count(l->word, l->rule);
    if (l->exception)
        ar_metrics_matched(l->rule, time(NULL));
}

/* the transaction's login ({auth_authen}, NULL or "" for none) */
static void
keep_login(struct ar_conn *c, const char *auth)
{
    copy(c->login, sizeof(c->login), auth);
    if (c->login[0])
        ar_log_clean(auth, c->login_log, sizeof(c->login_log));
    else
        strcpy(c->login_log, "-");
}

/* The login where MAIL had none (an MTA may send {auth_authen} with RCPT
 * only): read at the first RCPT of a transaction, kept for the others.
 * The queue id: asked for until there is one -- Postfix has none before
 * the first recipient it accepts (smtpd_delay_open_until_valid_rcpt) --
 * then kept. */
static void
read_rcpt_macros(SMFICTX *ctx, struct ar_conn *c)
{
    const char *i;
    if (!c->qid_known && (i = queue_id_or_null(ctx)) != NULL) {
        ar_log_clean(i, c->qid, sizeof(c->qid)); /* was "NOQUEUE" */
        c->qid_known = true;
    }
    if (c->rcpt_macros_read)
        return;
    c->rcpt_macros_read = true;
    if (c->login[0] == '\0')
        keep_login(c, macro(ctx, "{auth_authen}"));
}

static sfsistat
ar_cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                unsigned long f2, unsigned long f3, unsigned long *pf0,
                unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    /* the steps we do not need, and the replies the MTA need not wait for */
    const unsigned long skip = SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOEOH |
                               SMFIP_NOUNKNOWN | SMFIP_NODATA;
    const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_HELO;
    struct ar_conn *c = conn_of(ctx);

    (void)f2, (void)f3;
    if (c == NULL)
        return SMFIS_ALL_OPTS; /* fail() decides at MAIL and RCPT */
    /* What the policy in force needs: no HELO without helo rules, no
     * answer to MAIL without sender_login. A reload that adds either
     * reaches the connections opened after it (a sender-login refusal
     * then comes at RCPT, and helo conditions see no HELO name). */
    unsigned long want = skip | noreply;
    struct ar_policy *p = ar_snapshot_acquire(&ar_d.snap);
    if (p && !ar_policy_uses_helo(p))
        want |= SMFIP_NOHELO;
    if (p && !ar_policy_checks_sender(p))
        want |= SMFIP_NR_MAIL;
    if (p)
        ar_policy_unref(p);
    *pf0 = f0 & SMFIF_SETSYMLIST;
    *pf1 = f1 & want;
    *pf2 = *pf3 = 0;
    c->proto = *pf1;
    if (f0 & SMFIF_SETSYMLIST) {
        smfi_setsymlist(ctx, SMFIM_CONNECT, MACROS_CONNECT);
        smfi_setsymlist(ctx, SMFIM_ENVFROM, MACROS_ENVFROM);
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, MACROS_ENVRCPT);
    }
    return SMFIS_CONTINUE;
}

static sfsistat
noreply(const struct ar_conn *c, unsigned long flag)
{
    return c && (c->proto & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static bool
bracketed_or_unknown(const char *name)
{
    return name[0] == '\0' || name[0] == '[' || strcmp(name, "unknown") == 0;
}

static sfsistat
ar_cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    struct ar_conn *c = conn_of(ctx);
    if (c == NULL)
        return SMFIS_CONTINUE; /* fail() decides at MAIL and RCPT */
    ar_ip_from_sockaddr(sa, &c->addr);
    ar_ip_format(&c->addr, c->client_addr_text, sizeof(c->client_addr_text));
    copy(c->client_name, sizeof(c->client_name), hostname);
    ar_log_clean(hostname && *hostname ? hostname : "unknown", c->client_log,
                 sizeof(c->client_log));

    /* Sendmail says whether the name is forward-confirmed; Postfix passes
     * only a verified name (else "unknown"). Any other MTA: unverified. */
    const char *resolve = macro(ctx, "{client_resolve}");
    const char *v = macro(ctx, "v");
    if (resolve) {
        c->name_verified = strcmp(resolve, "OK") == 0;
    } else if (v && strncmp(v, "Postfix", 7) == 0) {
        c->name_verified = !bracketed_or_unknown(c->client_name);
    } else {
        c->name_verified = false;
        char version[AR_LOG_FIELD_MAX + 1];
        if (first_time(&ar_d.warned_resolve))
            ar_log(LOG_WARNING,
                   "the MTA sent no {client_resolve} macro at connect (MTA "
                   "version %s): client_hostnames rules will not match. "
                   "Sendmail: add {client_resolve} to "
                   "confMILTER_MACROS_CONNECT",
                   ar_log_clean(v ? v : "unknown", version, sizeof(version)));
    }
    return noreply(c, SMFIP_NR_CONN);
}

static sfsistat
ar_cb_helo(SMFICTX *ctx, char *helo)
{
    struct ar_conn *c = conn_of(ctx);
    if (c) {
        copy(c->helo, sizeof(c->helo), helo);
        c->have_helo = true;
    }
    return noreply(c, SMFIP_NR_HELO);
}

/* a MAIL-time failure: answered now, or at every RCPT when the MTA was
 * told not to wait for our answer to MAIL */
static sfsistat
mail_failed(SMFICTX *ctx, struct ar_conn *c, const char *why)
{
    if (c && (c->proto & SMFIP_NR_MAIL)) {
        c->broken = why;
        return SMFIS_NOREPLY;
    }
    return fail(ctx, c, why);
}

static sfsistat
ar_cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct ar_conn *c = smfi_getpriv(ctx);
    const sfsistat ok =
        c && (c->proto & SMFIP_NR_MAIL) ? SMFIS_NOREPLY : SMFIS_CONTINUE;

    if (c == NULL)
        return fail(ctx, NULL, "no connection state");
    ar_conn_end_transaction(c);
    if ((c->policy = ar_snapshot_acquire(&ar_d.snap)) == NULL)
        return mail_failed(ctx, c, "no policy loaded");
    /* An over-long sender is kept as a routed, domainless marker: it then
     * fails every sender condition and the sender-login binding, where an
     * empty one would pass as the null sender. */
    if (argv[0] && strlen(argv[0]) < sizeof(c->mail_from))
        copy(c->mail_from, sizeof(c->mail_from), argv[0]);
    else if (argv[0])
        copy(c->mail_from, sizeof(c->mail_from), "<!over-long-sender>");
    if (c->mail_from[0]) /* as sent (cut to the field), not the marker */
        ar_log_clean(argv[0], c->from_log, sizeof(c->from_log));
    const char *auth = macro(ctx, "{auth_authen}");
    if (auth && *auth == '\0')
        auth = NULL;
    keep_login(c, auth);
    /* Does the MTA send the MAIL macros at all? Looked at on the first
     * unauthenticated MAIL of each connection; warned about once. */
    if (auth == NULL && !c->mail_macros_checked) {
        c->mail_macros_checked = true;
        if (!atomic_load(&ar_d.warned_mail_macros) &&
            macro(ctx, "{auth_type}") == NULL &&
            macro(ctx, "{mail_addr}") == NULL &&
            first_time(&ar_d.warned_mail_macros))
            ar_log(LOG_WARNING,
                   "the MTA sent none of the MAIL FROM macros authrelay asks "
                   "for (%s): authenticated clients will look "
                   "unauthenticated. Postfix: milter_protocol = 6 and "
                   "milter_mail_macros = i {auth_type} {auth_authen} "
                   "{mail_addr} (or milter_macro_defaults); Sendmail: "
                   "confMILTER_MACROS_ENVFROM must include {auth_authen}",
                   MACROS_ENVFROM);
    }
    if (auth == NULL)
        return ok;

    struct ar_request r = {
        .auth_authen = auth, .mail_from = c->mail_from, .today = ar_today()};
    struct ar_answer a;
    ar_answer_mail(c->policy, &r, &a);
    char qid[QID_BUF];
    for (size_t k = 0; k < a.nlog; k++)
        log_decision(queue_id(ctx, qid), c, NULL, &a.log[k]);
    if (!a.refuse)
        return ok;
    if (ok == SMFIS_NOREPLY) { /* refuse each RCPT instead */
        c->sender_refused = true;
        copy(c->sl_code, sizeof(c->sl_code), a.v.reply->code);
        copy(c->sl_xcode, sizeof(c->sl_xcode), a.v.reply->xcode);
        copy(c->sl_text, sizeof(c->sl_text), a.v.reply->text);
        return ok;
    }
    set_reply(ctx, a.v.reply->code, a.v.reply->xcode, a.v.reply->text);
    return SMFIS_REJECT;
}

static sfsistat
ar_cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct ar_conn *c = smfi_getpriv(ctx);
    struct ar_request r;

    if (c && c->broken)
        return fail(ctx, c, c->broken);
    if (c == NULL || c->policy == NULL)
        return fail(ctx, c, "RCPT outside a transaction");
    if (c->sender_refused) {
        set_reply(ctx, c->sl_code, c->sl_xcode, c->sl_text);
        return SMFIS_REJECT;
    }
    memset(&r, 0, sizeof(r));
    r.client_addr = c->addr;
    r.client_name = c->client_name[0] ? c->client_name : NULL;
    r.client_name_verified = c->name_verified;
    r.helo = c->have_helo ? c->helo : NULL;
    read_rcpt_macros(ctx, c);
    /* cut, as kept: here only its being there counts (the sender-login
     * binding read all of it at MAIL) */
    r.auth_authen = c->login;
    /* r.auth_type is left NULL: no rule reads it */
    r.mail_from = c->mail_from;
    r.rcpt = argv[0] ? argv[0] : "";
    /* read always (one macro lookup): remote_mailers looks at it, and the
     * decision line logs it for a replay under another policy */
    r.rcpt_mailer = macro(ctx, "{rcpt_mailer}");
    r.today = ar_today();

    struct ar_answer a;
    ar_answer_rcpt(c->policy, &r, &a);
    for (size_t k = 0; k < a.nlog; k++)
        log_decision(c->qid, c, &r, &a.log[k]);
    if (!a.refuse)
        return SMFIS_CONTINUE;
    set_reply(ctx, a.v.reply->code, a.v.reply->xcode, a.v.reply->text);
    return a.v.decision == AR_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
ar_cb_abort(SMFICTX *ctx)
{
    struct ar_conn *c = smfi_getpriv(ctx);
    if (c)
        ar_conn_end_transaction(c);
    return SMFIS_CONTINUE;
}

static sfsistat
ar_cb_close(SMFICTX *ctx)
{
    /* this may be the only callback a connection gets */
    ar_conn_free(smfi_getpriv(ctx));
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

struct smfiDesc ar_filter = {
    .xxfi_name = "authrelay",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0, /* we never modify a message */
    .xxfi_connect = ar_cb_connect,
    .xxfi_helo = ar_cb_helo,
    .xxfi_envfrom = ar_cb_envfrom,
    .xxfi_envrcpt = ar_cb_envrcpt,
    .xxfi_abort = ar_cb_abort,
    .xxfi_close = ar_cb_close,
    .xxfi_negotiate = ar_cb_negotiate,
};
