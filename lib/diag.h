/*
 * diag.h - a list of diagnostics (errors and warnings) with file and line.
 *
 * The policy loader and linter report every problem they find, not just the
 * first, as "FILE:LINE: message". A list owns copies of all its strings.
 * Not thread-safe: one list per caller. An allocation failure while adding
 * sets `oom` and counts as an error, so a failed load is never mistaken for
 * a clean one.
 */
#ifndef AR_DIAG_H
#define AR_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ar_diag {
    char *file;    /* may be NULL when no file is involved */
    unsigned line; /* 0 when unknown */
    bool warning;
    char *msg;
};

struct ar_diags {
    struct ar_diag *v;
    size_t n, cap;
    size_t nerrors;
    size_t nwarnings;
    bool oom;
};

void ar_diags_init(struct ar_diags *d);
void ar_diags_free(struct ar_diags *d);
void ar_diag_error(struct ar_diags *d, const char *file, unsigned line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ar_diag_warn(struct ar_diags *d, const char *file, unsigned line,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* ar_diag_format - "FILE:LINE: msg" (warnings get "warning: ") into buf */
void ar_diag_format(const struct ar_diag *g, char *buf, size_t size);
/* ar_diags_print - every diagnostic as ar_diag_format() has it: a line to
 * f unless f is NULL, and to log (with whether it is a warning) unless
 * log is NULL; the one printer of the daemon and the tool */
void ar_diags_print(const struct ar_diags *d, FILE *f,
                    void (*log)(bool warning, const char *line));

#endif
