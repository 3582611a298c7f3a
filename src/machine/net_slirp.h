/* User-mode networking through libslirp, as QEMU's "-netdev user": the
 * guest sits on 10.0.2.0/24 behind a NAT, gets 10.0.2.15 by DHCP, reaches
 * the host's loopback at the gateway 10.0.2.2 and DNS at 10.0.2.3; host
 * ports can be forwarded to guest ports. No root, no host configuration.
 *
 * Slirp runs in the board's thread: the board adds its sockets to the
 * poll set it sleeps on (net_slirp_fill) and lets it handle them
 * (net_slirp_dispatch), and it delivers frames to the guest through rx. */
#ifndef RINGVM_NET_SLIRP_H
#define RINGVM_NET_SLIRP_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct net_slirp;

/* fwd: n QEMU hostfwd rules "tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT".
 * Returns NULL with a message. */
struct net_slirp *net_slirp_new(char *const *fwd, int n, void (*rx)(void *opaque, const uint8_t *frame, size_t len),
				void *opaque, char *err, size_t errlen);
void net_slirp_free(struct net_slirp *s);
/* A frame from the guest. */
void net_slirp_send(void *s, const uint8_t *frame, size_t len);
/* Add the sockets to watch to pfd (at most max; returns how many) and
 * lower *timeout_ms (-1: none) to slirp's next timer. */
int net_slirp_fill(struct net_slirp *s, struct pollfd *pfd, int max, int *timeout_ms);
/* After poll (pfd and n as net_slirp_fill gave them): handle the
 * sockets and due timers. */
void net_slirp_dispatch(struct net_slirp *s, struct pollfd *pfd, int n);

/* Check one hostfwd rule: 0, or -1 with a message (for the CLI). */
int net_slirp_parse_fwd(const char *rule, int *udp, struct in_addr *haddr, int *hport, struct in_addr *gaddr,
			int *gport, char *err, size_t errlen);

#endif
