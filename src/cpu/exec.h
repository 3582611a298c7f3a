/* What instruction handlers share: the decoded instruction record, operand
 * access, guest memory access through segmentation and the TLB, the stack,
 * and raising exceptions. Internal to cpu/ and the engines.
 *
 * Conventions every handler follows:
 * - cpu->eip is the start of the instruction while the handler runs; a
 *   handler changes control flow only by writing cpu->next_eip (and CS).
 * - All checks that can fault come before any architectural state is
 *   written, so a fault leaves the guest as the previous instruction left
 *   it (precise exceptions). cpu_raise() never returns.
 * - A handler that changes anything a decoded block depends on (CS, mode,
 *   paging, IF, TF...) sets cpu->block_break.
 */
#ifndef RINGVM_EXEC_H
#define RINGVM_EXEC_H

#include <stdint.h>
#include <string.h>

#include <Zydis/Mnemonic.h>

#include "cpu/cpu.h"

/* ---- the decoded instruction record ---- */

enum opk {
	OPK_NONE,
	OPK_REG,  /* general register; size 1 uses AL..BH encoding 0..7 */
	OPK_MEM,  /* memory at seg:ea(insn) */
	OPK_IMM,  /* insn->imm (op 0 or 1) or insn->imm2 (second immediate) */
	OPK_SREG, /* segment register S_ES.. */
	OPK_CR,   /* control register n */
	OPK_DR,   /* debug register n */
	OPK_ST,   /* x87 ST(n) */
	OPK_PTR,  /* far pointer immediate: imm2 = selector, imm = offset */
	OPK_REL,  /* relative branch target: imm = displacement */
	OPK_AGEN, /* LEA's address: ea(insn) without segment */
	OPK_XMM,  /* XMM register n (SSE) */
	OPK_MM,   /* MMX register n: the x87 register Rn's significand */
};

#define REG_NONE 0xff

struct opnd {
	uint8_t kind;
	uint8_t size; /* bytes: 1, 2, 4, 6 (far/m16:32), 8, 10, ... */
	uint8_t reg;
	uint8_t imm_idx; /* for OPK_IMM: 0 -> insn->imm, 1 -> insn->imm2;
			  * for a register: 1 if ModRM.rm encodes it */
};

struct insn;
typedef void (*insn_fn)(struct cpu *cpu, const struct insn *in);

struct insn {
	insn_fn fn;
	uint16_t mnem;   /* ZydisMnemonic, for traces */
	uint8_t len;
	uint8_t nop;     /* visible operands in op[] */
	uint8_t osize;   /* operand width in bytes: 1, 2 or 4 */
	uint8_t asize;   /* address size: 2 or 4 */
	uint8_t seg;     /* segment of the memory operand (string source) */
	uint8_t rep;     /* 0, REP_E (REP/REPE) or REP_NE */
	uint8_t lock;
	uint8_t base, index, scale; /* REG_NONE when absent; scale is a shift */
	uint8_t opcode;  /* last opcode byte */
	uint8_t map;     /* 0: one-byte map, 1: 0F, 2: 0F38, 3: 0F3A */
	uint8_t modrm;   /* raw ModRM byte (0 when none) */
	uint8_t flags;   /* INSN_* */
	struct opnd op[3];
	int32_t disp;
	uint32_t imm;
	uint32_t imm2;
};
#define REP_E 1
#define REP_NE 2
#define INSN_HAS_MODRM 1
#define INSN_ENDS_BLOCK 2
/* The mandatory prefix of an SSE/MMX instruction (flags bits 4-5):
 * 0 none, 1 0x66, 2 0xF3, 3 0xF2. */
#define INSN_PFX_SHIFT 4
#define INSN_PFX_MASK 0x30

/* A handler table entry: ops files export a table of these, ended by a
 * zero mnemonic; decode.c maps each mnemonic to its handler. select, when
 * set, picks a form-specialised handler at decode time. */
struct op_entry {
	uint16_t mnem;
	insn_fn fn;
	uint8_t flags; /* INSN_ENDS_BLOCK for control transfers */
	insn_fn (*select)(const struct insn *in);
};

/* ---- exceptions ---- */

/* Raise a fault: unwinds to the engine, which delivers it. */
_Noreturn void cpu_raise(struct cpu *cpu, int vector, int has_error, uint32_t error);
static inline _Noreturn void raise_gp(struct cpu *cpu, uint32_t err) { cpu_raise(cpu, EXC_GP, 1, err); }
static inline _Noreturn void raise_ud(struct cpu *cpu) { cpu_raise(cpu, EXC_UD, 0, 0); }
static inline _Noreturn void raise_ss(struct cpu *cpu, uint32_t err) { cpu_raise(cpu, EXC_SS, 1, err); }

/* Deliver an interrupt or exception through the IVT/IDT (intr.c).
 * kind says how it arose; ret_eip is the EIP pushed. On return the CPU is
 * at the handler. May itself raise (nested faults become #DF/shutdown). */
enum intr_kind { INTR_EXC, INTR_SOFT, INTR_EXT, INTR_NMI, INTR_ICEBP };
void cpu_deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error,
		 uint32_t error, uint32_t ret_eip);
/* Handle cpu->exc_* after an unwind: double-fault logic and delivery. */
void cpu_handle_exception(struct cpu *cpu);

/* ---- registers ---- */

static inline uint32_t reg_read(const struct cpu *cpu, int r, int size)
{
	switch (size) {
	case 1: return r < 4 ? cpu->r[r] & 0xff : (cpu->r[r - 4] >> 8) & 0xff;
	case 2: return cpu->r[r] & 0xffff;
	default: return cpu->r[r];
	}
}

static inline void reg_write(struct cpu *cpu, int r, int size, uint32_t v)
{
	switch (size) {
	case 1:
		if (r < 4)
			cpu->r[r] = (cpu->r[r] & ~0xffu) | (v & 0xff);
		else
			cpu->r[r - 4] = (cpu->r[r - 4] & ~0xff00u) | ((v & 0xff) << 8);
		break;
	case 2: cpu->r[r] = (cpu->r[r] & ~0xffffu) | (v & 0xffff); break;
	default: cpu->r[r] = v; break;
	}
}

static inline uint32_t size_mask(int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* ---- memory ---- */

enum { ACC_R = 0, ACC_W = 1, ACC_X = 2 };
/* or'ed into acc: a supervisor-mode access regardless of CPL (descriptor
 * tables, TSS, IDT: SDM Vol. 3, 5.6 "implicit supervisor accesses") */
#define ACC_SYS 4

/* Slow paths (mem.c): page walk, TLB fill, page-crossing, MMIO, ROM, SMC.
 * lin is a linear address; these raise #PF. */
uint32_t mem_lin_read_slow(struct cpu *cpu, uint32_t lin, int size, int acc);
void mem_lin_write_slow(struct cpu *cpu, uint32_t lin, int size, uint32_t v, int acc);
/* Translate for the given access (raising #PF); returns the physical address. */
uint64_t mmu_translate(struct cpu *cpu, uint32_t lin, int acc);
void tlb_flush_all(struct cpu *cpu, int keep_global);
void tlb_flush_page(struct cpu *cpu, uint32_t lin);
/* Drop cached write permission for a physical page that now holds code. */
void tlb_unwrite_ppage(struct cpu *cpu, uint64_t ppage);
/* Forget every cached write permission (the dirty log was cleared). */
void tlb_unwrite_all(struct cpu *cpu);
/* Code fetch for the decoder: len bytes at lin within one page; returns
 * the physical address. Raises #PF. */
uint64_t mem_fetch_page(struct cpu *cpu, uint32_t lin, uint8_t *buf, uint32_t len);
bool mem_is_ram(struct cpu *cpu, uint64_t pa);
/* PAE (mem.c): load the four PDPTEs from the table cr3 points to, as
 * MOV CR3/CR0/CR4 do. false (nothing loaded) if a present one has a
 * reserved bit set: the caller's #GP(0). */
bool mmu_pdptes_load(struct cpu *cpu, uint32_t cr3);
/* The page number of RAM page ppage within the RAM block (its host
 * offset / 4096), or UINT32_MAX if ppage is not RAM: the block cache's
 * per-page index. */
static inline uint32_t mem_ram_pn(const struct cpu *cpu, uint64_t ppage)
{
	const struct cpu_memmap *m = &cpu->mem;
	if (ppage < m->ram_low)
		return (uint32_t)(ppage >> 12);
	if (ppage >= PHYS_4G && ppage - PHYS_4G < m->ram_size - m->ram_low)
		return (uint32_t)((ppage - PHYS_4G + m->ram_low) >> 12);
	return UINT32_MAX;
}
/* The host byte of physical address pa (A20 applied) when it is RAM or
 * ROM (*rom says which), NULL for MMIO: the debugger's memory view. */
uint8_t *mem_phys_host(struct cpu *cpu, uint64_t pa, int *rom);
/* Segment fault: #SS for SS, #GP otherwise (error code 0 for limit). */
_Noreturn void seg_fault(struct cpu *cpu, int s);

static inline int acc_user(const struct cpu *cpu, int acc)
{
	return !(acc & ACC_SYS) && cpu->cpl == 3;
}

static inline uint8_t *tlb_hit(struct cpu *cpu, uint32_t lin, int size, int acc)
{
	if (((lin & 0xfff) + (uint32_t)size) > 0x1000)
		return NULL;
	const struct tlb_entry *e = &cpu->tlb.e[acc_user(cpu, acc)][(lin >> 12) & (TLB_SIZE - 1)];
	uint32_t tag = (acc & 3) == ACC_R ? e->tag_r : (acc & 3) == ACC_W ? e->tag_w : e->tag_x;
	if (tag != (lin & ~0xfffu))
		return NULL;
	return (uint8_t *)(uintptr_t)(lin + e->addend);
}

static inline uint32_t load_le(const uint8_t *p, int size)
{
	switch (size) {
	case 1: return p[0];
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	default: { uint32_t v; memcpy(&v, p, 4); return v; }
	}
}

static inline void store_le(uint8_t *p, int size, uint32_t v)
{
	switch (size) {
	case 1: p[0] = (uint8_t)v; break;
	case 2: { uint16_t w = (uint16_t)v; memcpy(p, &w, 2); break; }
	default: memcpy(p, &v, 4); break;
	}
}

static inline uint32_t lin_read(struct cpu *cpu, uint32_t lin, int size, int acc)
{
	uint8_t *p = tlb_hit(cpu, lin, size, acc);
	if (p)
		return load_le(p, size);
	return mem_lin_read_slow(cpu, lin, size, acc);
}

static inline void lin_write(struct cpu *cpu, uint32_t lin, int size, uint32_t v, int acc)
{
	uint8_t *p = tlb_hit(cpu, lin, size, acc | ACC_W);
	if (p)
		store_le(p, size, v);
	else
		mem_lin_write_slow(cpu, lin, size, v, acc | ACC_W);
}

/* Segment check (SDM Vol. 3, 5.3 limit checking, 5.4 type checking):
 * returns the linear address of seg:off for an access of size bytes. */
static inline uint32_t seg_lin(struct cpu *cpu, int s, uint32_t off, int size, int want)
{
	const struct seg *sg = &cpu->seg[s];
	uint32_t last = off + (uint32_t)size - 1;
	if (__builtin_expect(!(sg->ok & want) || off < sg->lo || last > sg->hi || last < off, 0))
		seg_fault(cpu, s);
	uint32_t lin = sg->base + off;
	/* Alignment check (SDM Vol. 3, 6.15 #AC): CPL 3 with CR0.AM and
	 * EFLAGS.AC, an operand not aligned to its size. */
	if (__builtin_expect(cpu->ac_active, 0) && (lin & (uint32_t)(size - 1)) && size <= 8)
		cpu_raise(cpu, EXC_AC, 1, 0);
	return lin;
}

static inline uint32_t mem_read(struct cpu *cpu, int s, uint32_t off, int size)
{
	return lin_read(cpu, seg_lin(cpu, s, off, size, SEG_OK_READ), size, ACC_R);
}

static inline void mem_write(struct cpu *cpu, int s, uint32_t off, int size, uint32_t v)
{
	lin_write(cpu, seg_lin(cpu, s, off, size, SEG_OK_WRITE), size, v, ACC_W);
}

/* Check that a write would succeed (segment and page) without writing;
 * used by instructions that must check all destinations before commit. */
void mem_probe_write(struct cpu *cpu, int s, uint32_t off, int size);

/* ---- operands ---- */

static inline uint32_t insn_ea(const struct cpu *cpu, const struct insn *in)
{
	uint32_t ea = (uint32_t)in->disp;
	if (in->base != REG_NONE)
		ea += cpu->r[in->base];
	if (in->index != REG_NONE)
		ea += cpu->r[in->index] << in->scale;
	return in->asize == 2 ? (ea & 0xffff) : ea;
}

uint32_t op_read_slow(struct cpu *cpu, const struct insn *in, int n);
void op_write_slow(struct cpu *cpu, const struct insn *in, int n, uint32_t v);

static inline uint32_t op_read(struct cpu *cpu, const struct insn *in, int n)
{
	const struct opnd *o = &in->op[n];
	switch (o->kind) {
	case OPK_REG: return reg_read(cpu, o->reg, o->size);
	case OPK_MEM: return mem_read(cpu, in->seg, insn_ea(cpu, in), o->size);
	case OPK_IMM: return o->imm_idx ? in->imm2 : in->imm;
	default: return op_read_slow(cpu, in, n);
	}
}

static inline void op_write(struct cpu *cpu, const struct insn *in, int n, uint32_t v)
{
	const struct opnd *o = &in->op[n];
	switch (o->kind) {
	case OPK_REG: reg_write(cpu, o->reg, o->size, v); break;
	case OPK_MEM: mem_write(cpu, in->seg, insn_ea(cpu, in), o->size, v); break;
	default: op_write_slow(cpu, in, n, v); break;
	}
}

/* ---- stack (SS.B selects SP or ESP) ---- */

static inline uint32_t sp_mask(const struct cpu *cpu) { return cpu->stack32 ? 0xffffffffu : 0xffffu; }

static inline uint32_t stack_ptr(const struct cpu *cpu) { return cpu->r[R_ESP] & sp_mask(cpu); }

static inline void set_sp(struct cpu *cpu, uint32_t v)
{
	if (cpu->stack32)
		cpu->r[R_ESP] = v;
	else
		cpu->r[R_ESP] = (cpu->r[R_ESP] & 0xffff0000u) | (v & 0xffff);
}

static inline void push(struct cpu *cpu, int size, uint32_t v)
{
	uint32_t sp = (cpu->r[R_ESP] - (uint32_t)size) & sp_mask(cpu);
	mem_write(cpu, S_SS, sp, size, v);
	set_sp(cpu, sp);
}

/* Read the value at the top of the stack (offset skip) without popping. */
static inline uint32_t stack_peek(struct cpu *cpu, int size, uint32_t skip)
{
	return mem_read(cpu, S_SS, (stack_ptr(cpu) + skip) & sp_mask(cpu), size);
}

static inline uint32_t pop(struct cpu *cpu, int size)
{
	uint32_t v = stack_peek(cpu, size, 0);
	set_sp(cpu, stack_ptr(cpu) + (uint32_t)size);
	return v;
}

/* ---- flags ---- */

/* Write EFLAGS honouring reserved bits; callers apply privilege rules. */
void cpu_set_eflags(struct cpu *cpu, uint32_t v, uint32_t changeable);

/* Jump to an offset within the current code segment (near branch):
 * masks to the operand size and checks the CS limit (#GP(0)). */
static inline void branch_near(struct cpu *cpu, uint32_t target, int osize)
{
	if (osize == 2)
		target &= 0xffff;
	if (target > cpu->seg[S_CS].hi)
		raise_gp(cpu, 0);
	cpu->next_eip = target;
}

/* ---- segments (seg.c) ---- */

/* MOV/POP to a segment register with every protected-mode check
 * (SDM Vol. 3, 5.10; MOV instruction pseudo-code). */
void seg_load(struct cpu *cpu, int s, uint16_t sel);

/* ---- handler tables, one per ops file ---- */

extern const struct op_entry ops_alu_table[];
extern const struct op_entry ops_shift_table[];
extern const struct op_entry ops_muldiv_table[];
extern const struct op_entry ops_bcd_table[];
extern const struct op_entry ops_bit_table[];
extern const struct op_entry ops_move_table[];
extern const struct op_entry ops_stack_table[];
extern const struct op_entry ops_string_table[];
extern const struct op_entry ops_branch_table[];
extern const struct op_entry ops_flags_table[];
extern const struct op_entry ops_io_table[];
extern const struct op_entry ops_far_table[];
extern const struct op_entry ops_system_table[];
extern const struct op_entry ops_misc_table[];
extern const struct op_entry ops_x87_table[];
extern const struct op_entry ops_sse_table[];
extern const struct op_entry ops_sse_shift_table[];
extern const struct op_entry ops_sse_alias_table[]; /* CMPSD, MOVSD: SSE2 forms */

#endif
