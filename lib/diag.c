/* diag.c - diagnostics list; see diag.h */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ar_diags_init(struct ar_diags *d)
{
    memset(d, 0, sizeof(*d));
}

void
ar_diags_free(struct ar_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
    }
    free(d->v);
    ar_diags_init(d);
}

static void add(struct ar_diags *d, const char *file, unsigned line,
                bool warning, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void
add(struct ar_diags *d, const char *file, unsigned line, bool warning,
    const char *fmt, va_list ap)
{
    char buf[1024];

    if (warning)
        d->nwarnings++;
    else
        d->nerrors++;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        struct ar_diag *nv = realloc(d->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            d->oom = true;
            return;
        }
        d->v = nv;
        d->cap = ncap;
    }
    vsnprintf(buf, sizeof(buf), fmt, ap);
    struct ar_diag *g = &d->v[d->n];
    g->file = file ? strdup(file) : NULL;
    g->msg = strdup(buf);
    g->line = line;
    g->warning = warning;
    if (g->msg == NULL || (file && g->file == NULL)) {
        free(g->file);
        free(g->msg);
        d->oom = true;
        return;
    }
    d->n++;
}

void
ar_diag_error(struct ar_diags *d, const char *file, unsigned line,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, file, line, false, fmt, ap);
    va_end(ap);
}

void
ar_diag_warn(struct ar_diags *d, const char *file, unsigned line,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, file, line, true, fmt, ap);
    va_end(ap);
}

void
ar_diag_format(const struct ar_diag *g, char *buf, size_t size)
{
    const char *kind = g->warning ? "warning: " : "";

    if (g->file && g->line)
        snprintf(buf, size, "%s:%u: %s%s", g->file, g->line, kind, g->msg);
    else if (g->file)
        snprintf(buf, size, "%s: %s%s", g->file, kind, g->msg);
    else
        snprintf(buf, size, "%s%s", kind, g->msg);
}

void
ar_diags_print(const struct ar_diags *d, FILE *f,
               void (*log)(bool warning, const char *line))
{
    char buf[1400];
    for (size_t i = 0; i < d->n; i++) {
        ar_diag_format(&d->v[i], buf, sizeof(buf));
        if (f)
            fprintf(f, "%s\n", buf);
        if (log)
            log(d->v[i].warning, buf);
    }
}
