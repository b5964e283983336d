/* mtaclient.c - MTA side of the milter protocol; see mtaclient.h */
#define _GNU_SOURCE
#include "mtaclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MILTER_VERSION 6
#define OFFER_ACTIONS 0x1ffu  /* every action, incl. SMFIF_SETSYMLIST */
#define OFFER_PROTO 0x1fffffu /* every protocol step and no-reply flag */
#define NR_CONN 0x1000u
#define NR_HELO 0x2000u
#define NR_MAIL 0x4000u
#define NR_RCPT 0x8000u

int
mc_open(struct mc *m, const char *spec)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    m->timeout_ms = 10000;
    const char *path = NULL;
    if (strncmp(spec, "unix:", 5) == 0)
        path = spec + 5;
    else if (strncmp(spec, "local:", 6) == 0)
        path = spec + 6;
    if (path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        if ((m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return -1;
        if (connect(m->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
            goto fail;
        return 0;
    }
    const char *colon = strchr(spec, ':'), *at = strchr(spec, '@');
    if (colon == NULL || at == NULL)
        return -1;
    char port[16], host[128];
    snprintf(port, sizeof(port), "%.*s", (int)(at - colon - 1), colon + 1);
    snprintf(host, sizeof(host), "%s", at + 1);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    hints.ai_family = strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 : AF_INET;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = m->fd < 0 ? -1 : connect(m->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0)
        goto fail;
    int one = 1; /* as Postfix: no Nagle delay between packets */
    setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
fail:
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    return -1;
}

void
mc_close(struct mc *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

static int
write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
read_all(struct mc *m, void *buf, size_t len)
{
    char *p = buf;
    if (mc_flush(m) < 0)
        return -1;
    while (len > 0) {
        struct pollfd pfd = {.fd = m->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, m->timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1; /* timeout or error */
        ssize_t n = read(m->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
mc_flush(struct mc *m)
{
    size_t n = m->outlen;
    m->outlen = 0;
    return n ? write_all(m->fd, m->out, n) : 0;
}

int
mc_send(struct mc *m, char cmd, const void *data, size_t len)
{
    if (m->batch && m->outlen + len + 5 > sizeof(m->out) && mc_flush(m) < 0)
        return -1;
    bool held = m->batch && len + 5 <= sizeof(m->out);
    char stackbuf[4096];
    char *buf = held                          ? m->out + m->outlen
                : len + 5 <= sizeof(stackbuf) ? stackbuf
                                              : malloc(len + 5);
    if (buf == NULL)
        return -1;
    uint32_t n = htonl((uint32_t)len + 1);
    memcpy(buf, &n, 4);
    buf[4] = cmd;
    if (len)
        memcpy(buf + 5, data, len);
    if (held) {
        m->outlen += len + 5;
        return 0;
    }
    int rc = write_all(m->fd, buf, len + 5); /* one write a packet */
    if (buf != stackbuf)
        free(buf);
    return rc;
}

static int
read_packet(struct mc *m, char *cmd, char *data, size_t size, size_t *len)
{
    uint32_t n;
    if (read_all(m, &n, 4) < 0)
        return -1;
    n = ntohl(n);
    if (n == 0 || n - 1 > size)
        return -1;
    if (read_all(m, cmd, 1) < 0)
        return -1;
    if (n > 1 && read_all(m, data, n - 1) < 0)
        return -1;
    *len = n - 1;
    return 0;
}

int
mc_read_reply(struct mc *m, struct mc_reply *r)
{
    char data[2048];
    size_t len;
    do {
        if (read_packet(m, &r->cmd, data, sizeof(data) - 1, &len) < 0)
            return -1;
    } while (r->cmd == 'p');
    data[len] = '\0';
    snprintf(r->text, sizeof(r->text), "%.1000s", r->cmd == 'y' ? data : "");
    return 0;
}

int
mc_negotiate(struct mc *m)
{
    uint32_t v[3] = {htonl(MILTER_VERSION), htonl(OFFER_ACTIONS),
                     htonl(OFFER_PROTO)};
    char data[2048], cmd;
    size_t len;
    if (mc_send(m, 'O', v, sizeof(v)) < 0 ||
        read_packet(m, &cmd, data, sizeof(data), &len) < 0 || cmd != 'O' ||
        len < 12)
        return -1;
    memcpy(v, data, 12);
    m->version = ntohl(v[0]);
    m->actions = ntohl(v[1]);
    m->proto = ntohl(v[2]);
    /* then: uint32 stage, NUL-terminated macro list, repeated */
    for (size_t off = 12; off + 5 <= len;) {
        uint32_t stage;
        memcpy(&stage, data + off, 4);
        stage = ntohl(stage);
        off += 4;
        size_t sl = strnlen(data + off, len - off);
        if (stage < MC_STAGES)
            snprintf(m->symlist[stage], sizeof(m->symlist[stage]), "%.*s",
                     (int)sl, data + off);
        off += sl + 1;
    }
    return 0;
}

int
mc_macrov(struct mc *m, char stage, const char *const *nv, size_t n)
{
    char buf[16384]; /* room for a 10 kB value (the log tests) */
    size_t len = 0;
    buf[len++] = stage;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(nv[i]) + 1;
        if (len + l > sizeof(buf))
            return -1;
        memcpy(buf + len, nv[i], l);
        len += l;
    }
    return mc_send(m, 'D', buf, len);
}

int
mc_macros(struct mc *m, char stage, ...)
{
    const char *nv[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, stage);
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL && n < 64)
        nv[n++] = s;
    va_end(ap);
    return s == NULL ? mc_macrov(m, stage, nv, n) : -1;
}

/* send and, unless the filter waived its reply, read it */
static int
step(struct mc *m, char cmd, const char *buf, size_t n, uint32_t nr_flag,
     struct mc_reply *r)
{
    struct mc_reply dummy;
    if (mc_send(m, cmd, buf, n) < 0)
        return -1;
    if (m->proto & nr_flag) {
        if (r) {
            r->cmd = 'c';
            r->text[0] = '\0';
        }
        return 0;
    }
    return mc_read_reply(m, r ? r : &dummy);
}

int
mc_connect(struct mc *m, const char *host, char family, const char *addr,
           struct mc_reply *r)
{
    char buf[16384]; /* room for a 10 kB name (the log tests) */
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", host) + 1;
    buf[n++] = family;
    if (family != 'U') {
        uint16_t port = htons(25000);
        memcpy(buf + n, &port, 2);
        n += 2;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", addr) + 1;
    }
    return step(m, 'C', buf, n, NR_CONN, r);
}

int
mc_helo(struct mc *m, const char *helo, struct mc_reply *r)
{
    return step(m, 'H', helo, strlen(helo) + 1, NR_HELO, r);
}

int
mc_mail(struct mc *m, const char *from, struct mc_reply *r)
{
    return step(m, 'M', from, strlen(from) + 1, NR_MAIL, r);
}

int
mc_rcpt(struct mc *m, const char *rcpt, struct mc_reply *r)
{
    return step(m, 'R', rcpt, strlen(rcpt) + 1, NR_RCPT, r);
}

int
mc_abort(struct mc *m)
{
    return mc_send(m, 'A', NULL, 0);
}

int
mc_quit(struct mc *m)
{
    return mc_send(m, 'Q', NULL, 0) < 0 ? -1 : mc_flush(m);
}
