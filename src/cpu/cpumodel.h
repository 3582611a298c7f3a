/* The processor models ringvm presents (-cpu NAME, QEMU's spellings): each
 * is a real part's CPUID — vendor, signature, feature flags, cache
 * descriptors, brand string — reduced to the features ringvm implements.
 * An instruction whose CPUID feature the model lacks raises #UD (decided
 * at decode time, decode.c); CR4 bits, MSRs and MXCSR_MASK follow the
 * model too. docs/cpu-system.md has the table. */
#ifndef RINGVM_CPU_CPUMODEL_H
#define RINGVM_CPU_CPUMODEL_H

#include <stdint.h>
#include <stdio.h>

/* CPUID.1:EDX feature bits (SDM Vol. 2A, CPUID, Table 3-11). */
#define CPUID_FPU (1u << 0)
#define CPUID_VME (1u << 1)
#define CPUID_DE (1u << 2)
#define CPUID_PSE (1u << 3)
#define CPUID_TSC (1u << 4)
#define CPUID_MSR (1u << 5)
#define CPUID_PAE (1u << 6)
#define CPUID_CX8 (1u << 8)
#define CPUID_SEP (1u << 11)
#define CPUID_MTRR (1u << 12)
#define CPUID_PGE (1u << 13)
#define CPUID_CMOV (1u << 15)
#define CPUID_PAT (1u << 16)
#define CPUID_CLFSH (1u << 19)
#define CPUID_MMX (1u << 23)
#define CPUID_FXSR (1u << 24)
#define CPUID_SSE (1u << 25)
#define CPUID_SSE2 (1u << 26)
/* CPUID.80000001:EDX */
#define CPUID_EXT_XD (1u << 20)

struct cpu_model {
	const char *name;     /* -cpu NAME */
	const char *desc;     /* for -cpu help */
	uint32_t signature;   /* CPUID.1:EAX, and EDX after reset */
	uint32_t ebx1;        /* CPUID.1:EBX: brand index, CLFLUSH line size */
	uint32_t edx1;        /* CPUID.1:EDX: the part's features ringvm implements */
	uint32_t max_basic;   /* highest basic leaf */
	uint32_t max_ext;     /* highest extended leaf, 0: none */
	uint32_t leaf2[4];    /* cache and TLB descriptors */
	uint32_t edx_ext1;    /* CPUID.80000001:EDX: XD (bit 20) or 0 */
	const char *brand;    /* leaves 0x80000002-4 (48 bytes), or NULL */
	uint32_t mxcsr_mask;  /* FXSAVE's MXCSR_MASK: DAZ (bit 6) or not */
};

/* Every model; the first is the default (a Pentium II, what ringvm
 * presented before it had models). Ended by a NULL name. */
extern const struct cpu_model cpu_models[];
#define CPU_MODEL_DEFAULT (&cpu_models[0])

/* The model called name, or NULL. */
const struct cpu_model *cpumodel_find(const char *name);
/* The list -cpu help prints. */
void cpumodel_list(FILE *f);
/* The processor family (CPUID.1:EAX bits 8-11). */
static inline unsigned cpumodel_family(const struct cpu_model *m) { return (m->signature >> 8) & 0xf; }

struct cpu;

/* CPUID leaf -> EAX, EBX, ECX, EDX for the CPU's model (interp, bt, and
 * the filter kvm applies to the host's CPUID). */
void cpuid_query(const struct cpu *cpu, uint32_t leaf, uint32_t out[4]);

/* Select the model and reset the processor (power-on: EDX holds the
 * signature). Call before the board loads anything. */
void cpu_set_model(struct cpu *cpu, const struct cpu_model *m);

/* The CR4 bits the CPU's model implements (the rest #GP on a write). */
uint32_t cpu_cr4_valid(const struct cpu *cpu);
/* The model has the execute-disable bit (IA32_EFER.NXE). */
static inline int cpumodel_has_xd(const struct cpu_model *m) { return (m->edx_ext1 & CPUID_EXT_XD) != 0; }

#endif
