/* conn.c - per-connection state; see conn.h */
#include "conn.h"

#include <stdlib.h>
#include <string.h>

struct ar_conn *
ar_conn_new(void)
{
    struct ar_conn *c = calloc(1, sizeof(*c));
    if (c) {
        strcpy(c->client_addr_text, "unknown");
        strcpy(c->client_log, "unknown");
        strcpy(c->from_log, "<>");
        strcpy(c->login_log, "-");
    }
    return c;
}

void
ar_conn_end_transaction(struct ar_conn *c)
{
    if (c->policy)
        ar_policy_unref(c->policy);
    c->policy = NULL;
    c->mail_from[0] = '\0';
    strcpy(c->from_log, "<>");
    c->broken = NULL;
    c->sender_refused = false;
    c->rcpt_macros_read = false;
    c->qid_known = false;
    c->login[0] = '\0';
    strcpy(c->login_log, "-");
}

void
ar_conn_free(struct ar_conn *c)
{
    if (c == NULL)
        return;
    ar_conn_end_transaction(c);
    free(c);
}
