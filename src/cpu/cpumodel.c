/* The processor models and their CPUID (SDM Vol. 2A, CPUID; the cache
 * descriptors of Table 3-12; the parts' own CPUID dumps for signatures,
 * brand strings and descriptors). Each model lists only features ringvm
 * implements: the real parts also have MCE/MCA, PSE-36 (and the
 * Pentium 4 / Pentium M DS, ACPI, SS, TM, HTT, PBE), which ringvm does
 * not, so those bits stay clear. The P5 has VME but not PAE or PAT; the
 * P6 family adds both. XD (NX) came with the Pentium 4's Prescott and
 * the Pentium M's Dothan revisions: the two SSE2 models report it. */
#include <string.h>

#include "cpu/cpumodel.h"
#include "cpu/exec.h"

/* Implemented on every model: the x87 FPU, V86 mode extensions (VME and
 * PVI), debugging extensions, 4 MiB pages, TSC, RDMSR/WRMSR, CMPXCHG8B. */
#define BASE (CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8)
/* The P6 family adds PAE, SYSENTER, MTRRs, global pages, CMOV, PAT, FXSAVE. */
#define P6 (BASE | CPUID_PAE | CPUID_SEP | CPUID_MTRR | CPUID_PGE | CPUID_CMOV | CPUID_PAT | CPUID_FXSR)

const struct cpu_model cpu_models[] = {
	{
		/* Kept as the default: the signature ringvm always reported
		 * (Klamath, family 6 model 3 stepping 3) and a 512 KiB L2. */
		.name = "pentium2", .desc = "Intel Pentium II (P6, MMX)",
		.signature = 0x00000633, .edx1 = P6 | CPUID_MMX,
		.max_basic = 2, .max_ext = 0x80000000u,
		/* 01 ITLB 4K 32e, 02 ITLB 4M 2e, 03 DTLB 4K 64e, 43 L2 512K
		 * 4-way, 08 L1I 16K, 04 DTLB 4M 8e, 0C L1D 16K */
		.leaf2 = {0x03020101u, 0, 0, 0x0c040843u}, .mxcsr_mask = 0x0000ffbfu,
	},
	{
		/* QEMU's "pentium": a Pentium MMX (P55C), family 5 model 4
		 * stepping 3; no leaf 2, no extended leaves, no brand string. */
		.name = "pentium", .desc = "Intel Pentium MMX (P5: no CMOV, FXSAVE, SYSENTER, PGE)",
		.signature = 0x00000543, .edx1 = BASE | CPUID_MMX, .max_basic = 1,
		.mxcsr_mask = 0,
	},
	{
		/* Katmai, family 6 model 7 stepping 3 (QEMU's signature); no
		 * processor serial number (leaf 3 off, as BIOSes set it). */
		.name = "pentium3", .desc = "Intel Pentium III (P6, MMX, SSE)",
		.signature = 0x00000673, .edx1 = P6 | CPUID_MMX | CPUID_SSE,
		.max_basic = 2, .max_ext = 0x80000000u,
		.leaf2 = {0x03020101u, 0, 0, 0x0c040843u}, .mxcsr_mask = 0x0000ffbfu,
	},
	{
		/* Northwood, family 15 model 2 stepping 7: brand index 9,
		 * CLFLUSH line 8 * 8 bytes, one logical processor. */
		.name = "pentium4", .desc = "Intel Pentium 4 (NetBurst, MMX, SSE, SSE2, CLFLUSH)",
		.signature = 0x00000f27, .ebx1 = 0x00010809u,
		.edx1 = P6 | CPUID_MMX | CPUID_SSE | CPUID_SSE2 | CPUID_CLFSH,
		.max_basic = 2, .max_ext = 0x80000004u,
		/* 50 ITLB 64e, 5B DTLB 64e, 66 L1D 8K 4-way 64B, 40 no L3,
		 * 70 trace cache 12K uops, 7B L2 512K 8-way 64B */
		.leaf2 = {0x665b5001u, 0, 0, 0x007b7040u}, .edx_ext1 = CPUID_EXT_XD,
		.brand = "              Intel(R) Pentium(R) 4 CPU 2.80GHz",
		.mxcsr_mask = 0x0000ffffu,
	},
	{
		/* Dothan, family 6 model 13 stepping 6. */
		.name = "pentium-m", .desc = "Intel Pentium M (P6, MMX, SSE, SSE2, CLFLUSH)",
		.signature = 0x000006d6, .ebx1 = 0x00000800u,
		.edx1 = P6 | CPUID_MMX | CPUID_SSE | CPUID_SSE2 | CPUID_CLFSH,
		.max_basic = 2, .max_ext = 0x80000004u,
		/* B0 ITLB 4K 128e, B3 DTLB 4K 128e, 02 ITLB 4M, F0 64B prefetch,
		 * 7D L2 2M 8-way 64B, 30 L1I 32K, 04 DTLB 4M, 2C L1D 32K */
		.leaf2 = {0x02b3b001u, 0x000000f0u, 0, 0x2c04307du}, .edx_ext1 = CPUID_EXT_XD,
		.brand = "Intel(R) Pentium(R) M processor 1.60GHz",
		.mxcsr_mask = 0x0000ffffu,
	},
	{.name = NULL},
};

const struct cpu_model *cpumodel_find(const char *name)
{
	for (const struct cpu_model *m = cpu_models; m->name; m++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

void cpumodel_list(FILE *f)
{
	fprintf(f, "Available CPU models (-cpu NAME):\n");
	for (const struct cpu_model *m = cpu_models; m->name; m++)
		fprintf(f, "  %-10s %s%s\n", m->name, m->desc, m == CPU_MODEL_DEFAULT ? " (default)" : "");
}

static void brand_leaf(const char *brand, uint32_t n, uint32_t out[4])
{
	char buf[48] = {0};
	size_t len = strlen(brand);
	memcpy(buf, brand, len < 47 ? len : 47);
	memcpy(out, buf + 16 * n, 16);
}

void cpuid_query(const struct cpu *cpu, uint32_t leaf, uint32_t out[4])
{
	const struct cpu_model *m = cpu->model;
	/* "If a value entered for CPUID.EAX is higher than the maximum input
	 * value for basic or extended function for that processor then the
	 * data for the highest basic information leaf is returned." */
	if ((leaf > m->max_basic && leaf < 0x80000000u) || (leaf >= 0x80000000u && leaf > m->max_ext))
		leaf = m->max_basic;
	out[0] = out[1] = out[2] = out[3] = 0;
	switch (leaf) {
	case 0: /* "GenuineIntel" in EBX, EDX, ECX */
		out[0] = m->max_basic;
		out[1] = 0x756e6547u;
		out[3] = 0x49656e69u;
		out[2] = 0x6c65746eu;
		break;
	case 1:
		out[0] = m->signature;
		out[1] = (m->ebx1 & 0x00ffffffu) | (uint32_t)cpu->apic_id << 24; /* initial APIC ID */
		/* APIC: a property of the board (cpu->apic_present) as much as
		 * of the model: every model here has one on a board that wires it */
		out[3] = m->edx1 | (cpu->apic_present ? (1u << 9) : 0);
		break;
	case 2:
		memcpy(out, m->leaf2, 16);
		break;
	case 0x80000000u:
		out[0] = m->max_ext;
		break;
	case 0x80000002u: case 0x80000003u: case 0x80000004u:
		if (m->brand)
			brand_leaf(m->brand, leaf - 0x80000002u, out);
		break;
	case 0x80000001u:
		out[3] = m->edx_ext1;
		break;
	default:
		break;
	}
}

void cpu_set_model(struct cpu *cpu, const struct cpu_model *m)
{
	cpu->model = m;
	cpu->feat = m->edx1;
	cpu_reset(cpu);
}

uint32_t cpu_cr4_valid(const struct cpu *cpu)
{
	uint32_t f = cpu->feat;
	return CR4_TSD | CR4_DE | CR4_PSE | CR4_PCE | ((f & CPUID_PGE) ? CR4_PGE : 0) |
	       ((f & CPUID_VME) ? CR4_VME | CR4_PVI : 0) | ((f & CPUID_PAE) ? CR4_PAE : 0) |
	       ((f & CPUID_FXSR) ? CR4_OSFXSR : 0) | ((f & CPUID_SSE) ? CR4_OSXMMEXCPT : 0);
}
