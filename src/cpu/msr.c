/* MSRs and CPUID of the modelled P6 (SDM Vol. 4 "Model-specific
 * registers", P6 family table; Vol. 2 CPUID; Vol. 3 ch. 11.11 MTRRs). */
#include "cpu/cpumodel.h"
#include "cpu/exec.h"
#include "cpu/msr.h"

/* Memory types an MTRR may hold: UC, WC, WT, WP, WB (SDM 11.11.1). */
static int mtrr_type_ok(uint64_t t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static int mtrr_fixed_ok(uint64_t v)
{
	for (int i = 0; i < 8; i++)
		if (!mtrr_type_ok((v >> (8 * i)) & 0xff))
			return 0;
	return 1;
}

/* Index into cpu->mtrr_fixed[] of a fixed-range MTRR, or -1. */
static int mtrr_fixed_index(uint32_t index)
{
	if (index == MSR_MTRR_FIX64K)
		return 0;
	if (index == MSR_MTRR_FIX16K_80000)
		return 1;
	if (index == MSR_MTRR_FIX16K_A0000)
		return 2;
	if (index >= MSR_MTRR_FIX4K_C0000 && index <= MSR_MTRR_FIX4K_C0000 + 7)
		return 3 + (int)(index - MSR_MTRR_FIX4K_C0000);
	return -1;
}

/* The P6 has 36 physical address bits: MTRR and APIC base fields end at
 * bit 35; everything above is reserved. */
#define PHYS_HI_RSVD 0xfffffff000000000ull

static int mtrr_var_count(const struct cpu *cpu)
{
	return (int)(cpu->mtrr_cap & 0xff);
}

/* The MSRs of the CPU model: the MTRRs where CPUID reports MTRR, the
 * SYSENTER MSRs where it reports SEP, the P6 family's platform ID, APIC
 * base and microcode signature from family 6 on (a P5 has none of them). */
static int msr_on_model(const struct cpu *cpu, uint32_t index)
{
	if (mtrr_fixed_index(index) >= 0 || (index >= MSR_MTRR_PHYS0 && index < MSR_MTRR_PHYS0 + 16) ||
	    index == MSR_MTRRCAP || index == MSR_MTRR_DEF_TYPE)
		return (cpu->feat & CPUID_MTRR) != 0;
	if (index >= MSR_SYSENTER_CS && index <= MSR_SYSENTER_EIP)
		return (cpu->feat & CPUID_SEP) != 0;
	if (index == MSR_PAT)
		return (cpu->feat & CPUID_PAT) != 0;
	if (index == MSR_EFER)
		return cpumodel_has_xd(cpu->model);
	if (index == MSR_PLATFORM_ID || index == MSR_APIC_BASE || index == MSR_BIOS_SIGN_ID)
		return cpumodel_family(cpu->model) >= 6;
	if (index == MSR_MISC_ENABLE) /* family 15, or 6 from model 13 on */
		return cpumodel_family(cpu->model) == 15 ||
		       (cpumodel_family(cpu->model) == 6 && ((cpu->model->signature >> 4) & 0xf) >= 13);
	return 1;
}

int msr_read(struct cpu *cpu, uint32_t index, uint64_t *val)
{
	if (!msr_on_model(cpu, index))
		return -1;
	int f = mtrr_fixed_index(index);
	if (f >= 0) {
		*val = cpu->mtrr_fixed[f];
		return 0;
	}
	if (index >= MSR_MTRR_PHYS0 && index < MSR_MTRR_PHYS0 + 2u * (uint32_t)mtrr_var_count(cpu)) {
		*val = cpu->mtrr_var[index - MSR_MTRR_PHYS0];
		return 0;
	}
	switch (index) {
	case MSR_TSC: *val = cpu_tsc(cpu); return 0;
	case MSR_PLATFORM_ID: *val = 0; return 0;
	case MSR_APIC_BASE: *val = cpu->apic_base; return 0;
	case MSR_BIOS_SIGN_ID: *val = 0; return 0; /* microcode revision 0 */
	case MSR_MTRRCAP: *val = cpu->mtrr_cap; return 0;
	case MSR_SYSENTER_CS: *val = cpu->sysenter_cs; return 0;
	case MSR_SYSENTER_ESP: *val = cpu->sysenter_esp; return 0;
	case MSR_SYSENTER_EIP: *val = cpu->sysenter_eip; return 0;
	case MSR_MTRR_DEF_TYPE: *val = cpu->mtrr_def_type; return 0;
	case MSR_MISC_ENABLE: *val = cpu->misc_enable; return 0;
	case MSR_PAT: *val = cpu->pat; return 0;
	case MSR_EFER: *val = cpu->efer; return 0;
	default: return -1;
	}
}

int msr_write(struct cpu *cpu, uint32_t index, uint64_t val)
{
	if (!msr_on_model(cpu, index))
		return -1;
	int f = mtrr_fixed_index(index);
	if (f >= 0) {
		if (!mtrr_fixed_ok(val))
			return -1;
		cpu->mtrr_fixed[f] = val;
		return 0;
	}
	if (index >= MSR_MTRR_PHYS0 && index < MSR_MTRR_PHYS0 + 2u * (uint32_t)mtrr_var_count(cpu)) {
		if ((index & 1) == 0) { /* PhysBase: type 7:0, base 35:12 */
			if ((val & (PHYS_HI_RSVD | 0xf00u)) || !mtrr_type_ok(val & 0xff))
				return -1;
		} else { /* PhysMask: valid bit 11, mask 35:12 */
			if (val & (PHYS_HI_RSVD | 0x7ffu))
				return -1;
		}
		cpu->mtrr_var[index - MSR_MTRR_PHYS0] = val;
		return 0;
	}
	switch (index) {
	case MSR_TSC: {
		/* P6: only the low 32 bits are written, the high half cleared
		 * (SDM 17.17). RDTSC continues counting from the value. */
		uint64_t want = val & 0xffffffffu;
		cpu->tsc_offset += want - cpu_tsc(cpu);
		return 0;
	}
	case MSR_APIC_BASE: /* BSP bit 8, enable bit 11, base 35:12 */
		if (val & (PHYS_HI_RSVD | 0x6ffu))
			return -1;
		cpu->apic_base = val;
		if (cpu->bus && cpu->bus->apic_base_write)
			cpu->bus->apic_base_write(cpu->bus->opaque, val);
		return 0;
	case MSR_BIOS_SIGN_ID:
		return 0; /* writing 0 before CPUID latches the revision */
	case MSR_SYSENTER_CS:
		cpu->sysenter_cs = (uint32_t)val;
		return 0;
	case MSR_SYSENTER_ESP:
		cpu->sysenter_esp = (uint32_t)val;
		return 0;
	case MSR_SYSENTER_EIP:
		cpu->sysenter_eip = (uint32_t)val;
		return 0;
	case MSR_MISC_ENABLE:
		/* the read-only "unavailable" bits (BTS 11, PEBS 12) stay set */
		cpu->misc_enable = val | MISC_ENABLE_RO;
		return 0;
	case MSR_PAT: /* eight 3-bit types in bytes; 2 and 3 are reserved (SDM 11.12.2) */
		for (int i = 0; i < 8; i++) {
			uint64_t t = (val >> (8 * i)) & 0xff;
			if (t == 2 || t == 3 || t > 7)
				return -1;
		}
		cpu->pat = val; /* caching is invisible here: stored and read back */
		return 0;
	case MSR_EFER:
		if (val & ~(uint64_t)EFER_NXE)
			return -1; /* no long mode or SYSCALL on these models */
		if ((val ^ cpu->efer) & EFER_NXE)
			tlb_flush_all(cpu, 0); /* fetch permissions change */
		cpu->efer = val;
		return 0;
	case MSR_MTRR_DEF_TYPE: /* type 7:0, FE bit 10, E bit 11 */
		if ((val & ~0xcffull) || !mtrr_type_ok(val & 0xff))
			return -1;
		cpu->mtrr_def_type = val;
		return 0;
	default: /* read-only (MTRRcap, PLATFORM_ID) or absent */
		return -1;
	}
}
