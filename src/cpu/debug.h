/* Debug features of the P6 (SDM Vol. 3, ch. 17 "Debug, branch profile
 * and time-stamp counter"): DR0-DR3 instruction, data and I/O
 * breakpoints, single-step (EFLAGS.TF), DR6 status, EFLAGS.RF.
 *
 * How the pieces meet:
 * - The interpreter runs one instruction at a time while
 *   cpu->debug_active or EFLAGS.TF/RF is set, calling debug_before()
 *   before fetching it and debug_after() once it has retired.
 * - Pages that hold an armed data breakpoint are never cached for data
 *   access in the TLB (debug_page_watched), so every access to them goes
 *   through mem.c's slow path, which calls debug_data_access().
 * - I/O instructions call debug_io_access() (CR4.DE I/O breakpoints).
 * - RF in the EFLAGS image pushed by exception delivery: for every
 *   fault-class exception other than #DB push EFLAGS|RF; for #DB push
 *   EFLAGS as it is (debug.c sets RF itself for the general-detect fault
 *   and leaves it clear for code breakpoints and traps) (SDM 17.3.1.1).
 */
#ifndef RINGVM_CPU_DEBUG_H
#define RINGVM_CPU_DEBUG_H

#include <stdint.h>

#include "cpu/cpu.h"

#define DR6_B0 0x0001u
#define DR6_BD 0x2000u /* general detect */
#define DR6_BS 0x4000u /* single step */
#define DR6_BT 0x8000u /* task switch */
#define DR6_FIXED1 0xffff0ff0u /* reserved bits that read as one on a P6 */
#define DR7_GD 0x2000u
#define DR7_ENABLES 0xffu /* L0 G0 .. L3 G3 */
#define DR7_FIXED1 0x00000400u
#define DR7_WRITABLE 0xffff23ffu /* bits 11, 12, 14, 15 read as zero */

/* Recompute cpu->debug_active after DR0-DR3/DR7 (or CR4.DE) changed,
 * and flush the TLB so pages with data breakpoints stop being cached. */
void debug_update(struct cpu *cpu);
/* Forget pending debug state (processor reset). */
void debug_reset(struct cpu *cpu);

/* Engine hooks, see above. debug_before() may raise #DB (code
 * breakpoint fault); its result is passed to debug_after(), which may
 * raise #DB (single-step / data breakpoint trap) with cpu->eip already
 * at the next instruction. */
uint32_t debug_before(struct cpu *cpu);
struct insn;
void debug_after(struct cpu *cpu, const struct insn *in, uint32_t before);

/* mem.c hooks. */
int debug_page_watched(const struct cpu *cpu, uint32_t lpage);
void debug_data_access(struct cpu *cpu, uint32_t lin, int size, int write);
/* I/O instructions: after a port access of size bytes (CR4.DE). */
void debug_io_access(struct cpu *cpu, uint16_t port, int size);

/* MOV to/from DRn (SDM MOV-Move to/from Debug Registers); the MOV
 * handler of ops_move.c dispatches here. */
void sys_mov_dr(struct cpu *cpu, const struct insn *in);

#endif
