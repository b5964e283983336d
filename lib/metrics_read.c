/* metrics_read.c - read last-match times from a metrics file */
#include "metrics_read.h"

#include <stdlib.h>
#include <string.h>

int
ar_metrics_read_last_match(const char *path, int flags,
                           void (*fn)(const char *rule, double ts, void *ctx),
                           void *ctx, char *why, size_t whysize)
{
    static const char prefix[] = AR_METRIC_LAST_MATCH "{rule=\"";
    char *text;
    size_t len;
    int rc = ar_file_read(path, flags, AR_METRICS_READ_MAX, &text, &len, NULL,
                          why, whysize);
    if (rc < 0)
        return rc;
    for (char *line = text, *end = text + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *next = nl ? nl + 1 : end;
        if (nl)
            *nl = '\0';
        if (strncmp(line, prefix, sizeof(prefix) - 1) == 0) {
            char *name = line + sizeof(prefix) - 1;
            char *q = strstr(name, "\"}");
            if (q && q != name) {
                *q = '\0';
                char *num = q + 2, *stop;
                double ts = strtod(num, &stop);
                if (stop != num)
                    fn(name, ts, ctx);
            }
        }
        line = next;
    }
    free(text);
    return 0;
}
