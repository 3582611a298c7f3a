/* Live migration (migrate.h). */
#include "machine/migrate.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cpu/exec.h"
#include "machine/pc.h"

#define STEP_PAGES 2048      /* sent per step while the guest runs: 8 MiB */
#define LAST_PAGES 256       /* few enough dirty pages to stop and copy */
#define MAX_ROUNDS 30
#define ACK_TIMEOUT_MS 60000
#define MIG_ACK 'K'

static int split_host_port(const char *uri, char *host, size_t hostlen, char *port, size_t portlen)
{
	if (!strncmp(uri, "tcp:", 4))
		uri += 4;
	const char *colon = strrchr(uri, ':');
	if (!colon || !colon[1] || (size_t)(colon - uri) >= hostlen || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, uri, (size_t)(colon - uri));
	host[colon - uri] = 0;
	if (!host[0])
		snprintf(host, hostlen, "127.0.0.1");
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

static int net_open(const char *uri, bool listening, char *err, size_t errlen)
{
	char host[256], port[32];
	if (split_host_port(uri, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "'%s': expected tcp:HOST:PORT", uri);
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	if (listening)
		hints.ai_flags = AI_PASSIVE;
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		snprintf(err, errlen, "'%s': %s", uri, gai_strerror(r));
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0 && listening)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || (listening ? bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0
				 : connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)) {
		snprintf(err, errlen, "'%s': %s", uri, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int net_connect(const char *dest, char *err, size_t errlen)
{
	return net_open(dest, false, err, errlen);
}

/* Every CPU logs its RAM writes to log (NULL: none). */
static void set_dirty_log(struct pc *pc, uint64_t *log)
{
	for (int i = 0; i < pc->ncpus; i++) {
		pc->vcpu[i].cpu.mem.dirty = log;
		if (log)
			tlb_unwrite_all(&pc->vcpu[i].cpu);
	}
}

static void stop_logging(struct migrate *m, struct pc *pc)
{
	set_dirty_log(pc, NULL);
	free(pc->ram.dirty);
	pc->ram.dirty = NULL;
	free(m->todo);
	m->todo = NULL;
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	snap_w_free(&m->w);
	m->active = false;
}

void migrate_cancel(struct migrate *m, struct pc *pc)
{
	if (m->active)
		stop_logging(m, pc);
}

int migrate_start(struct migrate *m, struct pc *pc, const struct snap_config *sc, const char *dest, char *err,
		  size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (!strcmp(pc_engine_name(pc), "none") || !strcmp(pc_engine_name(pc), "kvm")) {
		snprintf(err, errlen, "migration needs a software engine (interp or bt): kvm's dirty log is not wired up");
		return -1;
	}
	const char *bad = pc_snap_unsaveable(pc);
	if (bad) {
		snprintf(err, errlen, "device %s cannot be saved yet", bad);
		return -1;
	}
	size_t words = (pc->ram.size / RAM_PAGE + 63) / 64;
	m->todo = malloc(words * 8);
	pc->ram.dirty = calloc(words, 8);
	if (!m->todo || !pc->ram.dirty) {
		snprintf(err, errlen, "out of memory");
		stop_logging(m, pc);
		return -1;
	}
	m->fd = net_connect(dest, err, errlen);
	if (m->fd < 0) {
		stop_logging(m, pc);
		return -1;
	}
	int one = 1;
	setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	m->active = true;
	m->t0 = clock_host_ns();
	/* Tests ask for several rounds, so that a guest writing little
	 * still exercises the log across rounds. */
	const char *mr = getenv("RINGVM_MIGRATE_MIN_ROUNDS");
	m->min_rounds = mr ? atoi(mr) : 0;
	m->verify = getenv("RINGVM_MIGRATE_VERIFY") != NULL;
	memset(m->todo, 0xff, words * 8);
	snap_w_init(&m->w, m->fd);
	snap_write_header(&m->w);
	snap_begin(&m->w);
	snap_config_put(&m->w, sc);
	if (snap_end(&m->w, "config") < 0) {
		snprintf(err, errlen, "%s: %s", dest, strerror(m->w.err));
		stop_logging(m, pc);
		return -1;
	}
	/* From here on every RAM write is logged. */
	set_dirty_log(pc, pc->ram.dirty);
	return 0;
}

/* The pages written since the last call become the next round's. */
static uint32_t next_round(struct migrate *m, struct pc *pc)
{
	size_t words = (pc->ram.size / RAM_PAGE + 63) / 64;
	uint32_t n = 0;
	for (size_t i = 0; i < words; i++) {
		m->todo[i] = pc->ram.dirty[i];
		pc->ram.dirty[i] = 0;
		n += (uint32_t)__builtin_popcountll(m->todo[i]);
	}
	set_dirty_log(pc, pc->ram.dirty); /* the next write to each page shows again */
	m->round++;
	return n;
}

static int wait_ack(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	if (poll(&p, 1, ACK_TIMEOUT_MS) <= 0)
		return -1;
	char c;
	return read(fd, &c, 1) == 1 && c == MIG_ACK ? 0 : -1;
}

/* The final copy synced the CPU out of the engine: give it back. */
static void resume_here(struct pc *pc)
{
	pc_sync_in(pc);
}

int migrate_step(struct migrate *m, struct pc *pc, char *err, size_t errlen)
{
	if (!m->active)
		return 0;
	int sent = pc_save_ram(pc, &m->w, m->todo, m->round == 0, STEP_PAGES);
	if (sent < 0)
		goto failed;
	if (sent == STEP_PAGES)
		return 0; /* more of this round */
	uint32_t dirty = next_round(m, pc);
	m->last_dirty = dirty;
	if ((dirty > LAST_PAGES || m->round < m->min_rounds) && m->round < MAX_ROUNDS)
		return 0;
	/* Stop and copy: the guest does not run again here. */
	uint64_t stop = clock_host_ns();
	if (pc_save_ram(pc, &m->w, m->todo, false, -1) < 0 || pc_save_devices(pc, &m->w) < 0)
		goto failed;
	if (m->verify) {
		snap_begin(&m->w);
		snap_u32(&m->w, snap_crc32(0, pc->ram.base, pc->ram.size));
		if (snap_end(&m->w, "ramsum") < 0)
			goto failed;
	}
	snap_begin(&m->w);
	if (snap_end(&m->w, "end") < 0)
		goto failed;
	if (wait_ack(m->fd) < 0) {
		snprintf(err, errlen, "the target did not confirm it loaded the domain");
		stop_logging(m, pc);
		resume_here(pc);
		return -1;
	}
	uint64_t now = clock_host_ns();
	m->downtime_ns = now - stop;
	m->total_ns = now - m->t0;
	stop_logging(m, pc);
	return 1;
failed:
	snprintf(err, errlen, "sending to the target: %s", strerror(m->w.err ? m->w.err : EIO));
	stop_logging(m, pc);
	resume_here(pc);
	return -1;
}

int migrate_accept(const char *uri, char *err, size_t errlen)
{
	int lfd = net_open(uri, true, err, errlen);
	if (lfd < 0)
		return -1;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "'%s': accept: %s", uri, strerror(errno));
	close(lfd);
	return fd;
}

int migrate_receive(struct pc *pc, struct snap_in *in, char *err, size_t errlen)
{
	int r;
	while ((r = snap_next(in, err, errlen)) == 0 && (r = pc_load_section(pc, in, err, errlen)) == 0)
		;
	if (r < 0 || pc_load_finish(pc, err, errlen) < 0)
		return -1;
	char ack = MIG_ACK;
	if (write(in->fd, &ack, 1) != 1) {
		snprintf(err, errlen, "the source went away before the end");
		return -1;
	}
	return 0;
}
