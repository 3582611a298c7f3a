/* Handlers: string instructions (SDM Vol. 2 MOVS, CMPS, SCAS, LODS, STOS,
 * INS, OUTS, and REP/REPE/REPNE).
 *
 * - The address size picks SI/DI/CX or ESI/EDI/ECX; with a 16-bit address
 *   size only the low halves change (and wrap at 64 KiB).
 * - The source is DS:(E)SI, or the segment override; the destination is
 *   always ES:(E)DI (SDM MOVS: "the ES segment cannot be overridden").
 * - EFLAGS.DF selects decrementing.
 * - A repeated instruction runs at most STR_BUDGET iterations per call
 *   (fewer when they go through the bus: STR_SLOW_COST) and
 *   then resumes itself (next_eip = eip), so interrupts are taken between
 *   iterations as on the processor (SDM Vol. 2, REP: "the processor
 *   ... services pending interrupts ... after each iteration"). Every
 *   iteration commits its (E)CX/(E)SI/(E)DI updates, so a fault midway
 *   leaves the registers at that iteration with EIP at the instruction,
 *   which re-executes the rest. Resuming re-fetches the instruction, so a
 *   string that wrote decoded code goes on instead (may_suspend()).
 * - REP MOVS/STOS have a fast path for runs inside one page of plain RAM
 *   whose TLB entries are filled; it keeps the element-by-element
 *   semantics (overlapping MOVS copies element by element in order).
 */
#include <time.h>

#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/io.h"

#define STR_BUDGET 4096
/* An element the fast path cannot take (MMIO, unbacked space, a port, a
 * page edge) is a trip through the bus that costs as much as a run of
 * fast ones: it spends this much of the budget, so a REP over MMIO
 * suspends after 256 of them and the run loop reads its clock often
 * (a 1 MiB REP STOSB to unbacked space held it for ~1 M bus writes). */
#define STR_SLOW_COST 16

enum str_kind { K_MOVS, K_CMPS, K_SCAS, K_LODS, K_STOS, K_INS, K_OUTS };

struct sctx {
	enum str_kind kind;
	int size;       /* element bytes */
	int seg;        /* source segment */
	uint32_t amask; /* 0xffff or 0xffffffff */
	int32_t delta;  /* +size or -size */
};

static uint32_t areg(const struct cpu *cpu, const struct sctx *c, int r)
{
	return cpu->r[r] & c->amask;
}

static void aset(struct cpu *cpu, const struct sctx *c, int r, uint32_t v)
{
	cpu->r[r] = (cpu->r[r] & ~c->amask) | (v & c->amask);
}

static void astep(struct cpu *cpu, const struct sctx *c, int r, int32_t n)
{
	aset(cpu, c, r, cpu->r[r] + (uint32_t)(c->delta * n));
}

/* One iteration, with its ESI/EDI updates. */
static void str_one(struct cpu *cpu, const struct sctx *c)
{
	int size = c->size;
	uint32_t v, w;
	uint16_t port;
	switch (c->kind) {
	case K_MOVS:
		v = mem_read(cpu, c->seg, areg(cpu, c, R_ESI), size);
		mem_write(cpu, S_ES, areg(cpu, c, R_EDI), size, v);
		astep(cpu, c, R_ESI, 1);
		astep(cpu, c, R_EDI, 1);
		break;
	case K_CMPS: /* flags of [source] - ES:[dest] */
		v = mem_read(cpu, c->seg, areg(cpu, c, R_ESI), size);
		w = mem_read(cpu, S_ES, areg(cpu, c, R_EDI), size);
		alu_sub(cpu, size, v, w);
		astep(cpu, c, R_ESI, 1);
		astep(cpu, c, R_EDI, 1);
		break;
	case K_SCAS:
		w = mem_read(cpu, S_ES, areg(cpu, c, R_EDI), size);
		alu_sub(cpu, size, reg_read(cpu, R_EAX, size), w);
		astep(cpu, c, R_EDI, 1);
		break;
	case K_LODS:
		v = mem_read(cpu, c->seg, areg(cpu, c, R_ESI), size);
		reg_write(cpu, R_EAX, size, v);
		astep(cpu, c, R_ESI, 1);
		break;
	case K_STOS:
		mem_write(cpu, S_ES, areg(cpu, c, R_EDI), size, reg_read(cpu, R_EAX, size));
		astep(cpu, c, R_EDI, 1);
		break;
	case K_INS:
		/* Check the destination before the port read, so a fault does
		 * not consume device data. */
		port = (uint16_t)cpu->r[R_EDX];
		mem_probe_write(cpu, S_ES, areg(cpu, c, R_EDI), size);
		v = cpu->bus->pio_read(cpu->bus->opaque, port, size);
		mem_write(cpu, S_ES, areg(cpu, c, R_EDI), size, v);
		astep(cpu, c, R_EDI, 1);
		debug_io_access(cpu, port, size);
		break;
	case K_OUTS:
		port = (uint16_t)cpu->r[R_EDX];
		v = mem_read(cpu, c->seg, areg(cpu, c, R_ESI), size);
		cpu->bus->pio_write(cpu->bus->opaque, port, size, v);
		astep(cpu, c, R_ESI, 1);
		debug_io_access(cpu, port, size);
		break;
	}
}

/* ---- fast path for REP MOVS / REP STOS ---- */

/* Is [off, off+len) inside the segment for this access? (The slow path
 * raises the fault if not.) */
static int seg_range_ok(const struct cpu *cpu, int s, uint32_t off, uint32_t len, int want)
{
	const struct seg *sg = &cpu->seg[s];
	uint32_t last = off + len - 1;
	return (sg->ok & want) && off >= sg->lo && last <= sg->hi && last >= off;
}

/* How many of n elements starting at offset off (moving by delta) stay
 * inside one page and do not wrap the address size; sets *low to the
 * lowest offset touched. 0 if the first element crosses a page. */
static uint32_t run_len(const struct cpu *cpu, const struct sctx *c, int s, uint32_t off, uint32_t n,
			uint32_t *low)
{
	uint32_t size = (uint32_t)c->size;
	uint32_t lin = cpu->seg[s].base + off;
	uint32_t in_page = lin & 0xfff;
	if (in_page + size > 0x1000)
		return 0;
	uint32_t k;
	if (c->delta > 0) {
		k = (0x1000 - in_page) / size;
		uint32_t to_wrap = (c->amask - off) / size + 1;
		if (k > to_wrap)
			k = to_wrap;
		if (k > n)
			k = n;
		*low = off;
	} else {
		k = in_page / size + 1;
		uint32_t to_wrap = off / size + 1;
		if (k > to_wrap)
			k = to_wrap;
		if (k > n)
			k = n;
		*low = off - (k - 1) * size;
	}
	return k;
}

/* Try to do up to n iterations of REP MOVS/STOS straight on host memory.
 * Returns the number done (0: take the slow path for one iteration). */
static uint32_t str_fast(struct cpu *cpu, const struct sctx *c, uint32_t n)
{
	uint32_t size = (uint32_t)c->size;
	uint32_t dlow, slow = 0;
	uint32_t di = areg(cpu, c, R_EDI);
	uint32_t k = run_len(cpu, c, S_ES, di, n, &dlow);
	if (c->kind == K_MOVS) {
		uint32_t si = areg(cpu, c, R_ESI);
		uint32_t ks = run_len(cpu, c, c->seg, si, k, &slow);
		if (ks < k) {
			k = ks;
			/* recompute the lowest destination offset for k */
			if (c->delta < 0)
				dlow = di - (k - 1) * size;
		}
		if (k && c->delta < 0)
			slow = si - (k - 1) * size;
	}
	if (k == 0)
		return 0;
	uint32_t bytes = k * size;
	if (!seg_range_ok(cpu, S_ES, dlow, bytes, SEG_OK_WRITE))
		return 0;
	uint8_t *pd = tlb_hit(cpu, cpu->seg[S_ES].base + dlow, (int)bytes, ACC_W);
	if (!pd)
		return 0;
	if (c->kind == K_STOS) {
		uint32_t v = reg_read(cpu, R_EAX, c->size);
		if (size == 1)
			memset(pd, (int)v, bytes);
		else
			for (uint32_t i = 0; i < k; i++)
				store_le(pd + i * size, c->size, v);
		astep(cpu, c, R_EDI, (int32_t)k);
		return k;
	}
	if (!seg_range_ok(cpu, c->seg, slow, bytes, SEG_OK_READ))
		return 0;
	uint8_t *ps = tlb_hit(cpu, cpu->seg[c->seg].base + slow, (int)bytes, ACC_R);
	if (!ps)
		return 0;
	if (ps + bytes <= pd || pd + bytes <= ps) {
		memcpy(pd, ps, bytes);
	} else if (c->delta > 0) {
		for (uint32_t i = 0; i < k; i++)
			store_le(pd + i * size, c->size, load_le(ps + i * size, c->size));
	} else {
		for (uint32_t i = k; i-- > 0;)
			store_le(pd + i * size, c->size, load_le(ps + i * size, c->size));
	}
	astep(cpu, c, R_ESI, (int32_t)k);
	astep(cpu, c, R_EDI, (int32_t)k);
	return k;
}

/* ---- the driver ---- */

/* May the instruction stop at this iteration boundary to be resumed from
 * its bytes in memory? The processor fetched it once and re-fetches it
 * only after delivering an event, so once this run wrote a page holding
 * decoded code (block_invalidate_page set block_break, perhaps over the
 * instruction's own bytes) it goes on until an event is there to take.
 * With IF = 1 an event may be due that only the board can see (a timer
 * past the run's deadline): then it stops, so the guest's timers are not
 * held for the rest of a count that may be 4 G. */
static int may_suspend(const struct cpu *cpu, int wrote_code)
{
	if (!wrote_code)
		return 1;
	if (cpu->stop_request || cpu_nmi_ready(cpu) || (cpu->intr_line && (cpu->eflags & FL_IF)) ||
	    (cpu->eflags & FL_TF))
		return 1;
	if (!(cpu->eflags & FL_IF))
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec >= cpu->run_deadline_ns;
}

static void str_run(struct cpu *cpu, const struct insn *in, enum str_kind kind)
{
	struct sctx c;
	c.kind = kind;
	c.size = in->osize;
	c.seg = in->seg;
	c.amask = in->asize == 2 ? 0xffffu : 0xffffffffu;
	c.delta = (cpu->eflags & FL_DF) ? -c.size : c.size;
	int rep = in->rep;

	if (!rep) {
		if (kind == K_INS || kind == K_OUTS)
			io_check(cpu, (uint16_t)cpu->r[R_EDX], c.size);
		str_one(cpu, &c);
		return;
	}
	uint32_t count = cpu->r[R_ECX] & c.amask;
	if (count == 0)
		return;
	if (kind == K_INS || kind == K_OUTS)
		io_check(cpu, (uint16_t)cpu->r[R_EDX], c.size);
	int compare = kind == K_CMPS || kind == K_SCAS;
	int fast = kind == K_MOVS || kind == K_STOS;
	/* Under TF the single-step trap follows each iteration of a repeated
	 * string instruction (SDM Vol. 3, "Single-Step Exception Condition"),
	 * so run one and resume. */
	uint32_t budget = (cpu->eflags & FL_TF) ? 1 : STR_BUDGET;
	for (;;) {
		if (!budget) {
			if (may_suspend(cpu, cpu->block_break))
				break;
			budget = STR_BUDGET;
		}
		uint32_t done = 0;
		if (fast)
			done = str_fast(cpu, &c, count < budget ? count : budget);
		if (done) {
			count -= done;
			budget -= done;
		} else {
			str_one(cpu, &c);
			count--;
			budget = budget > STR_SLOW_COST ? budget - STR_SLOW_COST : 0;
		}
		aset(cpu, &c, R_ECX, count);
		if (count == 0)
			return;
		/* REPE stops on ZF = 0, REPNE on ZF = 1 (CMPS/SCAS only; F2
		 * before other string instructions acts as plain REP). */
		if (compare && (rep == REP_E) != ((cpu->eflags & FL_ZF) != 0))
			return;
		/* A data or I/O breakpoint hit: the #DB trap comes after this
		 * iteration, and the instruction resumes after the handler
		 * (SDM Vol. 3, "Data Memory and I/O Breakpoint Exception
		 * Conditions": repeated string instructions). */
		if (cpu->db_pending & 0xfu)
			break;
	}
	/* Budget spent (or a breakpoint hit): resume this instruction after a
	 * block boundary. */
	cpu->next_eip = cpu->eip;
	cpu->block_break = 1;
}


static void op_movs(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_MOVS); }
static void op_cmps(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_CMPS); }
static void op_scas(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_SCAS); }
static void op_lods(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_LODS); }
static void op_stos(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_STOS); }
static void op_ins(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_INS); }
static void op_outs(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_OUTS); }

const struct op_entry ops_string_table[] = {
	{ZYDIS_MNEMONIC_MOVSB, op_movs, 0, 0},
	{ZYDIS_MNEMONIC_MOVSW, op_movs, 0, 0},
	{ZYDIS_MNEMONIC_MOVSD, op_movs, 0, 0},
	{ZYDIS_MNEMONIC_CMPSB, op_cmps, 0, 0},
	{ZYDIS_MNEMONIC_CMPSW, op_cmps, 0, 0},
	{ZYDIS_MNEMONIC_CMPSD, op_cmps, 0, 0},
	{ZYDIS_MNEMONIC_SCASB, op_scas, 0, 0},
	{ZYDIS_MNEMONIC_SCASW, op_scas, 0, 0},
	{ZYDIS_MNEMONIC_SCASD, op_scas, 0, 0},
	{ZYDIS_MNEMONIC_LODSB, op_lods, 0, 0},
	{ZYDIS_MNEMONIC_LODSW, op_lods, 0, 0},
	{ZYDIS_MNEMONIC_LODSD, op_lods, 0, 0},
	{ZYDIS_MNEMONIC_STOSB, op_stos, 0, 0},
	{ZYDIS_MNEMONIC_STOSW, op_stos, 0, 0},
	{ZYDIS_MNEMONIC_STOSD, op_stos, 0, 0},
	{ZYDIS_MNEMONIC_INSB, op_ins, 0, 0},
	{ZYDIS_MNEMONIC_INSW, op_ins, 0, 0},
	{ZYDIS_MNEMONIC_INSD, op_ins, 0, 0},
	{ZYDIS_MNEMONIC_OUTSB, op_outs, 0, 0},
	{ZYDIS_MNEMONIC_OUTSW, op_outs, 0, 0},
	{ZYDIS_MNEMONIC_OUTSD, op_outs, 0, 0},
	{0, 0, 0, 0},
};
