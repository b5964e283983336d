/*
 * fake_smfi.c - the stand-ins of fake_smfi.h.
 */
#include "fake_smfi.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void
fake_ctx_init(SMFICTX *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
}

void
fake_macros(SMFICTX *ctx, enum fake_stage stage, const char *const *pairs)
{
    int n = 0;
    for (int s = stage; s < FAKE_STAGES; s++)
        ctx->macro[s][0] = NULL;
    while (pairs && n < 2 * FAKE_MACROS && pairs[n]) {
        ctx->macro[stage][n] = pairs[n];
        n++;
    }
    ctx->macro[stage][n] = NULL;
}

/* "{x}" and "x" are the same macro, as libmilter has it */
static bool
same_macro(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 2 && a[0] == '{' && a[la - 1] == '}')
        a++, la -= 2;
    if (lb > 2 && b[0] == '{' && b[lb - 1] == '}')
        b++, lb -= 2;
    return la == lb && strncmp(a, b, la) == 0;
}

/* the latest stage's value first, as libmilter looks them up */
char *
smfi_getsymval(SMFICTX *ctx, char *name)
{
    for (int s = FAKE_STAGES - 1; s >= 0; s--)
        for (int i = 0; ctx->macro[s][i]; i += 2)
            if (same_macro(ctx->macro[s][i], name))
                return (char *)ctx->macro[s][i + 1];
    return NULL;
}

/* checks like libmilter's: a 4xx or 5xx code, an xcode of the same
 * class, no line break, a reply that fits */
int
smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
    if (ctx->fail_setreply || rcode == NULL || strlen(rcode) != 3 ||
        (rcode[0] != '4' && rcode[0] != '5') ||
        (xcode && xcode[0] != rcode[0]) ||
        (message && strpbrk(message, "\r\n")))
        return MI_FAILURE;
    int n = snprintf(ctx->reply, sizeof(ctx->reply), "%s %s %s", rcode,
                     xcode ? xcode : (rcode[0] == '4' ? "4.0.0" : "5.0.0"),
                     message ? message : "");
    if (n < 0 || (size_t)n >= sizeof(ctx->reply))
        return MI_FAILURE;
    ctx->replies++;
    return MI_SUCCESS;
}

void *
smfi_getpriv(SMFICTX *ctx)
{
    return ctx->priv;
}

int
smfi_setpriv(SMFICTX *ctx, void *priv)
{
    if (ctx->fail_setpriv)
        return MI_FAILURE;
    ctx->priv = priv;
    return MI_SUCCESS;
}

int
smfi_setsymlist(SMFICTX *ctx, int stage, char *macros)
{
    if (stage < 0 || stage > SMFIM_EOM)
        return MI_FAILURE;
    snprintf(ctx->symlist[stage], sizeof(ctx->symlist[stage]), "%s", macros);
    return MI_SUCCESS;
}

/* ---- the log ------------------------------------------------------------- */

static char text[1 << 16];
static size_t len;

const char *
fake_log(void)
{
    return text;
}

void
fake_log_reset(void)
{
    len = 0;
    text[0] = '\0';
}

static void keep(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static void
keep(const char *fmt, va_list ap)
{
    if (len + 2 >= sizeof(text))
        return;
    int n = vsnprintf(text + len, sizeof(text) - len - 1, fmt, ap);
    len += n < 0 ? 0 : (size_t)n;
    if (len > sizeof(text) - 2)
        len = sizeof(text) - 2;
    text[len++] = '\n';
    text[len] = '\0';
}

void
ar_log(int prio, const char *fmt, ...)
{
    va_list ap;
    (void)prio;
    va_start(ap, fmt);
    keep(fmt, ap);
    va_end(ap);
}

void
ar_log_syslog(int prio, const char *fmt, ...)
{
    va_list ap;
    (void)prio;
    va_start(ap, fmt);
    keep(fmt, ap);
    va_end(ap);
}

/* the parts as log.c joins them (lines here are shorter than its room) */
void
ar_log_parts(int prio, const struct ar_log_part *p, size_t n)
{
    char line[4096], field[AR_LOG_FIELD_MAX + 1];
    size_t k = 0;
    (void)prio;
    for (size_t i = 0; i < n; i++) {
        const char *s = p[i].s ? p[i].s : "";
        size_t m = p[i].len;
        if (m == AR_LOG_CLEAN)
            s = ar_log_clean(s, field, sizeof(field)), m = strlen(s);
        else if (m == AR_LOG_STR)
            m = strlen(s);
        if (k + m >= sizeof(line))
            m = sizeof(line) - 1 - k;
        memcpy(line + k, s, m);
        k += m;
    }
    line[k] = '\0';
    ar_log(prio, "%s", line);
}

/* libmilter's reader of its stop flag (metrics.c's thread asks): no
 * stop in these tests */
int mi_stop(void);

int
mi_stop(void)
{
    return 0;
}
