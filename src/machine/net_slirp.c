/* User-mode networking through libslirp (see net_slirp.h). */
#include "machine/net_slirp.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slirp/libslirp.h>

#define MAX_TIMERS 8
#define MAX_FDS 64

struct slirp_timer {
	bool used, armed;
	int64_t expire_ms;
	SlirpTimerCb cb;
	void *cb_opaque;
};

struct net_slirp {
	Slirp *slirp;
	void (*rx)(void *opaque, const uint8_t *frame, size_t len);
	void *rx_opaque;
	struct slirp_timer timer[MAX_TIMERS];
	/* The poll set of the last fill: where slirp's indices point. */
	struct pollfd *pfd;
	int npfd, max;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t cb_send(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	s->rx(s->rx_opaque, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "ringvm: slirp: %s\n", msg);
}

static int64_t cb_clock(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	for (int i = 0; i < MAX_TIMERS; i++) {
		if (!s->timer[i].used) {
			s->timer[i] = (struct slirp_timer){ true, false, 0, cb, cb_opaque };
			return &s->timer[i];
		}
	}
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	struct slirp_timer *t = timer;
	if (!t)
		return;
	t->armed = true;
	t->expire_ms = expire_ms;
}

static void cb_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb callbacks = {
	.send_packet = cb_send,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_fd,
	.unregister_poll_fd = cb_fd,
	.notify = cb_notify,
};

static int parse_port(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* "[ADDR]:PORT" of length n: 0 or -1. */
static int parse_endpoint(const char *s, size_t n, struct in_addr *addr, int *port)
{
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return -1;
	size_t alen = (size_t)(colon - s);
	addr->s_addr = 0;
	if (alen) {
		char a[INET_ADDRSTRLEN];
		if (alen >= sizeof(a))
			return -1;
		memcpy(a, s, alen);
		a[alen] = 0;
		if (inet_pton(AF_INET, a, addr) != 1)
			return -1;
	}
	*port = parse_port(colon + 1, n - alen - 1);
	return *port < 0 ? -1 : 0;
}

int net_slirp_parse_fwd(const char *rule, int *udp, struct in_addr *haddr, int *hport, struct in_addr *gaddr,
			int *gport, char *err, size_t errlen)
{
	const char *p = rule;
	*udp = 0;
	if (!strncmp(p, "tcp:", 4)) {
		p += 4;
	} else if (!strncmp(p, "udp:", 4)) {
		p += 4;
		*udp = 1;
	} else if (*p == ':') {
		p += 1; /* QEMU: the protocol defaults to tcp */
	} else {
		goto bad;
	}
	const char *dash = strchr(p, '-');
	if (!dash || parse_endpoint(p, (size_t)(dash - p), haddr, hport) < 0 ||
	    parse_endpoint(dash + 1, strlen(dash + 1), gaddr, gport) < 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "hostfwd '%s': expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", rule);
	return -1;
}

struct net_slirp *net_slirp_new(char *const *fwd, int n, void (*rx)(void *opaque, const uint8_t *frame, size_t len),
				void *opaque, char *err, size_t errlen)
{
	struct net_slirp *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->rx = rx;
	s->rx_opaque = opaque;
	SlirpConfig cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.version = 1;
	cfg.in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.vhostname = "ringvm";
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (!s->slirp) {
		snprintf(err, errlen, "user network: slirp could not start");
		free(s);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		int udp, hport, gport;
		struct in_addr ha, ga;
		if (net_slirp_parse_fwd(fwd[i], &udp, &ha, &hport, &ga, &gport, err, errlen) < 0)
			goto fail;
		if (slirp_add_hostfwd(s->slirp, udp, ha, hport, ga, gport) < 0) {
			snprintf(err, errlen, "hostfwd '%s': cannot listen on host port %d (in use?)", fwd[i], hport);
			goto fail;
		}
	}
	return s;
fail:
	net_slirp_free(s);
	return NULL;
}

void net_slirp_free(struct net_slirp *s)
{
	if (!s)
		return;
	if (s->slirp)
		slirp_cleanup(s->slirp);
	free(s);
}

void net_slirp_send(void *opaque, const uint8_t *frame, size_t len)
{
	struct net_slirp *s = opaque;
	if (len > INT_MAX)
		return;
	slirp_input(s->slirp, frame, (int)len);
	/* Slirp moves data to the host sockets, and sends the guest the ACKs
	 * that open its window, only when polled: poll now rather than at
	 * the board's next look (up to a 10 ms slice away for a busy guest),
	 * which would cap guest-to-host TCP at about a window per slice. */
	struct pollfd pfd[MAX_FDS];
	int timeout = 0;
	int n = net_slirp_fill(s, pfd, MAX_FDS, &timeout);
	if (poll(pfd, (nfds_t)n, 0) <= 0)
		for (int i = 0; i < n; i++)
			pfd[i].revents = 0;
	net_slirp_dispatch(s, pfd, n);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	if (s->npfd >= s->max)
		return -1;
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->pfd[s->npfd] = (struct pollfd){ fd, ev, 0 };
	return s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	if (idx < 0 || idx >= s->npfd)
		return 0;
	short re = s->pfd[idx].revents;
	int ev = 0;
	if (re & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

int net_slirp_fill(struct net_slirp *s, struct pollfd *pfd, int max, int *timeout_ms)
{
	s->pfd = pfd;
	s->npfd = 0;
	s->max = max;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	slirp_pollfds_fill(s->slirp, &t, add_poll, s);
	int64_t now_ms = now_ns() / 1000000;
	for (int i = 0; i < MAX_TIMERS; i++) {
		const struct slirp_timer *tm = &s->timer[i];
		if (tm->used && tm->armed) {
			int64_t d = tm->expire_ms - now_ms;
			if (d < 0)
				d = 0;
			if ((uint64_t)d < t)
				t = (uint32_t)d;
		}
	}
	*timeout_ms = t == UINT32_MAX ? -1 : (int)(t > INT_MAX ? INT_MAX : t);
	return s->npfd;
}

void net_slirp_dispatch(struct net_slirp *s, struct pollfd *pfd, int n)
{
	s->pfd = pfd;
	s->npfd = n;
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	int64_t now_ms = now_ns() / 1000000;
	for (int i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timer[i];
		if (t->used && t->armed && t->expire_ms <= now_ms) {
			t->armed = false;
			t->cb(t->cb_opaque);
		}
	}
}
