/* The gdb stub: the listening socket, the connection, run control (stop,
 * continue, step, Ctrl-C, detach, kill) and the packet commands. Framing
 * is gdb_packet.c, registers gdb_regs.c, monitor commands gdb_monitor.c,
 * the CPUs as threads gdb_threads.c. */
#include "debug/gdbstub.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug/gdb_int.h"
#include "engine/engine.h"

#define SIG_INT 2  /* gdb's signal numbers */
#define SIG_TRAP 5

/* ---- the socket ---- */

/* Split "tcp:HOST:PORT" / "tcp::PORT" / "HOST:PORT" into host and port. */
static int parse_spec(const char *spec, char *host, size_t hostlen, char *port, size_t portlen)
{
	if (!strncmp(spec, "tcp:", 4))
		spec += 4;
	const char *colon = strrchr(spec, ':');
	if (!colon || strchr(spec, ','))
		return -1;
	size_t hl = (size_t)(colon - spec);
	const char *p = colon + 1;
	if (hl >= hostlen || !*p || strlen(p) >= portlen || strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
		return -1;
	memcpy(host, spec, hl);
	host[hl] = 0;
	if (!host[0])
		snprintf(host, hostlen, "127.0.0.1"); /* loopback unless asked */
	snprintf(port, portlen, "%s", p);
	return 0;
}

static int listen_on(const char *host, const char *port, int *bound, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "gdb: %s: %s", host, gai_strerror(r));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0)
			break;
		snprintf(err, errlen, "gdb: cannot listen on %s:%s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

struct gdbstub *gdbstub_open(const char *spec, int wait, FILE *log, char *err, size_t errlen)
{
	char host[256], port[8];
	if (parse_spec(spec, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "gdb: '%s': expected tcp:HOST:PORT or tcp::PORT", spec);
		return NULL;
	}
	struct gdbstub *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->cfd = -1;
	g->log = log ? log : stderr;
	g->wait = wait != 0;
	g->last_mode = -1;
	g->only = -1;
	g->lfd = listen_on(host, port, &g->port, err, errlen);
	if (g->lfd < 0) {
		free(g);
		return NULL;
	}
	fprintf(g->log, "ringvm: gdb stub listening on %s:%d%s\n", host, g->port,
		wait ? " (the guest waits for gdb: -S)" : "");
	fflush(g->log);
	return g;
}

int gdbstub_port(const struct gdbstub *g)
{
	return g->port;
}

void gdbstub_attach(struct gdbstub *g, int n, struct cpu *const cpus[], struct engine *const engs[],
		    const int *cur)
{
	g->ncpus = n < GDBSTUB_MAX_CPUS ? n : GDBSTUB_MAX_CPUS;
	for (int i = 0; i < g->ncpus; i++) {
		g->cpus[i] = cpus[i];
		g->engs[i] = engs[i];
		hostdbg_attach(cpus[i], &g->hd[i]);
	}
	g->cur = cur;
	gdb_select(g, 0);
}

int gdbstub_only_cpu(const struct gdbstub *g)
{
	return g->only;
}

/* Forget every breakpoint and watchpoint, on every CPU. */
static void clear_all(struct gdbstub *g)
{
	for (int i = 0; i < g->ncpus; i++)
		hostdbg_clear(g->cpus[i]);
}

void gdbstub_close(struct gdbstub *g)
{
	if (!g)
		return;
	gdb_close_client(g);
	if (g->lfd >= 0)
		close(g->lfd);
	for (int i = 0; i < g->ncpus; i++)
		if (g->cpus[i]->hostdbg == &g->hd[i])
			hostdbg_attach(g->cpus[i], NULL);
	free(g);
}

int gdbstub_wait_fd(const struct gdbstub *g)
{
	return g->cfd >= 0 ? g->cfd : g->lfd;
}

void gdbstub_set_rewind(struct gdbstub *g, const struct gdbstub_rewind *rw)
{
	g->rw = *rw;
}

void gdbstub_ended(struct gdbstub *g, int status)
{
	char b[8];
	snprintf(b, sizeof(b), "W%02x", status & 0xff);
	gdb_send(g, b);
	gdb_close_client(g);
}

/* ---- run control ---- */

void gdb_stop(struct gdbstub *g, int sig)
{
	g->stopped = true;
	g->stop_sig = sig;
	g->only = -1;
	for (int i = 0; i < g->ncpus; i++)
		if (g->engs[i] && g->engs[i]->ops->sync_out)
			g->engs[i]->ops->sync_out(g->engs[i]);
	/* gdb takes the thread of the stop reply as the selected one. */
	g->stop_cpu = gdb_stopped_cpu(g);
	g->at_stop[g->stop_cpu] = true;
	gdb_select(g, g->stop_cpu);
}

void gdb_resume(struct gdbstub *g, int step_cpu)
{
	for (int i = 0; i < g->ncpus; i++) {
		struct cpu *cpu = g->cpus[i];
		/* A CPU gdb saw stop (or that stopped by itself: a reverse
		 * command going on), and the only CPU always, goes on past a
		 * breakpoint where it is; one stopped along with another
		 * still stops at one. */
		if (i == step_cpu || g->ncpus == 1 || g->at_stop[i] || g->hd[i].stop != HOSTDBG_NONE)
			hostdbg_resume(cpu, i == step_cpu);
		else
			hostdbg_rearm(cpu);
		if (step_cpu < 0 || i == step_cpu)
			g->at_stop[i] = false;
	}
	/* The step runs its CPU alone, unless it waits for a STARTUP IPI
	 * that only another CPU can send. */
	g->only = g->ncpus > 1 && step_cpu >= 0 && !g->cpus[step_cpu]->wait_sipi ? step_cpu : -1;
	g->rev_begin = false;
	g->stopped = false;
	g->wait = false;
	for (int i = 0; i < g->ncpus; i++)
		if (g->engs[i] && g->engs[i]->ops->sync_in)
			g->engs[i]->ops->sync_in(g->engs[i]);
}

static void stop_reply(struct gdbstub *g, char *o, size_t n)
{
	const struct hostdbg *hd = &g->hd[g->stop_cpu];
	int t = g->stop_cpu + 1;
	if (g->stop_sig == SIG_TRAP && g->rev_begin) {
		snprintf(o, n, "T05replaylog:begin;thread:%02x;", t);
	} else if (g->stop_sig == SIG_TRAP && hd->stop == HOSTDBG_WATCH) {
		static const char *const kind[4] = { "", "watch", "rwatch", "awatch" };
		snprintf(o, n, "T05%s:%x;thread:%02x;", kind[hd->watch_kind & 3], hd->watch_addr, t);
	} else if (g->stop_sig == SIG_TRAP && hd->stop == HOSTDBG_BREAK) {
		snprintf(o, n, "T05swbreak:;thread:%02x;", t);
	} else {
		snprintf(o, n, "T%02xthread:%02x;", g->stop_sig, t);
	}
}

/* In real and virtual-8086 mode (and 16-bit protected mode) gdb needs
 * telling how addresses work: once per change of mode, on ringvm's log
 * and in gdb's console. */
static void announce_mode(struct gdbstub *g)
{
	int m = (int)gdb_mode(g->cpu);
	if (m == g->last_mode)
		return;
	g->last_mode = m;
	if (m == GDB_MODE_PROT32)
		return;
	char line[300], hex[2 * sizeof(line) + 2];
	gdb_mode_line(g->cpu, line, sizeof(line));
	fprintf(g->log, "ringvm: gdb: %s\n", line);
	fflush(g->log);
	size_t n = strlen(line);
	line[n++] = '\n';
	hex[0] = 'O';
	gdb_hex(hex + 1, (const uint8_t *)line, n);
	gdb_send(g, hex);
}

/* Report the stop to gdb (after a resume, or Ctrl-C). */
void gdb_report_stop(struct gdbstub *g)
{
	announce_mode(g);
	stop_reply(g, g->out, sizeof(g->out));
	gdb_send(g, g->out);
}

void gdb_interrupt(struct gdbstub *g)
{
	if (g->stopped)
		return;
	gdb_reverse_cancel(g);
	gdb_stop(g, SIG_INT);
	gdb_report_stop(g);
}

/* gdb went away: nothing it set stays, and the guest runs on. */
static void lost_gdb(struct gdbstub *g, const char *how)
{
	gdb_close_client(g);
	g->gone = true;
	clear_all(g);
	g->only = -1;
	g->stopped = false;
	g->wait = false;
	g->no_ack = false;
	fprintf(g->log, "ringvm: gdb %s; the guest runs on\n", how);
	fflush(g->log);
}

/* ---- packets ---- */

static void read_mem(struct gdbstub *g, const char *a, char *o)
{
	uint32_t addr, len;
	if (gdb_parse_hex(&a, &addr) < 0 || *a++ != ',' || gdb_parse_hex(&a, &len) < 0 || *a) {
		strcpy(o, "E01");
		return;
	}
	uint8_t buf[GDB_OUT_MAX / 2 - 8];
	if (len > sizeof(buf))
		len = sizeof(buf);
	uint32_t got = hostdbg_read(g->cpu, addr, buf, len, 0);
	if (got == 0 && len > 0)
		strcpy(o, "E14"); /* EFAULT, as a failed translation is called */
	else
		gdb_hex(o, buf, got);
}

/* 'M addr,len:hex' and 'X addr,len:binary' */
static void write_mem(struct gdbstub *g, char *a, size_t plen, int binary, char *o)
{
	const char *p = a;
	uint32_t addr, len;
	if (gdb_parse_hex(&p, &addr) < 0 || *p++ != ',' || gdb_parse_hex(&p, &len) < 0 || *p++ != ':' ||
	    len > GDB_PKT_MAX) {
		strcpy(o, "E01");
		return;
	}
	uint8_t buf[GDB_PKT_MAX];
	size_t n = 0;
	if (binary) {
		const char *end = a + plen;
		for (; p < end && n < sizeof(buf); p++) {
			uint8_t c = (uint8_t)*p;
			if (c == '}' && p + 1 < end)
				c = (uint8_t)(*++p ^ 0x20);
			buf[n++] = c;
		}
	} else {
		long r = gdb_unhex(buf, sizeof(buf), p);
		if (r < 0) {
			strcpy(o, "E01");
			return;
		}
		n = (size_t)r;
	}
	if (n != len) {
		strcpy(o, "E01");
		return;
	}
	strcpy(o, hostdbg_write(g->cpu, addr, buf, len, 0) == len ? "OK" : "E14");
}

static void breakpoint(struct gdbstub *g, const char *a, int insert, char *o)
{
	uint32_t type, addr, kind;
	if (gdb_parse_hex(&a, &type) < 0 || *a++ != ',' || gdb_parse_hex(&a, &addr) < 0 || *a++ != ',' ||
	    gdb_parse_hex(&a, &kind) < 0) {
		strcpy(o, "E01");
		return;
	}
	if (type > 4) {
		o[0] = 0; /* not supported */
		return;
	}
	/* All-stop: every CPU holds the same set, so each CPU stops there. */
	int r = 0;
	for (int i = 0; i < g->ncpus; i++) {
		struct cpu *cpu = g->cpus[i];
		static const enum hostdbg_watch kinds[3] = { HOSTDBG_WRITE, HOSTDBG_READ, HOSTDBG_ACCESS };
		if (type <= 1) /* software and hardware breakpoints are the same here */
			r |= insert ? hostdbg_bp_insert(cpu, addr) : hostdbg_bp_remove(cpu, addr);
		else
			r |= insert ? hostdbg_wp_insert(cpu, addr, kind, kinds[type - 2])
				    : hostdbg_wp_remove(cpu, addr, kind, kinds[type - 2]);
	}
	strcpy(o, r < 0 ? "E01" : "OK");
}

static void reg_write(struct gdbstub *g, const char *a, char *o)
{
	uint32_t n;
	uint8_t v[16];
	long len;
	if (gdb_parse_hex(&a, &n) < 0 || *a++ != '=' || (len = gdb_unhex(v, sizeof(v), a)) < 0 ||
	    gdb_reg_write(g->cpu, n, v, (size_t)len) < 0)
		strcpy(o, "E01");
	else
		strcpy(o, "OK");
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void xfer_features(struct gdbstub *g, const char *a, char *o)
{
	if (strncmp(a, "target.xml:", 11)) {
		strcpy(o, "E00");
		return;
	}
	a += 11;
	uint32_t off, len;
	if (gdb_parse_hex(&a, &off) < 0 || *a++ != ',' || gdb_parse_hex(&a, &len) < 0) {
		strcpy(o, "E01");
		return;
	}
	if (off == 0) {
		/* gdb reads the description once, when it connects, and takes
		 * its architecture from it: 'set architecture i8086' does not
		 * change how a target described as i386 is disassembled. So a
		 * CPU in 16-bit code then is described as an i8086. */
		enum gdb_mode m = gdb_mode(g->cpu);
		g->xml_len = gdb_target_xml(g->xml, sizeof(g->xml), m == GDB_MODE_PROT32 ? "i386" : "i8086");
	}
	if (off >= g->xml_len) {
		strcpy(o, "l");
		return;
	}
	size_t n = g->xml_len - off;
	if (n > len)
		n = len;
	if (n > GDB_OUT_MAX - 2)
		n = GDB_OUT_MAX - 2;
	/* The description holds no '$', '#', '}' or '*', so it goes as is. */
	o[0] = off + n < g->xml_len ? 'm' : 'l';
	memcpy(o + 1, g->xml + off, n);
	o[n + 1] = 0;
}

static void monitor(struct gdbstub *g, const char *hex, char *o)
{
	char cmd[256];
	long n = gdb_unhex((uint8_t *)cmd, sizeof(cmd) - 1, hex);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 1) {
		strcpy(o, "E01");
		return;
	}
	cmd[n] = 0;
	char text[GDB_OUT_MAX / 2 - 1];
	gdb_monitor(g, cmd, text, sizeof(text));
	gdb_hex(o, (const uint8_t *)text, strlen(text));
	if (!o[0])
		strcpy(o, "OK");
}

static void query(struct gdbstub *g, char *a, char *o)
{
	if (!strncmp(a, "qSupported", 10)) {
		snprintf(o, GDB_OUT_MAX, "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+%s",
			 GDB_PKT_MAX, g->rw.restart ? ";ReverseStep+;ReverseContinue+" : "");
	} else if (!strncmp(a, "qXfer:features:read:", 20)) {
		xfer_features(g, a + 20, o);
	} else if (!strcmp(a, "qAttached")) {
		strcpy(o, "1");
	} else if (!strcmp(a, "qC") || !strcmp(a, "qfThreadInfo") || !strcmp(a, "qsThreadInfo") ||
		   !strncmp(a, "qThreadExtraInfo,", 17)) {
		gdb_thread_packet(g, a, o, GDB_OUT_MAX);
	} else if (!strncmp(a, "qRcmd,", 6)) {
		monitor(g, a + 6, o);
	} else if (!strncmp(a, "qSymbol", 7)) {
		strcpy(o, "OK");
	} /* anything else: empty, "not supported" */
}

/* Resume packets: "c[addr]", "s[addr]", "vCont;ACTION[:thread][;...]".
 * Returns 0 if it resumed the guest, else -1 (o holds the reply). */
static int run_packet(struct gdbstub *g, const char *a, int step, char *o)
{
	if (*a) {
		uint32_t addr;
		uint8_t v[4];
		if (gdb_parse_hex(&a, &addr) < 0 || *a) {
			strcpy(o, "E01");
			return -1;
		}
		for (int i = 0; i < 4; i++)
			v[i] = (uint8_t)(addr >> (8 * i));
		gdb_reg_write(g->cpu, 8, v, 4); /* the PC, of the selected CPU */
	}
	gdb_resume(g, gdb_step_cpu(g, step));
	return 0;
}

static int vpacket(struct gdbstub *g, const char *a, char *o)
{
	if (!strcmp(a, "vCont?")) {
		strcpy(o, "vCont;c;C;s;S");
	} else if (!strncmp(a, "vCont;", 6)) {
		int step = gdb_vcont_step_cpu(g, a + 6);
		if (step >= -1) {
			gdb_resume(g, step);
			return 0;
		}
		strcpy(o, "E01");
	} else if (!strcmp(a, "vKill") || !strncmp(a, "vKill;", 6)) {
		g->kill = true;
		strcpy(o, "OK");
	} /* vMustReplyEmpty and the rest: empty */
	return -1;
}

void gdb_dispatch(struct gdbstub *g, char *pkt, size_t len)
{
	char *o = g->out;
	o[0] = 0;
	switch (pkt[0]) {
	case '?':
		stop_reply(g, o, GDB_OUT_MAX);
		break;
	case 'g':
		gdb_regs_read(g->cpu, o);
		break;
	case 'G': {
		uint8_t v[GDB_PKT_MAX / 2];
		long n = gdb_unhex(v, sizeof(v), pkt + 1);
		strcpy(o, n < 0 || gdb_regs_write(g->cpu, v, (size_t)n) < 0 ? "E01" : "OK");
		break;
	}
	case 'p': {
		const char *a = pkt + 1;
		uint32_t n;
		if (gdb_parse_hex(&a, &n) < 0 || *a || gdb_reg_read(g->cpu, n, o) < 0)
			strcpy(o, "E01");
		break;
	}
	case 'P':
		reg_write(g, pkt + 1, o);
		break;
	case 'm':
		read_mem(g, pkt + 1, o);
		break;
	case 'M':
		write_mem(g, pkt + 1, len - 1, 0, o);
		break;
	case 'X':
		write_mem(g, pkt + 1, len - 1, 1, o);
		break;
	case 'c':
	case 's':
		if (run_packet(g, pkt + 1, pkt[0] == 's', o) == 0)
			return; /* the reply is the next stop */
		break;
	case 'v':
		if (vpacket(g, pkt, o) == 0)
			return;
		break;
	case 'b':
		if ((pkt[1] == 's' || pkt[1] == 'c') && !pkt[2] && gdb_reverse(g, pkt[1] == 's', o, GDB_OUT_MAX) == 0)
			return; /* the reply is the next stop */
		break;
	case 'q':
		query(g, pkt, o);
		break;
	case 'Q':
		if (!strcmp(pkt, "QStartNoAckMode")) {
			gdb_send(g, "OK");
			g->no_ack = true; /* from the next packet on */
			return;
		}
		break;
	case 'H':
	case 'T':
		gdb_thread_packet(g, pkt, o, GDB_OUT_MAX);
		break;
	case 'Z':
	case 'z':
		breakpoint(g, pkt + 1, pkt[0] == 'Z', o);
		break;
	case 'D':
		gdb_send(g, "OK");
		lost_gdb(g, "detached");
		return;
	case 'k':
		g->kill = true;
		return; /* no reply to 'k' */
	default:
		break; /* empty reply: not supported */
	}
	gdb_send(g, o);
}

/* ---- service ---- */

/* Accept a connecting gdb, waiting for one if block. 1 if connected. */
static int accept_gdb(struct gdbstub *g, int block)
{
	struct pollfd p = { g->lfd, POLLIN, 0 };
	if (poll(&p, 1, block ? -1 : 0) <= 0)
		return 0;
	int fd = accept4(g->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return 0;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	g->cfd = fd;
	g->gone = false;
	g->rx = RX_IDLE;
	g->no_ack = false;
	g->kill = false;
	g->last_mode = -1;
	g->csel = -1;
	clear_all(g);
	for (int i = 0; i < g->ncpus; i++) {
		g->hd[i].stop = HOSTDBG_NONE;
		g->at_stop[i] = false;
	}
	/* gdb expects a stopped target when it connects. */
	gdb_stop(g, SIG_TRAP);
	fprintf(g->log, "ringvm: gdb connected\n");
	fflush(g->log);
	return 1;
}

/* Read what gdb sent. -1 if it went away (and the guest runs on). */
static int pump(struct gdbstub *g)
{
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = read(g->cfd, buf, sizeof(buf));
		if (n > 0) {
			gdb_rx_bytes(g, buf, (size_t)n);
			if (g->cfd < 0) {
				if (!g->gone) /* not a detach: a reply could not be sent */
					lost_gdb(g, "connection failed");
				return -1;
			}
			if (g->kill || (size_t)n < sizeof(buf))
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		lost_gdb(g, "disconnected");
		return -1;
	}
}

enum gdbstub_next gdbstub_service(struct gdbstub *g)
{
	if (g->cfd < 0) {
		if (!accept_gdb(g, g->wait))
			return g->wait ? GDBSTUB_AGAIN : GDBSTUB_RUN; /* -S: a signal broke the wait */
	} else if (!g->stopped) {
		if (gdb_reverse_poll(g)) {
			if (!g->stopped)
				return GDBSTUB_RUN; /* re-executing on */
		} else if (g->hd[gdb_stopped_cpu(g)].stop != HOSTDBG_NONE) {
			/* A breakpoint, step or watchpoint stopped the run. */
			gdb_stop(g, SIG_TRAP);
			gdb_report_stop(g);
		} else if (pump(g) < 0) {
			return GDBSTUB_RUN;
		}
	}
	while (g->stopped && !g->kill && g->cfd >= 0) {
		struct pollfd p = { g->cfd, POLLIN, 0 };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				return GDBSTUB_AGAIN;
			break;
		}
		if (pump(g) < 0)
			return GDBSTUB_RUN;
	}
	if (g->kill) {
		gdb_close_client(g);
		fprintf(g->log, "ringvm: killed by gdb\n");
		fflush(g->log);
		return GDBSTUB_KILL;
	}
	return g->stopped ? GDBSTUB_AGAIN : GDBSTUB_RUN;
}
