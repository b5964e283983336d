/* tool.h - the subcommands of authrelay-policy that live in files of
 * their own; each gets argv from its own name on and returns the exit
 * status */
#ifndef AR_TOOL_H
#define AR_TOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "policy.h"

#define EX_USAGE_TOOL 2

/* ar_tool_print_diags - every diagnostic on stderr, a line each */
void ar_tool_print_diags(const struct ar_diags *d);
/* ar_tool_load - the policy, or NULL with its errors on stderr (and its
 * warnings too if show_warnings) */
struct ar_policy *ar_tool_load(const char *path, int64_t today,
                               bool show_warnings);

/* replay [-c FILE] LOG... */
int ar_cmd_replay(const char *path, int argc, char **argv);
/* diff [--cases FILE]... OLD NEW */
int ar_cmd_diff(int argc, char **argv);

#endif
