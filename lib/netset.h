/*
 * netset.h - client addresses and sets of IPv4/IPv6 networks.
 *
 * Every address is held as 128 bits: IPv4 as the IPv4-mapped IPv6 address
 * ::ffff:a.b.c.d, so that an IPv4-mapped client matches IPv4 entries and an
 * IPv4 /n network is the IPv6 /(96+n) network. A set is a sorted array of
 * merged ranges searched by bisection (O(log n)). It keeps the entries it
 * was built from, with their source lines, for the linter. Immutable once
 * built; share freely.
 */
#ifndef AR_NETSET_H
#define AR_NETSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

__extension__ typedef unsigned __int128 ar_u128;

struct ar_ip {
    bool valid; /* false: unknown client, matches no network */
    ar_u128 a;
};

struct ar_cidr {
    ar_u128 lo, hi;   /* first and last address of the network */
    unsigned prefix;  /* as written: 0..32 for IPv4, 0..128 for IPv6 */
    bool v4;          /* written as an IPv4 network */
    const char *file; /* where it came from (owned by the policy) */
    unsigned line;
};

/* ar_ip_parse - textual IPv4 or IPv6 address; -1 if malformed */
int ar_ip_parse(const char *s, struct ar_ip *ip);
/* ar_ip_from_sockaddr - AF_INET/AF_INET6; any other family is unknown */
void ar_ip_from_sockaddr(const struct sockaddr *sa, struct ar_ip *ip);
/* ar_ip_format - address as text (IPv4-mapped shown as IPv4) */
void ar_ip_format(const struct ar_ip *ip, char *buf, size_t size);

/* ar_cidr_parse - "192.0.2.0/24", "2001:db8::/32" or a host address;
 * host bits set are an error. -1 with *why set on error. */
int ar_cidr_parse(const char *s, struct ar_cidr *c, const char **why);
/* ar_cidr_format - the network as text */
void ar_cidr_format(const struct ar_cidr *c, char *buf, size_t size);

struct ar_netset;

/* ar_netset_new - build a set from n entries (copied); NULL on no memory */
struct ar_netset *ar_netset_new(const struct ar_cidr *v, size_t n);
void ar_netset_free(struct ar_netset *s);
bool ar_netset_contains(const struct ar_netset *s, const struct ar_ip *ip);
/* ar_netset_covers - every address of c is in the set */
bool ar_netset_covers(const struct ar_netset *s, const struct ar_cidr *c);
size_t ar_netset_count(const struct ar_netset *s);
/* ar_netset_entries - the entries, sorted by first address */
const struct ar_cidr *ar_netset_entries(const struct ar_netset *s);

#endif
