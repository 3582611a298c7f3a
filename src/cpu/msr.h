/* Model-specific registers of the CPU models (cpu/cpumodel.h has the
 * models and CPUID; docs/cpu-system.md has the tables). The MTRRs and the
 * SYSENTER MSRs exist where CPUID reports MTRR and SEP, the P6 family's
 * platform, APIC-base and microcode MSRs on family 6 and later. */
#ifndef RINGVM_CPU_MSR_H
#define RINGVM_CPU_MSR_H

#include <stdint.h>

#include "cpu/cpu.h"

/* The x87 FPU (and FXSAVE/FXRSTOR) is complete: every model reports FPU. */
#ifndef CPU_HAS_X87
#define CPU_HAS_X87 1
#endif

#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_APIC_BASE 0x1b
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_MTRRCAP 0xfe
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0 /* Pentium 4 and Pentium M (family 6 model 13) */
/* IA32_MISC_ENABLE: BTS and PEBS unavailable (read-only); at reset also
 * fast strings on. */
#define MISC_ENABLE_RO 0x1800u
#define MISC_ENABLE_RESET (0x1u | MISC_ENABLE_RO)
#define MSR_MTRR_PHYS0 0x200 /* base/mask pairs up to 0x20f */
#define MSR_MTRR_FIX64K 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268 /* .. 0x26f */
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_PAT 0x277      /* where CPUID reports PAT */
#define MSR_EFER 0xc0000080u /* where CPUID reports XD: NXE only */


/* 0 on success, -1 when the MSR does not exist or the value sets a
 * reserved bit (the caller raises #GP(0)). */
int msr_read(struct cpu *cpu, uint32_t index, uint64_t *val);
int msr_write(struct cpu *cpu, uint32_t index, uint64_t val);


#endif
