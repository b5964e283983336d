/* tool.h - the subcommands of authrelay-policy that live in files of
 * their own; each gets argv from its own name on and returns the exit
 * status */
#ifndef AR_TOOL_H
#define AR_TOOL_H

#define EX_USAGE_TOOL 2

/* replay [-c FILE] LOG... */
int ar_cmd_replay(const char *path, int argc, char **argv);

#endif
