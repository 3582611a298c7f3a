/* Save and restore of the whole board (pc_snap.h). */
#include "machine/pc_snap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/block.h"
#include "cpu/cpumodel.h"
#include "cpu/debug.h"
#include "machine/pc.h"

#define RAM_BATCH 256 /* pages per "ram" section: 1 MiB */
#define RAM_ZERO 0x80000000u /* page entry flag: all zero, no data follows */

/* ---- the CPU ---- */

/* The architectural state is the plain-data head of struct cpu (up to
 * the model pointer): registers, segments with their caches, control and
 * debug registers, x87, SSE and the MSRs. */
static void cpu_dev_save(void *dev, struct snap_w *w)
{
	struct cpu *c = dev;
	snap_put(w, c, offsetof(struct cpu, model));
	char model[32] = "";
	if (c->model)
		snprintf(model, sizeof(model), "%s", c->model->name);
	snap_put(w, model, sizeof(model));
	snap_u8(w, c->inhibit_irq);
	snap_u8(w, c->halted);
	snap_u8(w, c->intr_line);
	snap_u8(w, c->nmi_pending);
	snap_u8(w, c->mem.a20);
	snap_u8(w, c->wait_sipi);
	snap_u64(w, c->icount);
	snap_u64(w, c->tsc_base_ns);
}

/* Everything derived from the state (mode bits, TLB, decoded blocks and
 * the translator's code, debug-register arming) is dropped and rebuilt,
 * so a snapshot taken under one engine runs under another. */
static int cpu_dev_load(void *dev, struct snap_r *r)
{
	struct cpu *c = dev;
	snap_get(r, c, offsetof(struct cpu, model));
	char model[32];
	snap_get(r, model, sizeof(model));
	if (c->model && strncmp(model, c->model->name, sizeof(model)))
		return -1;
	c->inhibit_irq = snap_get_u8(r);
	c->halted = snap_get_u8(r);
	c->intr_line = snap_get_u8(r);
	c->nmi_pending = snap_get_u8(r);
	bool a20 = snap_get_u8(r);
	c->wait_sipi = snap_get_u8(r);
	c->icount = snap_get_u64(r);
	c->tsc_base_ns = snap_get_u64(r);
	cpu_update_mode(c);
	c->mem.a20 = !a20;
	cpu_set_a20(c, a20); /* flushes the TLB and every block */
	debug_update(c);
	return 0;
}

static const struct dev_ops cpu_dev_ops = { "cpu", NULL, cpu_dev_save, cpu_dev_load };

/* ---- the clock: virtual time goes on from where it was ---- */

static void clock_dev_save(void *dev, struct snap_w *w)
{
	struct clock *c = dev;
	uint64_t now = clock_now(c);
	snap_u8(w, (uint8_t)c->mode);
	snap_u64(w, now);
	snap_u64(w, c->icount_base);
	snap_u64(w, c->icount_time_base);
	snap_u32(w, c->ns_per_insn);
}

static int clock_dev_load(void *dev, struct snap_r *r)
{
	struct clock *c = dev;
	uint8_t mode = snap_get_u8(r);
	uint64_t now = snap_get_u64(r);
	uint64_t ib = snap_get_u64(r), itb = snap_get_u64(r);
	uint32_t npi = snap_get_u32(r);
	if (mode != c->mode)
		return -1;
	c->last = now;
	if (mode == CLOCK_ICOUNT) {
		c->icount_base = ib;
		c->icount_time_base = itb;
		c->ns_per_insn = npi ? npi : 1;
	} else if (mode == CLOCK_HOST) {
		c->host_base = clock_host_ns() - now;
	}
	return 0;
}

static const struct dev_ops clock_dev_ops = { "clock", NULL, clock_dev_save, clock_dev_load };

/* ---- the console: input the guest has not taken yet ---- */

static void console_dev_save(void *dev, struct snap_w *w)
{
	struct console *c = dev;
	console_flush(c);
	snap_u32(w, (uint32_t)c->in_len);
	snap_put(w, c->in, (size_t)c->in_len);
	snap_u8(w, c->escape);
}

static int console_dev_load(void *dev, struct snap_r *r)
{
	struct console *c = dev;
	uint32_t n = snap_get_u32(r);
	if (n > CONSOLE_IN_BUF)
		return -1;
	snap_get(r, c->in, n);
	c->in_len = (int)n;
	c->escape = snap_get_u8(r);
	return 0;
}

static const struct dev_ops console_dev_ops = { "console", NULL, console_dev_save, console_dev_load };

/* ---- the board: a request a device made that the loop has not acted on ---- */

static void board_dev_save(void *dev, struct snap_w *w)
{
	struct pc *pc = dev;
	snap_u32(w, (uint32_t)pc->action);
	snap_u32(w, (uint32_t)pc->exit_status);
	snap_u32(w, pc->triple_faults);
}

static int board_dev_load(void *dev, struct snap_r *r)
{
	struct pc *pc = dev;
	uint32_t a = snap_get_u32(r);
	if (a > PC_ACT_EXIT)
		return -1;
	pc->action = (enum pc_action)a;
	pc->exit_status = (int)snap_get_u32(r);
	pc->triple_faults = snap_get_u32(r);
	return 0;
}

static const struct dev_ops board_dev_ops = { "board", NULL, board_dev_save, board_dev_load };

int pc_snap_register(struct pc *pc)
{
	int bad = 0;
	static const char *const names[PC_MAX_CPUS] = { "cpu", "cpu1", "cpu2", "cpu3", "cpu4", "cpu5", "cpu6", "cpu7" };
	for (int i = 0; i < pc->ncpus; i++)
		bad |= devtab_add_named(&pc->devs, names[i], &cpu_dev_ops, &pc->vcpu[i].cpu);
	bad |= devtab_add(&pc->devs, &clock_dev_ops, &pc->clock);
	bad |= devtab_add(&pc->devs, &console_dev_ops, &pc->con);
	bad |= devtab_add(&pc->devs, &board_dev_ops, pc);
	return bad;
}

/* ---- RAM ---- */

static bool page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	for (unsigned i = 0; i < RAM_PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

int pc_save_ram(struct pc *pc, struct snap_w *w, uint64_t *map, bool skip_zero, int max)
{
	uint32_t pages = pc->ram.size / RAM_PAGE, n = 0;
	int looked = 0;
	snap_begin(w);
	snap_u32(w, 0); /* count, patched below */
	for (uint32_t p = 0; p < pages && looked != max; p++) {
		if (map) {
			if (!map[p / 64]) {
				p |= 63;
				continue;
			}
			if (!(map[p / 64] & (1ull << (p % 64))))
				continue;
			map[p / 64] &= ~(1ull << (p % 64));
		}
		looked++;
		const uint8_t *src = pc->ram.base + (size_t)p * RAM_PAGE;
		if (page_zero(src)) {
			if (skip_zero)
				continue;
			snap_u32(w, p | RAM_ZERO);
		} else {
			snap_u32(w, p);
			snap_put(w, src, RAM_PAGE);
		}
		if (++n == RAM_BATCH) {
			if (!w->err)
				memcpy(w->buf, &n, 4);
			if (snap_end(w, "ram") < 0)
				return -1;
			n = 0;
			snap_begin(w);
			snap_u32(w, 0);
		}
	}
	if (n) {
		if (!w->err)
			memcpy(w->buf, &n, 4);
		if (snap_end(w, "ram") < 0)
			return -1;
	}
	return w->err ? -1 : looked;
}

static int load_ram(struct pc *pc, struct snap_r *r, char *err, size_t errlen)
{
	uint32_t n = snap_get_u32(r), pages = (uint32_t)(pc->ram.size / RAM_PAGE);
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		uint32_t e = snap_get_u32(r), p = e & ~RAM_ZERO;
		if (p >= pages) {
			snprintf(err, errlen, "RAM page %u is beyond this domain's %u MiB", p, (unsigned)(pc->ram.size >> 20));
			return -1;
		}
		uint8_t *dst = pc->ram.base + (size_t)p * RAM_PAGE;
		if (e & RAM_ZERO)
			memset(dst, 0, RAM_PAGE);
		else
			snap_get(r, dst, RAM_PAGE);
	}
	if (r->bad || r->off != r->len) {
		snprintf(err, errlen, "corrupted (a RAM section does not add up)");
		return -1;
	}
	return 0;
}

/* ---- whole streams ---- */

const char *pc_snap_unsaveable(struct pc *pc)
{
	return devtab_unsaveable(&pc->devs);
}

int pc_save_devices(struct pc *pc, struct snap_w *w)
{
	pc_sync_out(pc);
	return devtab_save(&pc->devs, w);
}

int pc_load_section(struct pc *pc, struct snap_in *in, char *err, size_t errlen)
{
	if (!strcmp(in->name, "end"))
		return 1;
	if (!strcmp(in->name, "ram"))
		return load_ram(pc, &in->r, err, errlen);
	if (!strcmp(in->name, "config"))
		return 0;
	if (!strcmp(in->name, "ramsum")) {
		uint32_t want = snap_get_u32(&in->r);
		if (in->r.bad || want != snap_crc32(0, pc->ram.base, pc->ram.size)) {
			snprintf(err, errlen, "RAM differs from the source's (a write escaped the dirty-page log)");
			return -1;
		}
		return 0;
	}
	int r = devtab_load(&pc->devs, in->name, &in->r, err, errlen);
	if (r == 0) {
		snprintf(err, errlen, "the snapshot holds device '%s', which this ringvm does not have", in->name);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int pc_load_finish(struct pc *pc, char *err, size_t errlen)
{
	const char *missing = devtab_missing(&pc->devs);
	if (missing) {
		snprintf(err, errlen, "the snapshot has no section for device %s", missing);
		return -1;
	}
	for (int i = 0; i < pc->ncpus; i++) {
		tlb_flush_all(&pc->vcpu[i].cpu, 0);
		block_flush_all(&pc->vcpu[i].cpu);
	}
	pc_sync_in(pc);
	return 0;
}

int pc_save(struct pc *pc, const struct snap_config *sc, const char *path, char *err, size_t errlen)
{
	const char *bad = pc_snap_unsaveable(pc);
	if (bad) {
		snprintf(err, errlen, "device %s cannot be saved yet", bad);
		return -1;
	}
	char tmp[SNAP_PATH + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct snap_w w;
	snap_w_init(&w, fd);
	snap_write_header(&w);
	snap_begin(&w);
	snap_config_put(&w, sc);
	snap_end(&w, "config");
	if (!w.err)
		pc_save_devices(pc, &w);
	if (!w.err)
		pc_save_ram(pc, &w, NULL, true, -1);
	snap_begin(&w);
	snap_end(&w, "end");
	int e = w.err;
	snap_w_free(&w);
	if (!e && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static int open_snapshot(const char *path, struct snap_in *in, struct snap_config *sc, char *err, size_t errlen)
{
	char msg[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	snap_in_init(in, fd);
	if (snap_read_header(in, msg, sizeof(msg)) < 0 || snap_next(in, msg, sizeof(msg)) < 0)
		goto bad;
	if (strcmp(in->name, "config") || snap_config_get(&in->r, sc) < 0) {
		snprintf(msg, sizeof(msg), "corrupted (no valid config section)");
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "snapshot '%s': %s", path, msg);
	snap_in_free(in);
	close(fd);
	return -1;
}

int pc_snap_read_config(const char *path, struct snap_config *sc, char *err, size_t errlen)
{
	struct snap_in in;
	if (open_snapshot(path, &in, sc, err, errlen) < 0)
		return -1;
	close(in.fd);
	snap_in_free(&in);
	return 0;
}

int pc_restore(struct pc *pc, const char *path, char *err, size_t errlen)
{
	struct snap_in in;
	struct snap_config sc;
	char msg[256];
	if (open_snapshot(path, &in, &sc, err, errlen) < 0)
		return -1;
	int r;
	while ((r = snap_next(&in, msg, sizeof(msg))) == 0 && (r = pc_load_section(pc, &in, msg, sizeof(msg))) == 0)
		;
	close(in.fd);
	snap_in_free(&in);
	if (r < 0 || pc_load_finish(pc, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "snapshot '%s': %s", path, msg);
		return -1;
	}
	return 0;
}
