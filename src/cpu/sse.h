/* SSE/SSE2 state (SDM Vol. 1, ch. 10-11): the eight XMM registers and
 * MXCSR. Plain data in struct cpu; the MMX registers are the x87 data
 * registers' significands (struct fpu). Instructions: ops_sse.c, run on
 * the host's own SSE/MMX unit by sse_host.c (docs/sse.md). */
#ifndef RINGVM_CPU_SSE_H
#define RINGVM_CPU_SSE_H

#include <stdint.h>

union xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
};

struct sse {
	_Alignas(16) union xmm xmm[8];
	uint32_t mxcsr;
};

/* MXCSR (SDM Vol. 1, 10.2.3). */
#define MXCSR_IE 0x0001
#define MXCSR_DE 0x0002
#define MXCSR_ZE 0x0004
#define MXCSR_OE 0x0008
#define MXCSR_UE 0x0010
#define MXCSR_PE 0x0020
#define MXCSR_DAZ 0x0040
#define MXCSR_MASKS 0x1f80
#define MXCSR_FTZ 0x8000
#define MXCSR_RESET 0x1f80

/* ---- internal to cpu/ ---- */

/* What a host stub works on (sse_host.c): the guest's operands mapped to
 * host registers. ModRM.reg names host register 0 of its class (XMM0,
 * MM0, EAX), ModRM.rm register 1 (XMM1, MM1, ECX), a memory operand
 * (%rsi) = mem. The layout is fixed: the trampoline's assembly uses it. */
struct sse_ctx {
	_Alignas(16) union xmm x[2]; /* 0, 16 */
	uint64_t mm[2];              /* 32, 40 */
	uint32_t gpr[2];             /* 48, 52 */
	uint32_t mxcsr;              /* 56 */
	uint32_t rflags;             /* 60: out (COMISS and friends) */
	_Alignas(16) uint8_t mem[16]; /* 64 */
	uint32_t trapped;            /* 80: the host raised #XM (unmasked) */
};

/* The host stub of an instruction: mandatory prefix (0, 0x66, 0xF2,
 * 0xF3), 0F-map opcode, memory form or not, immediate (for 0F C2, the
 * compare predicate); -1 when there is none. */
int sse_stub_index(uint8_t prefix, uint8_t opcode, int memform, int imm);
/* Run stub idx on ctx under ctx->mxcsr; the instruction runs with the
 * guest's exception masks, and an unmasked exception leaves the operands
 * as they were, sets ctx->trapped and the MXCSR flags, as the processor
 * does before delivering #XM. */
void sse_host_run(struct sse_ctx *ctx, int idx);
/* Install the SIGFPE handler that catches the stubs' #XM (done by the
 * first sse_host_run). A program that installs its own SIGFPE handler
 * afterwards must pass on signals it does not expect. */
void sse_host_install(void);

#endif
