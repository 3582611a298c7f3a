/* The host debugger's breakpoints, watchpoints, steps and memory view
 * (see hostdbg.h for how the run core and mem.c call in). */
#include "cpu/hostdbg.h"

#include <string.h>

#include "cpu/block.h"
#include "cpu/exec.h"

static void recompute(struct cpu *cpu)
{
	const struct hostdbg *hd = cpu->hostdbg;
	cpu->hostdbg_insn = hd && (hd->nbp || hd->step);
}

void hostdbg_attach(struct cpu *cpu, struct hostdbg *hd)
{
	if (hd)
		memset(hd, 0, sizeof(*hd));
	cpu->hostdbg = hd;
	recompute(cpu);
	tlb_flush_all(cpu, 0);
}

int hostdbg_bp_insert(struct cpu *cpu, uint32_t lin)
{
	struct hostdbg *hd = cpu->hostdbg;
	for (unsigned i = 0; i < hd->nbp; i++)
		if (hd->bp[i] == lin)
			return 0; /* gdb may insert the same address twice */
	if (hd->nbp == HOSTDBG_MAX_BP)
		return -1;
	hd->bp[hd->nbp++] = lin;
	recompute(cpu);
	return 0;
}

int hostdbg_bp_remove(struct cpu *cpu, uint32_t lin)
{
	struct hostdbg *hd = cpu->hostdbg;
	for (unsigned i = 0; i < hd->nbp; i++) {
		if (hd->bp[i] == lin) {
			hd->bp[i] = hd->bp[--hd->nbp];
			recompute(cpu);
			return 0;
		}
	}
	return -1;
}

int hostdbg_wp_insert(struct cpu *cpu, uint32_t lin, uint32_t len, enum hostdbg_watch kind)
{
	struct hostdbg *hd = cpu->hostdbg;
	if (hd->nwp == HOSTDBG_MAX_WP || len == 0)
		return -1;
	hd->wp[hd->nwp++] = (struct hostdbg_wp){ lin, len, (uint8_t)kind };
	/* The watched pages leave the TLB, so their accesses take the slow path. */
	tlb_flush_all(cpu, 0);
	return 0;
}

int hostdbg_wp_remove(struct cpu *cpu, uint32_t lin, uint32_t len, enum hostdbg_watch kind)
{
	struct hostdbg *hd = cpu->hostdbg;
	for (unsigned i = 0; i < hd->nwp; i++) {
		const struct hostdbg_wp *w = &hd->wp[i];
		if (w->addr == lin && w->len == len && w->kind == kind) {
			hd->wp[i] = hd->wp[--hd->nwp];
			tlb_flush_all(cpu, 0);
			return 0;
		}
	}
	return -1;
}

void hostdbg_clear(struct cpu *cpu)
{
	struct hostdbg *hd = cpu->hostdbg;
	hd->nbp = hd->nwp = 0;
	hd->step = hd->resume = hd->ran = 0;
	recompute(cpu);
	tlb_flush_all(cpu, 0);
}

void hostdbg_resume(struct cpu *cpu, int step)
{
	struct hostdbg *hd = cpu->hostdbg;
	hd->step = (uint8_t)(step != 0);
	hd->resume = 1;
	hd->resume_lin = cpu->seg[S_CS].base + cpu->eip;
	hd->ran = 0;
	hd->stop = HOSTDBG_NONE;
	recompute(cpu);
}

void hostdbg_rearm(struct cpu *cpu)
{
	hostdbg_resume(cpu, 0);
	cpu->hostdbg->resume = 0;
}

void hostdbg_state_changed(struct cpu *cpu)
{
	cpu_update_mode(cpu);
	tlb_flush_all(cpu, 0);
}

static int is_bp(const struct hostdbg *hd, uint32_t lin)
{
	for (unsigned i = 0; i < hd->nbp; i++)
		if (hd->bp[i] == lin)
			return 1;
	return 0;
}

int hostdbg_before(struct cpu *cpu)
{
	struct hostdbg *hd = cpu->hostdbg;
	if (hd->step) {
		/* The step's instruction ran (or faulted, or took us into a
		 * handler): stop before the next one, whatever it is. */
		if (hd->ran) {
			if (hd->stop == HOSTDBG_NONE) /* a watchpoint hit says more */
				hd->stop = HOSTDBG_STEP;
			return 1;
		}
		hd->ran = 1;
		hd->resume = 0;
		return 0;
	}
	uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
	if (hd->resume) {
		hd->resume = 0;
		/* Only the instruction gdb continued from: an interrupt taken
		 * first leads to a handler whose breakpoint must hold. */
		if (lin == hd->resume_lin)
			return 0;
	}
	if (is_bp(hd, lin)) {
		hd->stop = HOSTDBG_BREAK;
		return 1;
	}
	return 0;
}

/* One instruction at a time while stepping, or when a breakpoint lies
 * inside the block after its first instruction (blocks are straight-line
 * code, so otherwise none can be reached before the block ends). */
int hostdbg_single(const struct cpu *cpu, const struct block *b)
{
	const struct hostdbg *hd = cpu->hostdbg;
	if (hd->step)
		return 1;
	uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
	for (unsigned i = 0; i < hd->nbp; i++)
		if (hd->bp[i] - lin - 1 < b->size - 1)
			return 1;
	return 0;
}

int hostdbg_after(struct cpu *cpu)
{
	struct hostdbg *hd = cpu->hostdbg;
	if (!hd->step)
		return 0;
	if (hd->stop == HOSTDBG_NONE) /* a watchpoint hit says more */
		hd->stop = HOSTDBG_STEP;
	return 1;
}

static int overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

int hostdbg_page_watched(const struct cpu *cpu, uint32_t lpage)
{
	const struct hostdbg *hd = cpu->hostdbg;
	for (unsigned i = 0; i < hd->nwp; i++)
		if (overlaps(lpage, 0x1000, hd->wp[i].addr, hd->wp[i].len))
			return 1;
	return 0;
}

void hostdbg_access(struct cpu *cpu, uint32_t lin, int size, int write)
{
	struct hostdbg *hd = cpu->hostdbg;
	int kind = write ? HOSTDBG_WRITE : HOSTDBG_READ;
	for (unsigned i = 0; i < hd->nwp; i++) {
		const struct hostdbg_wp *w = &hd->wp[i];
		if (!(w->kind & kind) || !overlaps(lin, (uint32_t)size, w->addr, w->len))
			continue;
		if (hd->stop == HOSTDBG_NONE) {
			hd->stop = HOSTDBG_WATCH;
			hd->watch_kind = w->kind;
			hd->watch_addr = w->addr;
		}
		/* Finish this instruction, then leave the run. */
		cpu->stop_request = 1;
		cpu->block_break = 1;
		return;
	}
}

/* ---- the debugger's view of memory ---- */

/* An entry of size 4 or 8 at pa, zero-extended. */
static int phys_entry(struct cpu *cpu, uint64_t pa, int size, uint64_t *v)
{
	int rom;
	const uint8_t *h = mem_phys_host(cpu, pa, &rom);
	if (!h)
		return -1;
	*v = size == 8 ? (uint64_t)load_le(h, 4) | (uint64_t)load_le(h + 4, 4) << 32 : load_le(h, 4);
	return 0;
}

#define PAE_ADDR 0x0000000ffffff000ull

/* The PAE walk (SDM 4.4) from the PDPTEs the processor loaded. */
static int translate_pae(struct cpu *cpu, uint32_t lin, struct hostdbg_xlate *x)
{
	x->pae = 1;
	uint64_t pdpte = cpu->pdpte[lin >> 30];
	if (!(pdpte & 1) || phys_entry(cpu, (pdpte & PAE_ADDR) | ((lin >> 18) & 0xff8u), 8, &x->pde) < 0 ||
	    !(x->pde & 1))
		return -1;
	if (x->pde & 0x80) {
		x->big = 1;
		x->pte = x->pde;
		x->pa = (x->pde & PAE_ADDR & ~0x1fffffull) | (lin & 0x1fffffu);
		return 0;
	}
	if (phys_entry(cpu, (x->pde & PAE_ADDR) | ((lin >> 9) & 0xff8u), 8, &x->pte) < 0 || !(x->pte & 1))
		return -1;
	x->pa = (x->pte & PAE_ADDR) | (lin & 0xfffu);
	return 0;
}

/* The walks of mem.c (SDM Vol. 3, 4.3 and 4.4), without their side
 * effects: nothing is checked, set or raised. */
int hostdbg_translate(struct cpu *cpu, uint32_t lin, struct hostdbg_xlate *x)
{
	memset(x, 0, sizeof(*x));
	if (!(cpu->cr0 & CR0_PG)) {
		x->pa = lin;
		return 0;
	}
	x->paging = 1;
	if (cpu->cr4 & CR4_PAE)
		return translate_pae(cpu, lin, x);
	if (phys_entry(cpu, (cpu->cr3 & 0xfffff000u) | ((lin >> 20) & 0xffcu), 4, &x->pde) < 0 || !(x->pde & 1))
		return -1;
	if ((x->pde & 0x80) && (cpu->cr4 & CR4_PSE)) {
		x->big = 1;
		x->pte = x->pde;
		x->pa = (x->pde & 0xffc00000u) | (lin & 0x3fffffu);
		return 0;
	}
	if (phys_entry(cpu, (x->pde & 0xfffff000u) | ((lin >> 10) & 0xffcu), 4, &x->pte) < 0 || !(x->pte & 1))
		return -1;
	x->pa = (x->pte & 0xfffff000u) | (lin & 0xfffu);
	return 0;
}

/* Copy up to the end of the page holding addr; the bytes done or 0. */
static uint32_t page_copy(struct cpu *cpu, uint32_t addr, uint8_t *buf, uint32_t n, int phys, int write)
{
	struct hostdbg_xlate x;
	uint64_t pa = addr;
	if (!phys) {
		if (hostdbg_translate(cpu, addr, &x) < 0)
			return 0;
		pa = x.pa;
	}
	int rom;
	uint8_t *h = mem_phys_host(cpu, pa, &rom);
	if (!h || (write && rom))
		return 0;
	if (!write) {
		memcpy(buf, h, n);
		return n;
	}
	uint64_t ppage = pa & ~(uint64_t)0xfff;
	if (block_page_has_code(cpu, ppage))
		block_invalidate_page(cpu, ppage);
	memcpy(h, buf, n);
	return n;
}

static uint32_t copy(struct cpu *cpu, uint32_t addr, uint8_t *buf, uint32_t len, int phys, int write)
{
	uint32_t done = 0;
	while (done < len) {
		uint32_t a = addr + done;
		uint32_t n = 0x1000 - (a & 0xfff);
		if (n > len - done)
			n = len - done;
		if (page_copy(cpu, a, buf + done, n, phys, write) != n)
			break;
		done += n;
	}
	return done;
}

uint32_t hostdbg_read(struct cpu *cpu, uint32_t addr, void *buf, uint32_t len, int phys)
{
	return copy(cpu, addr, buf, len, phys, 0);
}

uint32_t hostdbg_write(struct cpu *cpu, uint32_t addr, const void *buf, uint32_t len, int phys)
{
	return copy(cpu, addr, (uint8_t *)(uintptr_t)buf, len, phys, 1);
}
