/*
 * loader.h - what the three parts of the policy loader share: the state
 * of a load, the key tables' shape, and the helpers every section uses.
 * Private to lib/ (policy_load.c: files, locations, lists, the key
 * machinery and the entry points; load_sections.c: replies, named values
 * and the milter, relay, sender_login and root sections;
 * load_exceptions.c: the exceptions and their match).
 */
#ifndef AR_LOADER_H
#define AR_LOADER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fileio.h"
#include "policy_int.h"

#define AR_DEFAULT_REPLY_TEXT "Relay access denied"
#define QUOTE_MAX 20 /* of a bad entry, octets quoted in messages */
#define QUOTE_SIZE (2 + QUOTE_MAX * 4 + 3 + 1)

/* a file read, to see at the end that it did not change since */
struct read_file {
    const char *path; /* interned */
    struct ar_file_id id;
};

struct loader {
    struct ar_diags *d;
    struct ar_policy *p;
    const char *path; /* interned main file name */
    char *dir;        /* directory of the main file, for relative paths */
    int64_t today;
    char **lines; /* main file text split in lines, for finding entries */
    size_t nlines;
    char *text;
    struct read_file *read; /* every file read */
    size_t nread;
};

/*
 * A section's keys, in the order they are read (and their errors found).
 * A key not in its section's table is an error; a present key of the
 * wrong type is one too, and its handler is not called; a key with
 * `missing` set is required, and its absence is reported as
 * "WHAT MISSING". A NULL handler: the section reads that key itself.
 * Type 0: any type, the handler checks it.
 */
struct key {
    const char *name;
    int type;
    const char *missing;
    void (*load)(struct loader *ld, const config_setting_t *s, void *ctx);
};

/* a named value of an enumerated key (mode, on_error, action...) */
struct choice {
    const char *name;
    int value;
};

/* one list entry, from the policy or from a file; where = file and line */
typedef int (*entry_fn)(struct loader *, const char *entry, const char *file,
                        unsigned line, void *ctx, const char **why);

/* a domain list being filled, with the entry forms it allows */
struct domctx {
    struct ar_domainset *set;
    unsigned flags;
};

/* a network list being gathered */
struct netctx {
    struct ar_cidr *v;
    size_t n, cap;
};

/* an error at s's file and line */
void ld_err(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *ld_file_of(struct loader *ld, const config_setting_t *s);
/* a copy, or NULL and an "out of memory" error */
char *ld_strdup(struct loader *ld, const char *s);
const char *ld_type_name(int type);
/* the member key of g with the given type; NULL when absent or mistyped
 * (said) */
config_setting_t *ld_member(struct loader *ld, const config_setting_t *g,
                            const char *key, int type, const char *what);
/* a string member copied into *out; -1 on a type error */
int ld_get_string(struct loader *ld, const config_setting_t *g, const char *key,
                  const char *what, char **out);
/* the string elements of an array, each given to fn */
void ld_each_string(struct loader *ld, const config_setting_t *arr,
                    const char *what,
                    void (*fn)(struct loader *, const config_setting_t *,
                               const char *, void *),
                    void *ctx);
/* every entry of every file an array names, each given to fn */
void ld_each_file(struct loader *ld, const config_setting_t *arr,
                  const char *what, entry_fn fn, void *ctx);
int ld_add_domain(struct loader *ld, const char *entry, const char *file,
                  unsigned line, void *ctx, const char **why);
void ld_add_domain_setting(struct loader *ld, const config_setting_t *e,
                           const char *v, void *ctx);
int ld_add_net(struct loader *ld, const char *entry, const char *file,
               unsigned line, void *ctx, const char **why);
void ld_add_net_setting(struct loader *ld, const config_setting_t *e,
                        const char *v, void *ctx);
/* every key of g is in keys; false after saying which are not */
bool ld_check_keys(struct loader *ld, const config_setting_t *g,
                   const char *what, const struct key *keys);
/* the group g read by its table: what names it in messages */
void ld_load_keys(struct loader *ld, const config_setting_t *g,
                  const char *what, const struct key *keys, void *ctx);

/* a bad entry as messages quote it, into buf[QUOTE_SIZE] */
const char *ld_quote(const char *s, size_t n, char *buf);

/* load_sections.c */
/* a reply group into *r; classes: the allowed first digits ("5", "45") */
bool ld_load_reply(struct loader *ld, const config_setting_t *g,
                   const char *what, const char *classes, struct ar_reply *r);
bool ld_copy_reply(struct loader *ld, struct ar_reply *dst,
                   const struct ar_reply *src);
/* s's string as one of the choices; -1 after an error naming label */
int ld_get_choice(struct loader *ld, const config_setting_t *s,
                  const char *label, const struct choice *c);
/* the whole configuration */
void ld_load_root(struct loader *ld, config_t *cf);

/* load_exceptions.c */
void ld_load_exceptions(struct loader *ld, const config_setting_t *l,
                        void *ctx);

#endif
