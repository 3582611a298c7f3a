/* Model-specific registers and CPUID of the P6 we model (a Pentium II,
 * family 6 model 3 stepping 3; docs/cpu-system.md has the tables).
 * Shared by the RDMSR/WRMSR/CPUID handlers and by engines that need the
 * same view (kvm filters its CPUID against cpuid_query). */
#ifndef RINGVM_CPU_MSR_H
#define RINGVM_CPU_MSR_H

#include <stdint.h>

#include "cpu/cpu.h"

/* Flip to 1 once the x87 FPU (and FXSAVE/FXRSTOR) is complete: CPUID then
 * reports FPU and FXSR, and CR4.OSFXSR becomes writable. */
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
#define MSR_MTRR_PHYS0 0x200 /* base/mask pairs up to 0x20f */
#define MSR_MTRR_FIX64K 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268 /* .. 0x26f */
#define MSR_MTRR_DEF_TYPE 0x2ff

/* The CR4 bits this processor implements; others are reserved (#GP). */
#define CR4_IMPLEMENTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | \
			 (CPU_HAS_X87 ? CR4_OSFXSR : 0))

/* 0 on success, -1 when the MSR does not exist or the value sets a
 * reserved bit (the caller raises #GP(0)). */
int msr_read(struct cpu *cpu, uint32_t index, uint64_t *val);
int msr_write(struct cpu *cpu, uint32_t index, uint64_t val);

/* CPUID leaf -> EAX, EBX, ECX, EDX, for this CPU on its board (the APIC
 * feature bit follows cpu->apic_present). */
void cpuid_query(const struct cpu *cpu, uint32_t leaf, uint32_t out[4]);

#endif
