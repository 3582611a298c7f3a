/* Handlers: system instructions (SDM Vol. 2 pages of each mnemonic;
 * Vol. 3 ch. 2.5 control registers, 4 paging, 5.9 privileged
 * instructions). Every privileged one checks CPL 0 first, which also
 * rejects virtual-8086 mode (CPL 3 there). */
#include "cpu/cpumodel.h"
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/msr.h"
#include "cpu/xfer.h"

static inline void need_cpl0(struct cpu *cpu)
{
	if (cpu->cpl != 0)
		raise_gp(cpu, 0);
}

static void op_hlt(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu);
	cpu->halted = 1;
	cpu->block_break = 1;
}

/* ---- control registers ---- */

/* CR0 bits a P6 implements; the rest are reserved and writes to them are
 * ignored in 32-bit mode (MOV CR: #GP only for CR0[63:32]). ET is
 * hardwired to 1 on the P6. */
#define CR0_IMPLEMENTED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | \
			 CR0_CD | CR0_PG)

/* PAE paging: MOV to CR0/CR3/CR4 that leaves PG and PAE set loads the
 * PDPTEs (SDM 4.4.1), before anything changes: a reserved bit in one is
 * #GP(0) with the register unchanged. */
static void pae_load(struct cpu *cpu, uint32_t cr0, uint32_t cr3, uint32_t cr4)
{
	if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !mmu_pdptes_load(cpu, cr3))
		raise_gp(cpu, 0);
}

/* Flush what depends on CR0 after a change from old. */
static void cr0_changed(struct cpu *cpu, uint32_t old)
{
	if ((old ^ cpu->cr0) & (CR0_PG | CR0_WP | CR0_PE))
		tlb_flush_all(cpu, 0);
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	cpu_update_mode(cpu);
	cpu->block_break = 1;
	if (cpu->xfer && ((old ^ cpu->cr0) & CR0_PE)) {
		from.mode = (old & CR0_PE) ? (uint8_t)XMODE_PROT : (uint8_t)XMODE_REAL;
		xfer_emit(cpu, &from, XFER_MODE, -1, 0, 0, 0, 0, 0);
	}
}

static void write_cr(struct cpu *cpu, int n, uint32_t v)
{
	uint32_t old;
	switch (n) {
	case 0:
		v = (v & CR0_IMPLEMENTED) | CR0_ET;
		/* Invalid combinations (MOV CR, #GP(0)). */
		if ((v & CR0_PG) && !(v & CR0_PE))
			raise_gp(cpu, 0);
		if ((v & CR0_NW) && !(v & CR0_CD))
			raise_gp(cpu, 0);
		if ((v & ~cpu->cr0 & CR0_PG) || ((v ^ cpu->cr0) & (CR0_CD | CR0_NW)))
			pae_load(cpu, v, cpu->cr3, cpu->cr4);
		old = cpu->cr0;
		cpu->cr0 = v;
		cr0_changed(cpu, old);
		break;
	case 2:
		cpu->cr2 = v;
		break;
	case 3:
		/* Bits 0-2 and 5-11 are ignored with 32-bit paging (SDM Table
		 * 4-3), 0-4 with PAE; a load flushes all but global
		 * translations (4.10.4.1). */
		pae_load(cpu, cpu->cr0, v, cpu->cr4);
		cpu->cr3 = v;
		tlb_flush_all(cpu, 1);
		cpu->block_break = 1;
		break;
	case 4:
		if (v & ~cpu_cr4_valid(cpu))
			raise_gp(cpu, 0); /* reserved or not on this model (MCE; PAE, VME...) */
		if ((v ^ cpu->cr4) & (CR4_PAE | CR4_PGE | CR4_PSE))
			pae_load(cpu, cpu->cr0, cpu->cr3, v);
		old = cpu->cr4;
		cpu->cr4 = v;
		if ((old ^ v) & (CR4_PGE | CR4_PSE | CR4_PAE))
			tlb_flush_all(cpu, 0);
		cpu->block_break = 1;
		break;
	}
}

/* MOV to/from CR0/CR2/CR3/CR4; the MOV handler of ops_move.c dispatches
 * here. */
void sys_mov_cr(struct cpu *cpu, const struct insn *in);
void sys_mov_cr(struct cpu *cpu, const struct insn *in)
{
	int to_cr = in->op[0].kind == OPK_CR;
	int n = to_cr ? in->op[0].reg : in->op[1].reg;
	int gpr = to_cr ? in->op[1].reg : in->op[0].reg;
	if (n != 0 && n != 2 && n != 3 && n != 4)
		raise_ud(cpu); /* CR1, CR5-CR7 */
	need_cpl0(cpu);
	if (to_cr) {
		write_cr(cpu, n, cpu->r[gpr]);
		return;
	}
	cpu->r[gpr] = n == 0 ? cpu->cr0 : n == 2 ? cpu->cr2 : n == 3 ? cpu->cr3 : cpu->cr4;
}

/* LMSW loads PE, MP, EM and TS only, and cannot clear PE. */
static void op_lmsw(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu);
	uint32_t src = op_read(cpu, in, 0) & 0xf;
	uint32_t old = cpu->cr0;
	cpu->cr0 = (old & ~(CR0_MP | CR0_EM | CR0_TS)) | src | (old & CR0_PE);
	cr0_changed(cpu, old);
}

/* SMSW: any CPL. A 32-bit register destination gets all of CR0 (P6);
 * memory always 16 bits. */
static void op_smsw(struct cpu *cpu, const struct insn *in)
{
	op_write(cpu, in, 0, in->op[0].kind == OPK_REG ? cpu->cr0 : (cpu->cr0 & 0xffff));
}

static void op_clts(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu);
	cpu->cr0 &= ~CR0_TS;
}

/* ---- descriptor table registers ---- */

static uint32_t ea_plus(const struct insn *in, uint32_t ea, uint32_t k)
{
	return in->asize == 2 ? ((ea + k) & 0xffff) : ea + k;
}

static void load_dtr(struct cpu *cpu, const struct insn *in, struct dtr *d)
{
	need_cpl0(cpu);
	if (in->op[0].kind != OPK_MEM)
		raise_ud(cpu);
	uint32_t ea = insn_ea(cpu, in);
	uint32_t limit = mem_read(cpu, in->seg, ea, 2);
	uint32_t base = mem_read(cpu, in->seg, ea_plus(in, ea, 2), 4);
	if (in->osize == 2)
		base &= 0x00ffffffu; /* 16-bit operand size: 24-bit base */
	d->limit = (uint16_t)limit;
	d->base = base;
}

/* SGDT/SIDT are not privileged on a P6 (no UMIP). With a 16-bit operand
 * the high base byte is stored as 0 (SDM SGDT, IA-32 compatibility). */
static void store_dtr(struct cpu *cpu, const struct insn *in, const struct dtr *d)
{
	if (in->op[0].kind != OPK_MEM)
		raise_ud(cpu);
	uint32_t ea = insn_ea(cpu, in);
	uint32_t ea2 = ea_plus(in, ea, 2);
	mem_probe_write(cpu, in->seg, ea, 2);
	mem_probe_write(cpu, in->seg, ea2, 4);
	mem_write(cpu, in->seg, ea, 2, d->limit);
	mem_write(cpu, in->seg, ea2, 4, in->osize == 2 ? (d->base & 0x00ffffffu) : d->base);
}

static void op_lgdt(struct cpu *cpu, const struct insn *in) { load_dtr(cpu, in, &cpu->gdtr); }
static void op_lidt(struct cpu *cpu, const struct insn *in) { load_dtr(cpu, in, &cpu->idtr); }
static void op_sgdt(struct cpu *cpu, const struct insn *in) { store_dtr(cpu, in, &cpu->gdtr); }
static void op_sidt(struct cpu *cpu, const struct insn *in) { store_dtr(cpu, in, &cpu->idtr); }

/* ---- caches and TLB ---- */

static void op_invd(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu); /* no caches to drop */
}

/* A 4 MiB page is cached as up to 1024 separate 4 KiB entries, and
 * INVLPG must drop the whole page (SDM 4.10.4.1). With PSE on, drop every
 * entry whose tag lies in the 4 MiB region of the address; the TLB has
 * 1024 slots per set, so that is one compare per slot. */
static void tlb_flush_region(struct cpu *cpu, uint32_t lin)
{
	uint32_t region = lin & 0xffc00000u;
	for (int u = 0; u < 2; u++) {
		for (uint32_t i = 0; i < TLB_SIZE; i++) {
			const struct tlb_entry *e = &cpu->tlb.e[u][i];
			if ((e->tag_r & 0xffc00000u) == region || (e->tag_w & 0xffc00000u) == region ||
			    (e->tag_x & 0xffc00000u) == region)
				tlb_flush_page(cpu, e->tag_r != TLB_INVALID ? e->tag_r
						    : e->tag_w != TLB_INVALID ? e->tag_w : e->tag_x);
		}
	}
}

static void op_invlpg(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu);
	if (in->op[0].kind != OPK_MEM)
		raise_ud(cpu);
	/* No segment limit or paging check: only the linear address matters. */
	uint32_t lin = cpu->seg[in->seg].base + insn_ea(cpu, in);
	tlb_flush_page(cpu, lin);
	if (cpu->cr4 & CR4_PSE)
		tlb_flush_region(cpu, lin);
	cpu->block_break = 1;
}

/* ---- MSRs, counters, CPUID ---- */

static void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu);
	uint64_t v;
	if (msr_read(cpu, cpu->r[R_ECX], &v) != 0)
		raise_gp(cpu, 0);
	cpu->r[R_EAX] = (uint32_t)v;
	cpu->r[R_EDX] = (uint32_t)(v >> 32);
}

static void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
	need_cpl0(cpu);
	uint64_t v = ((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX];
	if (msr_write(cpu, cpu->r[R_ECX], v) != 0)
		raise_gp(cpu, 0);
}

static void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
	if ((cpu->cr4 & CR4_TSD) && cpu->cpl != 0)
		raise_gp(cpu, 0);
	uint64_t t = cpu_tsc(cpu);
	cpu->r[R_EAX] = (uint32_t)t;
	cpu->r[R_EDX] = (uint32_t)(t >> 32);
}

/* RDPMC: counters 0 and 1 exist on a P6; we count nothing and read 0. */
static void op_rdpmc(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cr4 & CR4_PCE) && cpu->cpl != 0)
		raise_gp(cpu, 0);
	if (cpu->r[R_ECX] > 1)
		raise_gp(cpu, 0);
	cpu->r[R_EAX] = 0;
	cpu->r[R_EDX] = 0;
}

static void op_cpuid(struct cpu *cpu, const struct insn *in)
{
	uint32_t out[4];
	cpuid_query(cpu, cpu->r[R_EAX], out);
	cpu->r[R_EAX] = out[0];
	cpu->r[R_EBX] = out[1];
	cpu->r[R_ECX] = out[2];
	cpu->r[R_EDX] = out[3];
}

/* ---- fast system calls (SDM SYSENTER, SYSEXIT) ---- */

#define FLAT_LIMIT 0xffffffffu

static void op_sysenter(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cr0 & CR0_PE) || (cpu->sysenter_cs & 0xfffc) == 0)
		raise_gp(cpu, 0);
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	cpu_set_eflags(cpu, 0, FL_VM | FL_IF | FL_RF);
	uint16_t cs = (uint16_t)(cpu->sysenter_cs & 0xfffc);
	/* Flat 32-bit ring-0 code (type 11, accessed) and data (type 3). */
	seg_set_cache(&cpu->seg[S_CS], cs, 0, FLAT_LIMIT, 0xc09b);
	seg_set_cache(&cpu->seg[S_SS], (uint16_t)(cs + 8), 0, FLAT_LIMIT, 0xc093);
	cpu->r[R_ESP] = cpu->sysenter_esp;
	cpu->next_eip = cpu->sysenter_eip;
	cpu_update_mode(cpu);
	cpu->block_break = 1;
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_SYSENTER, -1, 0, 0, 0, 0, 0);
}

static void op_sysexit(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cr0 & CR0_PE) || (cpu->sysenter_cs & 0xfffc) == 0 || cpu->cpl != 0)
		raise_gp(cpu, 0);
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	uint16_t cs = (uint16_t)((cpu->sysenter_cs + 16) | 3);
	uint16_t ss = (uint16_t)((cpu->sysenter_cs + 24) | 3);
	seg_set_cache(&cpu->seg[S_CS], cs, 0, FLAT_LIMIT, 0xc0fb);
	seg_set_cache(&cpu->seg[S_SS], ss, 0, FLAT_LIMIT, 0xc0f3);
	cpu->r[R_ESP] = cpu->r[R_ECX];
	cpu->next_eip = cpu->r[R_EDX];
	cpu_update_mode(cpu);
	cpu->block_break = 1;
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_SYSEXIT, -1, 0, 0, 0, 0, 0);
}

static void op_ud2(struct cpu *cpu, const struct insn *in)
{
	raise_ud(cpu);
}

const struct op_entry ops_system_table[] = {
	{ZYDIS_MNEMONIC_HLT, op_hlt, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_LMSW, op_lmsw, 0, 0},
	{ZYDIS_MNEMONIC_SMSW, op_smsw, 0, 0},
	{ZYDIS_MNEMONIC_CLTS, op_clts, 0, 0},
	{ZYDIS_MNEMONIC_LGDT, op_lgdt, 0, 0},
	{ZYDIS_MNEMONIC_LIDT, op_lidt, 0, 0},
	{ZYDIS_MNEMONIC_SGDT, op_sgdt, 0, 0},
	{ZYDIS_MNEMONIC_SIDT, op_sidt, 0, 0},
	{ZYDIS_MNEMONIC_INVD, op_invd, 0, 0},
	{ZYDIS_MNEMONIC_WBINVD, op_invd, 0, 0},
	{ZYDIS_MNEMONIC_INVLPG, op_invlpg, 0, 0},
	{ZYDIS_MNEMONIC_RDMSR, op_rdmsr, 0, 0},
	{ZYDIS_MNEMONIC_WRMSR, op_wrmsr, 0, 0},
	{ZYDIS_MNEMONIC_RDTSC, op_rdtsc, 0, 0},
	{ZYDIS_MNEMONIC_RDPMC, op_rdpmc, 0, 0},
	{ZYDIS_MNEMONIC_CPUID, op_cpuid, 0, 0},
	{ZYDIS_MNEMONIC_SYSENTER, op_sysenter, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_SYSEXIT, op_sysexit, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_UD2, op_ud2, INSN_ENDS_BLOCK, 0},
	{0, 0, 0, 0},
};
