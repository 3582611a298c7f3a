/* MSRs and CPUID of the modelled P6 (SDM Vol. 4 "Model-specific
 * registers", P6 family table; Vol. 2 CPUID; Vol. 3 ch. 11.11 MTRRs). */
#include "cpu/msr.h"

/* CPUID.1:EDX: exactly what ringvm implements (docs/cpu-system.md). */
#define FEAT_FPU (1u << 0)
#define FEAT_DE (1u << 2)
#define FEAT_PSE (1u << 3)
#define FEAT_TSC (1u << 4)
#define FEAT_MSR (1u << 5)
#define FEAT_CX8 (1u << 8)
#define FEAT_SEP (1u << 11)
#define FEAT_APIC (1u << 9)
#define FEAT_MTRR (1u << 12)
#define FEAT_PGE (1u << 13)
#define FEAT_CMOV (1u << 15)
#define FEAT_FXSR (1u << 24)

#define CPUID_SIGNATURE 0x00000633u /* family 6, model 3, stepping 3: Pentium II "Klamath" */
#define CPUID_EDX_FEATURES (FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8 | FEAT_SEP | \
			    FEAT_MTRR | FEAT_PGE | FEAT_CMOV |                              \
			    (CPU_HAS_X87 ? (FEAT_FPU | FEAT_FXSR) : 0))
#define CPUID_MAX_BASIC 2u
#define CPUID_MAX_EXT 0x80000000u

void cpuid_query(const struct cpu *cpu, uint32_t leaf, uint32_t out[4])
{
	/* "If a value entered for CPUID.EAX is higher than the maximum input
	 * value for basic or extended function for that processor then the
	 * data for the highest basic information leaf is returned." */
	if ((leaf > CPUID_MAX_BASIC && leaf < 0x80000000u) || leaf > CPUID_MAX_EXT)
		leaf = CPUID_MAX_BASIC;
	switch (leaf) {
	case 0: /* "GenuineIntel" in EBX, EDX, ECX */
		out[0] = CPUID_MAX_BASIC;
		out[1] = 0x756e6547u;
		out[3] = 0x49656e69u;
		out[2] = 0x6c65746eu;
		break;
	case 1:
		out[0] = CPUID_SIGNATURE;
		out[1] = 0; /* no brand index, CLFLUSH size or APIC ID on a P6 */
		out[2] = 0;
		out[3] = CPUID_EDX_FEATURES | (cpu->apic_present ? FEAT_APIC : 0);
		break;
	case 2:
		/* One iteration (AL=1); descriptors of a 512 KiB L2 Pentium II:
		 * 01 ITLB 4K 32e, 02 ITLB 4M 2e, 03 DTLB 4K 64e, 43 L2 512K 4-way,
		 * 08 L1I 16K, 04 DTLB 4M 8e, 0C L1D 16K. */
		out[0] = 0x03020101u;
		out[1] = 0;
		out[2] = 0;
		out[3] = 0x0c040843u;
		break;
	default: /* 0x80000000: the highest extended leaf, nothing else */
		out[0] = CPUID_MAX_EXT;
		out[1] = out[2] = out[3] = 0;
		break;
	}
}

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

int msr_read(struct cpu *cpu, uint32_t index, uint64_t *val)
{
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
	default: return -1;
	}
}

int msr_write(struct cpu *cpu, uint32_t index, uint64_t val)
{
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
	case MSR_MTRR_DEF_TYPE: /* type 7:0, FE bit 10, E bit 11 */
		if ((val & ~0xcffull) || !mtrr_type_ok(val & 0xff))
			return -1;
		cpu->mtrr_def_type = val;
		return 0;
	default: /* read-only (MTRRcap, PLATFORM_ID) or absent */
		return -1;
	}
}
