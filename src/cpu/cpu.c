/* CPU lifecycle, mode bookkeeping and state helpers shared by all engines. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/cpumodel.h"
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/msr.h"

static uint64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void seg_set_cache(struct seg *sg, uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr)
{
	sg->sel = sel;
	sg->base = base;
	sg->limit = limit;
	sg->attr = attr;
	sg->lo = 0;
	sg->hi = limit;
	sg->ok = 0;
	sg->fast = 0;
	if (!(attr & SEGA_P))
		return;
	if (!(attr & SEGA_S)) {
		/* system segment (LDT, TSS): not usable for data access */
		return;
	}
	if (attr & 0x8) { /* code */
		sg->ok = SEG_OK_EXEC | ((attr & 0x2) ? SEG_OK_READ : 0);
	} else {
		sg->ok = SEG_OK_READ | ((attr & 0x2) ? SEG_OK_WRITE : 0);
		if (attr & 0x4) { /* expand-down: valid offsets are limit+1 .. 64K/4G-1 */
			sg->lo = limit + 1;
			sg->hi = (attr & SEGA_DB) ? 0xffffffffu : 0xffffu;
			if (sg->lo == 0 && limit == 0xffffffffu)
				sg->ok = 0; /* empty segment */
		}
	}
	seg_fast_update(sg);
}

/* Real-mode and virtual-8086 segment loads: base = selector * 16.
 * Real mode keeps the cached limit (the "unreal mode" guests rely on) but
 * makes the segment usable; V86 forces a 64 KiB DPL 3 data segment. */
void seg_load_real(struct cpu *cpu, int s, uint16_t sel)
{
	struct seg *sg = &cpu->seg[s];
	uint8_t mode = cpu_block_mode(cpu);
	if (cpu->eflags & FL_VM) {
		seg_set_cache(sg, sel, (uint32_t)sel << 4, 0xffff,
			      s == S_CS ? 0xfb : 0xf3);
		sg->ok = SEG_OK_READ | SEG_OK_WRITE | SEG_OK_EXEC;
	} else {
		uint16_t attr = (uint16_t)((sg->attr & (SEGA_DB | SEGA_G)) | (s == S_CS ? 0x9b : 0x93));
		seg_set_cache(sg, sel, (uint32_t)sel << 4, sg->limit, attr);
		sg->ok = SEG_OK_READ | SEG_OK_WRITE | SEG_OK_EXEC;
	}
	seg_fast_update(sg);
	if (cpu_block_mode(cpu) != mode)
		cpu->block_break = 1; /* the rest of the block was made for the old mode */
	if (s == S_CS || s == S_SS)
		cpu_update_mode(cpu);
}

/* cpu_block_mode() names the TLB set by its index. */
_Static_assert(offsetof(struct tlb, none) - offsetof(struct tlb, e) == 2 * sizeof(((struct tlb *)0)->e[0]),
	       "tlb.none must follow tlb.e");

void cpu_update_mode(struct cpu *cpu)
{
	int pe = (cpu->cr0 & CR0_PE) != 0;
	int vm = pe && (cpu->eflags & FL_VM);
	cpu->pmode = (uint8_t)(pe && !vm);
	cpu->cpl = (uint8_t)(!pe ? 0 : vm ? 3 : (cpu->seg[S_CS].sel & 3));
	cpu->ac_active = (cpu->cr0 & CR0_AM) && (cpu->eflags & FL_AC) && cpu->cpl == 3;
	cpu->tlb_set_off = cpu->ac_active ? (uint32_t)offsetof(struct tlb, none) - (uint32_t)offsetof(struct tlb, e)
			   : cpu->cpl == 3 ? (uint32_t)sizeof(cpu->tlb.e[0]) : 0;
	cpu->code32 = (cpu->seg[S_CS].attr & SEGA_DB) ? 1 : 0;
	cpu->stack32 = (cpu->seg[S_SS].attr & SEGA_DB) ? 1 : 0;
	if (!cpu->pmode) {
		/* Real and V86 segments are always usable whatever cache they had. */
		for (int s = 0; s < S_NSEG; s++) {
			cpu->seg[s].ok = SEG_OK_READ | SEG_OK_WRITE | SEG_OK_EXEC;
			seg_fast_update(&cpu->seg[s]);
		}
	}
	cpu->block_break = 1;
}

void cpu_set_eflags(struct cpu *cpu, uint32_t v, uint32_t changeable)
{
	/* Bits 1 is always one; 3, 5, 15 and 22-31 are always zero. VIF/VIP
	 * mean something only under CR4.VME/PVI (vme.c). */
	uint32_t impl = 0x003f7fd5u;
	changeable &= impl;
	uint32_t old = cpu->eflags;
	cpu->eflags = ((old & ~changeable) | (v & changeable)) | FL_1;
	/* Clearing IF makes nothing deliverable (as CLI): no break for it. */
	if (((old ^ cpu->eflags) & (FL_VM | FL_TF | FL_RF | FL_IOPL | FL_AC)) || (cpu->eflags & ~old & FL_IF))
		cpu->block_break = 1;
	if ((old ^ cpu->eflags) & (FL_VM | FL_AC))
		cpu_update_mode(cpu);
}

int cpu_init(struct cpu *cpu, const struct cpu_memmap *mem, const struct cpu_bus *bus)
{
	memset(cpu, 0, sizeof(*cpu));
	/* The TLB maps whole pages to host memory: RAM and ROM must be whole
	 * pages, or a guest could reach past them through the last one. */
	if ((mem->ram_size & 0xfff) || (mem->rom && (mem->rom_size & 0xfff || !mem->rom_size)))
		return -1;
	cpu->mem = *mem;
	if (!cpu->mem.ram_low) {
		if (mem->ram_size >= PHYS_4G)
			return -1;
		cpu->mem.ram_low = (uint32_t)mem->ram_size;
	}
	if ((cpu->mem.ram_low & 0xfff) || cpu->mem.ram_low > mem->ram_size)
		return -1;
	memset(cpu->mem.pam, CPU_PAM_READ, sizeof(cpu->mem.pam));
	cpu->bus = bus;
	cpu->model = CPU_MODEL_DEFAULT;
	cpu->feat = cpu->model->edx1;
	cpu->bc = block_cache_new(mem->ram_size);
	if (!cpu->bc)
		return -1;
	cpu_reset(cpu);
	return 0;
}

void cpu_free(struct cpu *cpu)
{
	block_cache_free(cpu->bc);
	cpu->bc = NULL;
}

/* Power-on state: SDM Vol. 3, 9.1.1 Table 9-1. */
void cpu_reset(struct cpu *cpu)
{
	memset(cpu->r, 0, sizeof(cpu->r));
	cpu->r[R_EDX] = cpu->model->signature; /* SDM Vol. 3, 9.1.4 */
	cpu->eip = 0xfff0;
	cpu->eflags = FL_1;
	cpu->cr0 = CR0_ET | CR0_CD | CR0_NW;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
	memset(cpu->pdpte, 0, sizeof(cpu->pdpte));
	cpu->efer = 0;
	for (int s = 0; s < S_NSEG; s++)
		seg_set_cache(&cpu->seg[s], 0, 0, 0xffff, 0x93);
	seg_set_cache(&cpu->seg[S_CS], 0xf000, 0xffff0000u, 0xffff, 0x9b);
	seg_set_cache(&cpu->ldtr, 0, 0, 0xffff, 0x82);
	seg_set_cache(&cpu->tr, 0, 0, 0xffff, 0x8b);
	cpu->gdtr = (struct dtr){0, 0xffff};
	cpu->idtr = (struct dtr){0, 0xffff};
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[6] = 0xffff0ff0u;
	cpu->dr[7] = 0x00000400u;
	debug_reset(cpu);
	memset(&cpu->fpu, 0, sizeof(cpu->fpu));
	cpu->fpu.fcw = 0x0040;
	cpu->fpu.ftw = 0x5555; /* power-up: every register +0.0, tagged zero (SDM Table 9-1) */
	memset(&cpu->sse, 0, sizeof(cpu->sse));
	cpu->sse.mxcsr = MXCSR_RESET;
	cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
	cpu->apic_base = 0xfee00800ull | (cpu->apic_id == 0 ? 0x100u : 0); /* enabled, BSP flag */
	cpu->wait_sipi = 0;
	cpu->mtrr_cap = 0x508; /* 8 variable ranges, fixed ranges, WC */
	cpu->mtrr_def_type = 0;
	memset(cpu->mtrr_fixed, 0, sizeof(cpu->mtrr_fixed));
	memset(cpu->mtrr_var, 0, sizeof(cpu->mtrr_var));
	cpu->pat = 0x0007040600070406ull;
	cpu->misc_enable = MISC_ENABLE_RESET;
	cpu->tsc_base_ns = (cpu->bus && cpu->bus->now_ns) ? cpu->bus->now_ns(cpu->bus->opaque) : host_ns();
	cpu->tsc_offset = 0;
	cpu->inhibit_irq = 0;
	cpu->halted = 0;
	cpu->nmi_pending = 0;
	cpu->nmi_blocked = 0;
	cpu->shutdown = 0;
	cpu->in_exception = 0;
	cpu->first_exc = -1;
	cpu->mem.a20 = true;
	cpu_update_mode(cpu);
	tlb_flush_all(cpu, 0);
	if (cpu->bc)
		block_flush_all(cpu);
}

/* The state boot loaders hand over (multiboot, Linux 32-bit boot
 * protocol): flat 4 GiB segments, CS=0x10, data 0x18, PE on, paging off,
 * interrupts off. The GDT itself is not in guest memory; protocols say the
 * kernel must load its own before reloading segments. */
void cpu_set_flat32(struct cpu *cpu)
{
	cpu->cr0 = (cpu->cr0 | CR0_PE | CR0_ET) & ~(CR0_PG | CR0_CD | CR0_NW);
	cpu->eflags = FL_1;
	seg_set_cache(&cpu->seg[S_CS], 0x10, 0, 0xffffffffu, 0xc09b);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_set_cache(&cpu->seg[s], 0x18, 0, 0xffffffffu, 0xc093);
	seg_set_cache(&cpu->tr, 0, 0, 0xffff, 0x8b);
	cpu_update_mode(cpu);
	tlb_flush_all(cpu, 0);
}

uint64_t cpu_tsc(struct cpu *cpu)
{
	/* Present a 1 GHz processor: one tick per nanosecond of the board's
	 * virtual clock (host time, or instruction count when deterministic). */
	if (cpu->bus && cpu->bus->now_ns)
		return cpu->bus->now_ns(cpu->bus->opaque) - cpu->tsc_base_ns + cpu->tsc_offset;
	return (host_ns() - cpu->tsc_base_ns) + cpu->tsc_offset;
}

void cpu_dump(const struct cpu *cpu, void *file)
{
	FILE *f = file;
	static const char *const rn[8] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
	static const char *const sn[6] = {"ES", "CS", "SS", "DS", "FS", "GS"};
	for (int i = 0; i < 8; i++)
		fprintf(f, "%s=%08x%s", rn[i], cpu->r[i], (i % 4 == 3) ? "\n" : " ");
	fprintf(f, "EIP=%08x EFLAGS=%08x CPL=%d %s\n", cpu->eip, cpu->eflags, cpu->cpl,
		!(cpu->cr0 & CR0_PE) ? "real" : (cpu->eflags & FL_VM) ? "v86" : "protected");
	for (int s = 0; s < S_NSEG; s++)
		fprintf(f, "%s=%04x base=%08x limit=%08x attr=%04x\n", sn[s], cpu->seg[s].sel,
			cpu->seg[s].base, cpu->seg[s].limit, cpu->seg[s].attr);
	fprintf(f, "LDTR=%04x base=%08x limit=%08x  TR=%04x base=%08x limit=%08x attr=%04x\n",
		cpu->ldtr.sel, cpu->ldtr.base, cpu->ldtr.limit, cpu->tr.sel, cpu->tr.base, cpu->tr.limit,
		cpu->tr.attr);
	fprintf(f, "GDT=%08x/%04x IDT=%08x/%04x\n", cpu->gdtr.base, cpu->gdtr.limit, cpu->idtr.base,
		cpu->idtr.limit);
	fprintf(f, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", cpu->cr0, cpu->cr2, cpu->cr3, cpu->cr4);
	fprintf(f, "icount=%llu\n", (unsigned long long)cpu->icount);
}
