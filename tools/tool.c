/* tool.c - what the subcommands of authrelay-policy share (tool.h); a
 * file of its own so that they do not call back into main's file */
#include <stdio.h>

#include "tool.h"

void
ar_tool_print_diags(const struct ar_diags *d)
{
    ar_diags_print(d, stderr, NULL);
    if (d->oom)
        fprintf(stderr, "out of memory\n");
}

struct ar_policy *
ar_tool_load(const char *path, int64_t today, bool show_warnings)
{
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, today, &d);
    if (p == NULL || show_warnings)
        ar_tool_print_diags(&d);
    ar_diags_free(&d);
    return p;
}
