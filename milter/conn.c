/* conn.c - per-connection state; see conn.h */
#include "conn.h"

#include <stdlib.h>
#include <string.h>

/* Not calloc(): the state is some 3 kB of buffers, each a string that
 * only its first octet needs to start; a new connection pays for the
 * fields, not for zeroing it all. */
struct ar_conn *
ar_conn_new(void)
{
    struct ar_conn *c = malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    c->proto = 0;
    c->addr = (struct ar_ip){.valid = false};
    c->client_name[0] = '\0';
    strcpy(c->client_addr_text, "unknown");
    strcpy(c->client_log, "unknown");
    c->name_verified = c->have_helo = c->mail_macros_checked = false;
    c->helo[0] = '\0';
    c->sl_code[0] = c->sl_xcode[0] = c->sl_text[0] = '\0';
    c->policy = NULL;
    ar_conn_end_transaction(c); /* the transaction's fields */
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
    strcpy(c->qid, "NOQUEUE");
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
