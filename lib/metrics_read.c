/* metrics_read.c - read last-match times from a metrics file */
#include "metrics_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ar_metrics_read_last_match(const char *path,
                           void (*fn)(const char *rule, double ts, void *ctx),
                           void *ctx)
{
    static const char prefix[] = AR_METRIC_LAST_MATCH "{rule=\"";
    FILE *f = fopen(path, "r");
    char line[1024];
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
            continue;
        char *name = line + sizeof(prefix) - 1;
        char *end = strstr(name, "\"}");
        if (end == NULL || end == name)
            continue;
        *end = '\0';
        char *num = end + 2, *stop;
        double ts = strtod(num, &stop);
        if (stop != num)
            fn(name, ts, ctx);
    }
    fclose(f);
    return 0;
}
