/*
 * miltercheck - ask a running authrelay-milter about recipients, as an
 * MTA would: one session over the real socket, one line per recipient.
 * usage: miltercheck -s SOCKET [-a ADDR] [-n NAME] [-l LOGIN] [-f FROM]
 *                    [-H HELO] [-r RESOLVE] [-m MAILER] RCPT...
 * HELO defaults to NAME, {client_resolve} to OK; -m sends {rcpt_mailer}.
 * Prints "RCPT continue" or "RCPT CODE XCODE TEXT"; exit 0 when every
 * step got an answer, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtaclient.h"

int
main(int argc, char **argv)
{
    const char *sock = NULL, *addr = "192.0.2.99", *name = "client.test",
               *login = NULL, *from = "<sender@remote.test>", *helo = NULL,
               *resolve = "OK", *mailer = NULL;
    int c;
    while ((c = getopt(argc, argv, "s:a:n:l:f:H:r:m:")) != -1) {
        switch (c) {
        case 's':
            sock = optarg;
            break;
        case 'a':
            addr = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'l':
            login = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'H':
            helo = optarg;
            break;
        case 'r':
            resolve = optarg;
            break;
        case 'm':
            mailer = optarg;
            break;
        default:
            sock = NULL;
            optind = argc;
        }
    }
    if (sock == NULL || optind == argc) {
        fprintf(stderr, "usage: miltercheck -s SOCKET [-a ADDR] [-n NAME] "
                        "[-l LOGIN] [-f FROM] [-H HELO] [-r RESOLVE] "
                        "[-m MAILER] RCPT...\n");
        return 64;
    }
    struct mc m;
    struct mc_reply r;
    if (mc_open(&m, sock) < 0 || mc_negotiate(&m) < 0) {
        fprintf(stderr, "miltercheck: no milter answers on %s\n", sock);
        return 1;
    }
    mc_macros(&m, 'C', "{client_resolve}", resolve, "j", "miltercheck", NULL);
    if (mc_connect(&m, name, strchr(addr, ':') ? '6' : '4', addr, &r) < 0)
        return 1;
    mc_helo(&m, helo ? helo : name, &r);
    if (login)
        mc_macros(&m, 'M', "{auth_authen}", login, "{auth_type}", "PLAIN",
                  "{mail_addr}", from, NULL);
    else
        mc_macros(&m, 'M', "{mail_addr}", from, NULL);
    if (mc_mail(&m, from, &r) < 0)
        return 1;
    if (r.cmd != 'c') {
        printf("MAIL %s %s\n", from, r.cmd == 'y' ? r.text : "refused");
        return 0;
    }
    for (int i = optind; i < argc; i++) {
        if (mailer)
            mc_macros(&m, 'R', "{rcpt_mailer}", mailer, NULL);
        if (mc_rcpt(&m, argv[i], &r) < 0)
            return 1;
        printf("%s %s\n", argv[i], r.cmd == 'c' ? "continue" : r.text);
    }
    mc_quit(&m);
    mc_close(&m);
    return 0;
}
