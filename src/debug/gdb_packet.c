/* gdb remote serial protocol framing: "$data#cs", acknowledgements,
 * Ctrl-C, and the hex encodings the packets use. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "debug/gdb_int.h"

int gdb_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gdb_parse_hex(const char **p, uint32_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0;
	for (; gdb_hexval(*s) >= 0; s++, n++) {
		x = (x << 4) | (uint64_t)gdb_hexval(*s);
		if (x > 0xffffffffull)
			return -1;
	}
	if (n == 0)
		return -1;
	*v = (uint32_t)x;
	*p = s;
	return 0;
}

char *gdb_hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		*out++ = digits[b[i] >> 4];
		*out++ = digits[b[i] & 15];
	}
	*out = 0;
	return out;
}

long gdb_unhex(uint8_t *b, size_t max, const char *hex)
{
	size_t n = 0;
	while (hex[0] && hex[1] && n < max) {
		int hi = gdb_hexval(hex[0]), lo = gdb_hexval(hex[1]);
		if (hi < 0 || lo < 0)
			return -1;
		b[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	if (hex[0] && n < max)
		return -1; /* an odd digit out */
	return (long)n;
}

void gdb_close_client(struct gdbstub *g)
{
	if (g->cfd >= 0)
		close(g->cfd);
	g->cfd = -1;
	g->rx = RX_IDLE;
}

static int send_all(struct gdbstub *g, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(g->cfd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* gdb reads slowly: wait for room (the socket is non-blocking). */
			usleep(1000);
			continue;
		}
		if (w <= 0) {
			gdb_close_client(g);
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int gdb_send(struct gdbstub *g, const char *data)
{
	if (g->cfd < 0)
		return -1;
	static const char digits[] = "0123456789abcdef";
	size_t n = strlen(data);
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)data[i];
	char tail[3] = { '#', digits[(sum >> 4) & 15], digits[sum & 15] };
	/* Replies hold no '$', '#' or '}' of their own (hex and plain text),
	 * so no escaping is needed. */
	if (send_all(g, "$", 1) < 0 || send_all(g, data, n) < 0 || send_all(g, tail, 3) < 0)
		return -1;
	return 0;
}

static void packet_done(struct gdbstub *g, unsigned want)
{
	if (g->pkt_overflow || (g->sum & 0xff) != want) {
		/* gdb sends the packet again after a NAK. */
		if (!g->no_ack)
			send_all(g, "-", 1);
		return;
	}
	if (!g->no_ack && send_all(g, "+", 1) < 0)
		return;
	g->pkt[g->pkt_len] = 0;
	gdb_dispatch(g, g->pkt, g->pkt_len);
}

void gdb_rx_bytes(struct gdbstub *g, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n && g->cfd >= 0; i++) {
		uint8_t c = b[i];
		switch (g->rx) {
		case RX_IDLE:
			if (c == '$') {
				g->rx = RX_DATA;
				g->pkt_len = 0;
				g->pkt_overflow = false;
				g->sum = 0;
			} else if (c == 0x03) {
				gdb_interrupt(g);
			} /* '+', '-' and noise between packets: nothing to do */
			break;
		case RX_DATA:
			if (c == '#') {
				g->rx = RX_SUM1;
				break;
			}
			if (c == '$') { /* a new start: the old packet was cut short */
				g->pkt_len = 0;
				g->pkt_overflow = false;
				g->sum = 0;
				break;
			}
			g->sum += c;
			if (g->pkt_len < GDB_PKT_MAX)
				g->pkt[g->pkt_len++] = (char)c;
			else
				g->pkt_overflow = true;
			break;
		case RX_SUM1:
			g->sum_hi = (char)c;
			g->rx = RX_SUM2;
			break;
		case RX_SUM2: {
			g->rx = RX_IDLE;
			int hi = gdb_hexval(g->sum_hi), lo = gdb_hexval(c);
			packet_done(g, hi < 0 || lo < 0 ? 0x100u : (unsigned)(hi << 4 | lo));
			break;
		}
		}
	}
}
