/* Record and replay (see replay.h).
 *
 * The log is text, one record a line:
 *   ringvm-replay 1
 *   config engine=E cpu=M ram=N kernel=H initrd=H cmdline=HEX [cpus=N]
 *   in ICOUNT CLOCK SITE HEXBYTES OUT  (site 0: run loop, 1: UART read;
 *                                    OUT: hash of the console output so far)
 *   end ICOUNT CLOCK STATUS DIGEST OUTHASH OUTBYTES
 * ICOUNT is the machine's instruction count: every CPU's (-smp N, cpus=N
 * in the config; without it, one CPU).
 */
#include "debug/replay.h"

#include "cpu/block.h"
#include "cpu/exec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
/* A loop at one instruction count this many times without the log's next
 * event: the guest waits for something the replay will not give it. */
#define STUCK_LOOPS 1000000

struct rr_input {
	uint64_t icount, clock;
	uint64_t outhash;  /* of the console output the guest had written by then */
	int site;
	uint32_t len, off; /* bytes in data, and where they start */
};

struct replay {
	int recording;
	FILE *f;               /* recording: the log */
	struct pc *pc;
	char engine[16], cpu[32], cmdline_hex[4096];
	uint64_t ram, kernel, initrd;
	int ncpus;
	/* replaying: the log's input events and their bytes */
	struct rr_input *in;
	size_t n_in, cursor;
	uint8_t *data;
	uint32_t consumed;     /* bytes of in[cursor] already given */
	uint64_t end_icount, end_clock, end_digest, end_outhash, end_outlen;
	int end_status;
	/* both: what the guest wrote */
	uint64_t outhash, outlen;
	char diverged[256];    /* why a replay went off the log, or "" */
	uint64_t stuck_at, stuck_loops;
	/* reverse execution: the machine at attach time, where runs stop,
	 * and the furthest point reached (output before it is muted) */
	struct pc *snap;
	uint8_t *snap_ram;
	uint64_t snap_outhash, snap_outlen;
	uint64_t stop_at, high;
};

uint64_t replay_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = FNV_OFF;
	size_t i = 0;
	/* Eight bytes a step: RAM digests cover hundreds of MiB. */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h = (h ^ w) * FNV_PRIME;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return ((h ^ v) * FNV_PRIME) ^ (h >> 31);
}

static uint64_t digest_cpu(uint64_t h, const struct cpu *c)
{
	for (int i = 0; i < 8; i++)
		h = mix(h, c->r[i]);
	h = mix(h, c->eip);
	h = mix(h, c->eflags);
	for (int s = 0; s < S_NSEG; s++)
		h = mix(mix(mix(h, c->seg[s].sel), c->seg[s].base), ((uint64_t)c->seg[s].limit << 16) | c->seg[s].attr);
	h = mix(mix(h, c->ldtr.sel), c->tr.sel);
	h = mix(mix(h, c->gdtr.base), c->idtr.base);
	h = mix(mix(mix(mix(h, c->cr0), c->cr2), c->cr3), c->cr4);
	return mix(h, c->icount);
}

uint64_t replay_digest(struct pc *pc)
{
	uint64_t h = FNV_OFF;
	for (int i = 0; i < pc->ncpus; i++)
		h = digest_cpu(h, &pc->vcpu[i].cpu);
	return mix(h, replay_hash(pc->ram.base, pc->ram.size));
}

/* The log's timeline: the machine's instruction count. */
static uint64_t now_icount(const struct replay *r)
{
	return pc_icount(r->pc);
}

static void hex_encode(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < n && 2 * i + 2 < outlen; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * i] = 0;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void set_config(struct replay *r, const struct replay_config *cfg)
{
	snprintf(r->engine, sizeof(r->engine), "%s", cfg->engine);
	snprintf(r->cpu, sizeof(r->cpu), "%s", cfg->cpu);
	r->ram = cfg->ram;
	r->kernel = cfg->kernel;
	r->initrd = cfg->initrd;
	r->ncpus = cfg->ncpus > 1 ? cfg->ncpus : 1;
	hex_encode(r->cmdline_hex, sizeof(r->cmdline_hex), (const uint8_t *)cfg->cmdline, strlen(cfg->cmdline));
}

struct replay *replay_record(const char *path, const struct replay_config *cfg, char *err, size_t errlen)
{
	struct replay *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->recording = 1;
	r->outhash = FNV_OFF;
	set_config(r, cfg);
	r->f = fopen(path, "w");
	if (!r->f) {
		snprintf(err, errlen, "--record '%s': %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	fprintf(r->f, "ringvm-replay 1\nconfig engine=%s cpu=%s ram=%" PRIu64 " kernel=%016" PRIx64
		" initrd=%016" PRIx64 " cmdline=%s", r->engine, r->cpu, r->ram, r->kernel, r->initrd,
		r->cmdline_hex[0] ? r->cmdline_hex : "-");
	if (r->ncpus > 1) /* one CPU: the config line as it always was */
		fprintf(r->f, " cpus=%d", r->ncpus);
	fputc('\n', r->f);
	return r;
}

/* ---- reading a log ---- */

static int parse_fail(char *err, size_t errlen, const char *path, int line, const char *what)
{
	snprintf(err, errlen, "--replay '%s': line %d: %s", path, line, what);
	return -1;
}

static int parse_in(struct replay *r, char *rest, size_t *cap, size_t *dcap, size_t *dlen)
{
	struct rr_input ev;
	char *hex = NULL;
	int n = 0;
	if (sscanf(rest, "%" SCNu64 " %" SCNu64 " %d %n", &ev.icount, &ev.clock, &ev.site, &n) != 3 ||
	    (ev.site != PC_RR_LOOP && ev.site != PC_RR_DEVICE))
		return -1;
	hex = rest + n;
	size_t len = strcspn(hex, " \n");
	if (len == 0 || len % 2 || sscanf(hex + len, " %" SCNx64, &ev.outhash) != 1)
		return -1;
	if (r->n_in == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		struct rr_input *p = realloc(r->in, *cap * sizeof(*p));
		if (!p)
			return -1;
		r->in = p;
	}
	if (*dlen + len / 2 > *dcap) {
		*dcap = 2 * (*dlen + len / 2);
		uint8_t *p = realloc(r->data, *dcap);
		if (!p)
			return -1;
		r->data = p;
	}
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		r->data[*dlen + i / 2] = (uint8_t)(hi << 4 | lo);
	}
	if (r->n_in && (ev.icount < r->in[r->n_in - 1].icount))
		return -1;
	ev.len = (uint32_t)(len / 2);
	ev.off = (uint32_t)*dlen;
	*dlen += len / 2;
	r->in[r->n_in++] = ev;
	return 0;
}

static int parse_config(struct replay *r, const char *rest)
{
	char cmd[sizeof(r->cmdline_hex)];
	int n = 0;
	if (sscanf(rest, "engine=%15s cpu=%31s ram=%" SCNu64 " kernel=%" SCNx64 " initrd=%" SCNx64 " cmdline=%4095s%n",
		   r->engine, r->cpu, &r->ram, &r->kernel, &r->initrd, cmd, &n) != 6)
		return -1;
	r->ncpus = 1;
	int used = 0;
	if (strcmp(rest + n, "\n") &&
	    (sscanf(rest + n, " cpus=%d%n", &r->ncpus, &used) != 1 || strcmp(rest + n + used, "\n") || r->ncpus < 2 ||
	     r->ncpus > PC_MAX_CPUS))
		return -1;
	snprintf(r->cmdline_hex, sizeof(r->cmdline_hex), "%s", strcmp(cmd, "-") ? cmd : "");
	return 0;
}

struct replay *replay_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "--replay '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct replay *r = calloc(1, sizeof(*r));
	char *line = NULL;
	size_t linecap = 0, cap = 0, dcap = 0, dlen = 0;
	int lineno = 0, have_config = 0, have_end = 0, bad = 0;
	if (!r) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->outhash = FNV_OFF;
	while (!bad && getline(&line, &linecap, f) > 0) {
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "ringvm-replay 1\n"))
				bad = parse_fail(err, errlen, path, lineno, "not a ringvm replay log (want \"ringvm-replay 1\")");
		} else if (have_end) {
			bad = parse_fail(err, errlen, path, lineno, "records after the end record");
		} else if (!strncmp(line, "config ", 7)) {
			if (have_config++ || parse_config(r, line + 7) < 0)
				bad = parse_fail(err, errlen, path, lineno, "bad config record");
		} else if (!strncmp(line, "in ", 3)) {
			if (!have_config || parse_in(r, line + 3, &cap, &dcap, &dlen) < 0)
				bad = parse_fail(err, errlen, path, lineno, "bad input record");
		} else if (!strncmp(line, "end ", 4)) {
			if (sscanf(line + 4, "%" SCNu64 " %" SCNu64 " %d %" SCNx64 " %" SCNx64 " %" SCNu64,
				   &r->end_icount, &r->end_clock, &r->end_status, &r->end_digest, &r->end_outhash,
				   &r->end_outlen) != 6 ||
			    (r->n_in && r->in[r->n_in - 1].icount > r->end_icount))
				bad = parse_fail(err, errlen, path, lineno, "bad end record");
			have_end = 1;
		} else {
			bad = parse_fail(err, errlen, path, lineno, "unknown record");
		}
	}
	free(line);
	fclose(f);
	if (!bad && !have_end)
		bad = parse_fail(err, errlen, path, lineno, "no end record (was the recording cut short?)");
	if (bad) {
		free(r->in);
		free(r->data);
		free(r);
		return NULL;
	}
	return r;
}

const char *replay_engine(const struct replay *r)
{
	return r->engine;
}

int replay_check_config(const struct replay *r, const struct replay_config *cfg, char *err, size_t errlen)
{
	struct replay now;
	set_config(&now, cfg);
	const char *what = strcmp(now.engine, r->engine) ? "engine (--accel)"
			   : strcmp(now.cpu, r->cpu) ? "CPU model (-cpu)"
			   : now.ram != r->ram ? "memory size (-m)"
			   : now.kernel != r->kernel ? "kernel"
			   : now.initrd != r->initrd ? "initrd"
			   : strcmp(now.cmdline_hex, r->cmdline_hex) ? "kernel command line (--append)"
			   : now.ncpus != r->ncpus ? "number of CPUs (-smp)" : NULL;
	if (!what)
		return 0;
	snprintf(err, errlen, "--replay: the %s differs from the recording's (engine %s, cpu %s, %" PRIu64 " MiB)",
		 what, r->engine, r->cpu, r->ram >> 20);
	return -1;
}

/* ---- the board's hooks ---- */

static void rec_taken(void *opaque, int site, const uint8_t *buf, int n)
{
	struct replay *r = opaque;
	char hex[2 * 64 + 1];
	fprintf(r->f, "in %" PRIu64 " %" PRIu64 " %d ", now_icount(r), clock_now(&r->pc->clock), site);
	for (int i = 0; i < n; i += 64) {
		hex_encode(hex, sizeof(hex), buf + i, (size_t)(n - i < 64 ? n - i : 64));
		fputs(hex, r->f);
	}
	fprintf(r->f, " %016" PRIx64 "\n", r->outhash);
	r->n_in++;
}

static int on_output(void *opaque, uint8_t b)
{
	struct replay *r = opaque;
	r->outhash = (r->outhash ^ b) * FNV_PRIME;
	r->outlen++;
	return now_icount(r) < r->high; /* shown before a restart */
}

static void diverge(struct replay *r, const char *why)
{
	if (r->diverged[0])
		return;
	snprintf(r->diverged, sizeof(r->diverged), "at instruction %" PRIu64 " (time %" PRIu64 " ns): %s",
		 now_icount(r), clock_now(&r->pc->clock), why);
	r->pc->vcpu[r->pc->cur].cpu.stop_request = 1;
}

static int rep_input(void *opaque, int site, uint8_t *buf, int room)
{
	struct replay *r = opaque;
	if (r->cursor >= r->n_in || r->diverged[0])
		return 0;
	const struct rr_input *ev = &r->in[r->cursor];
	uint64_t ic = now_icount(r), clk = clock_now(&r->pc->clock);
	if (ev->icount < ic || (ev->icount == ic && ev->clock < clk)) {
		char why[160];
		snprintf(why, sizeof(why), "the log gives input at instruction %" PRIu64 " (time %" PRIu64
			 " ns), the guest never took it there", ev->icount, ev->clock);
		diverge(r, why);
		return 0;
	}
	if (ev->icount != ic || ev->clock != clk || ev->site != site)
		return 0;
	if (r->consumed == 0 && ev->outhash != r->outhash) {
		/* Caught here, not only at the end: near where it went wrong. */
		char why[200];
		snprintf(why, sizeof(why), "console output differs from the recording's before the input it takes "
			 "here (%" PRIu64 " bytes written so far)", r->outlen);
		diverge(r, why);
		return 0;
	}
	int n = (int)(ev->len - r->consumed);
	if (n > room)
		n = room;
	memcpy(buf, r->data + ev->off + r->consumed, (size_t)n);
	r->consumed += (uint32_t)n;
	if (r->consumed == ev->len) {
		r->cursor++;
		r->consumed = 0;
	}
	return n;
}

static uint64_t rep_next(void *opaque)
{
	struct replay *r = opaque;
	uint64_t ic = now_icount(r);
	if (ic == r->stuck_at) {
		if (++r->stuck_loops > STUCK_LOOPS)
			diverge(r, "the guest waits here for input the log gives elsewhere");
	} else {
		r->stuck_at = ic;
		r->stuck_loops = 0;
	}
	if (r->diverged[0])
		return ic;
	uint64_t at = r->end_icount;
	if (r->cursor < r->n_in) {
		const struct rr_input *ev = &r->in[r->cursor];
		/* A UART read takes its bytes while the instruction at
		 * ev->icount runs: stop after it, where a miss is seen. */
		at = ev->site == PC_RR_LOOP ? ev->icount : ev->icount + 1;
	}
	return r->stop_at < at ? r->stop_at : at;
}

static int rep_ended(void *opaque)
{
	struct replay *r = opaque;
	if (r->diverged[0])
		return 1;
	if (r->cursor >= r->n_in && now_icount(r) >= r->end_icount)
		return r->end_status;
	return -1;
}

void replay_attach(struct replay *r, struct pc *pc)
{
	r->pc = pc;
	if (r->recording)
		pc->rr = (struct pc_rr){ r, NULL, rec_taken, on_output, NULL, NULL };
	else
		pc->rr = (struct pc_rr){ r, rep_input, NULL, on_output, rep_next, rep_ended };
	r->stop_at = UINT64_MAX;
	if (!r->recording) {
		/* Where reverse execution restarts from. Without the memory for
		 * it the replay still runs; only gdb's reverse commands fail. */
		r->snap = malloc(sizeof(*pc));
		r->snap_ram = malloc(pc->ram.size);
		if (r->snap && r->snap_ram) {
			memcpy(r->snap, pc, sizeof(*pc));
			memcpy(r->snap_ram, pc->ram.base, pc->ram.size);
			r->snap_outhash = r->outhash;
			r->snap_outlen = r->outlen;
		} else {
			free(r->snap);
			free(r->snap_ram);
			r->snap = NULL;
			r->snap_ram = NULL;
		}
	}
}

void replay_stop_at(struct replay *r, uint64_t icount)
{
	r->stop_at = icount;
}

void replay_restart(struct replay *r)
{
	struct pc *pc = r->pc;
	if (!r->snap)
		return;
	if (now_icount(r) > r->high)
		r->high = now_icount(r);
	/* The board as it was, but what lives outside it stays: the engine,
	 * the console, the debugger and its breakpoints, the tracer, the
	 * caches (flushed below: they describe the RAM being replaced). */
	struct pc *live = malloc(sizeof(*pc));
	if (!live)
		return;
	memcpy(live, pc, sizeof(*pc));
	memcpy(pc, r->snap, sizeof(*pc));
	memcpy(pc->ram.base, r->snap_ram, pc->ram.size);
	pc->cfg = live->cfg;
	pc->con = live->con;
	pc->dbg = live->dbg;
	pc->rr = live->rr;
	pc->sig_pipe[0] = live->sig_pipe[0];
	pc->sig_pipe[1] = live->sig_pipe[1];
	for (int i = 0; i < pc->ncpus; i++) {
		struct cpu *c = &pc->vcpu[i].cpu, *l = &live->vcpu[i].cpu;
		pc->vcpu[i].eng = live->vcpu[i].eng;
		c->bc = l->bc;
		c->bt = l->bt;
		c->fault_jmp = l->fault_jmp;
		c->hostdbg = l->hostdbg;
		c->hostdbg_insn = l->hostdbg_insn;
		c->xfer = l->xfer;
		c->trace = l->trace;
		c->bt_patch = 0;
		c->bt_countdown = 0;
	}
	free(live);
	for (int i = 0; i < pc->ncpus; i++) {
		tlb_flush_all(&pc->vcpu[i].cpu, 0);
		block_flush_all(&pc->vcpu[i].cpu);
	}
	r->cursor = 0;
	r->consumed = 0;
	r->diverged[0] = 0;
	r->outhash = r->snap_outhash;
	r->outlen = r->snap_outlen;
	r->stuck_at = UINT64_MAX;
}

int replay_finish(struct replay *r, int status, FILE *log)
{
	if (!r)
		return status;
	struct pc *pc = r->pc;
	if (!pc) { /* never attached: the machine did not start */
		if (r->f)
			fclose(r->f);
		free(r->in);
		free(r->data);
		free(r);
		return status;
	}
	uint64_t digest = replay_digest(pc);
	uint64_t ic = now_icount(r), clk = clock_now(&pc->clock);
	pc->rr = (struct pc_rr){ 0 };
	int rc = status;
	if (r->recording) {
		fprintf(r->f, "end %" PRIu64 " %" PRIu64 " %d %016" PRIx64 " %016" PRIx64 " %" PRIu64 "\n", ic, clk,
			status, digest, r->outhash, r->outlen);
		if (ferror(r->f) | fclose(r->f)) {
			fprintf(log, "ringvm: --record: could not write the whole log\n");
			rc = 1;
		} else {
			fprintf(log, "ringvm: recorded %" PRIu64 " instructions, %zu input events; state digest %016" PRIx64 "\n",
				ic, r->n_in, digest);
		}
	} else {
		char why[512] = "";
		if (r->diverged[0])
			snprintf(why, sizeof(why), "%s", r->diverged);
		else if (r->cursor < r->n_in)
			snprintf(why, sizeof(why), "the machine ended (status %d) with %zu input events of the log not given",
				 status, r->n_in - r->cursor);
		else if (ic != r->end_icount || status != r->end_status)
			snprintf(why, sizeof(why), "ended after %" PRIu64 " instructions with status %d; the recording after %"
				 PRIu64 " with status %d", ic, status, r->end_icount, r->end_status);
		else if (r->outlen != r->end_outlen || r->outhash != r->end_outhash)
			snprintf(why, sizeof(why), "console output differs: %" PRIu64 " bytes (hash %016" PRIx64
				 "), the recording's %" PRIu64 " (hash %016" PRIx64 ")", r->outlen, r->outhash,
				 r->end_outlen, r->end_outhash);
		else if (digest != r->end_digest || clk != r->end_clock)
			snprintf(why, sizeof(why), "state digest %016" PRIx64 " (time %" PRIu64 " ns), the recording's %016"
				 PRIx64 " (time %" PRIu64 " ns)", digest, clk, r->end_digest, r->end_clock);
		if (why[0]) {
			fprintf(log, "ringvm: replay DIVERGED from the recording: %s\n", why);
			rc = 1;
		} else {
			fprintf(log, "ringvm: replay matches the recording: %" PRIu64 " instructions, %zu input events, "
				"%" PRIu64 " console bytes, state digest %016" PRIx64 "\n", ic, r->n_in, r->outlen, digest);
		}
	}
	free(r->snap);
	free(r->snap_ram);
	free(r->in);
	free(r->data);
	free(r);
	return rc;
}
