/* A small x86-64 instruction emitter for the translator: only the forms
 * bt emits. Translated code addresses struct cpu through RBP, so most
 * helpers take a displacement from it. Encodings: Intel SDM Vol. 2,
 * chapter 2 (ModRM, SIB, REX) and the instruction pages.
 */
#ifndef RINGVM_BT_X86EMIT_H
#define RINGVM_BT_X86EMIT_H

#include <stdint.h>
#include <string.h>

/* Host registers by encoding. */
enum { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI };

struct emit {
	uint8_t *p;   /* next byte (in the writable view) */
	uint8_t *end; /* one past the space there is */
	int overflow; /* ran out of space: the translation is discarded */
	int unfit;    /* the block exceeds a limit of the translator's own */
};

static inline void e8(struct emit *e, uint8_t b)
{
	if (e->p < e->end)
		*e->p++ = b;
	else
		e->overflow = 1;
}

static inline void e32(struct emit *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		e8(e, (uint8_t)(v >> (8 * i)));
}

static inline void e64(struct emit *e, uint64_t v)
{
	e32(e, (uint32_t)v);
	e32(e, (uint32_t)(v >> 32));
}

static inline int fits8(int32_t v) { return v >= -128 && v <= 127; }

/* ModRM for [base + disp] with reg field r; base is RBP or RSI/RDI/...
 * (never RSP or R12, which would need a SIB byte). */
static inline void e_mem(struct emit *e, int r, int base, int32_t disp)
{
	if (disp == 0 && base != H_RBP) {
		e8(e, (uint8_t)(((r & 7) << 3) | (base & 7)));
	} else if (fits8(disp)) {
		e8(e, (uint8_t)(0x40 | ((r & 7) << 3) | (base & 7)));
		e8(e, (uint8_t)disp);
	} else {
		e8(e, (uint8_t)(0x80 | ((r & 7) << 3) | (base & 7)));
		e32(e, (uint32_t)disp);
	}
}

/* op r32, [rbp+disp] / op [rbp+disp], r32 with a one-byte opcode; r may
 * be R8-R15 (REX.R). */
static inline void e_op_rm(struct emit *e, uint8_t op, int r, int base, int32_t disp)
{
	if (r >= 8)
		e8(e, 0x44);
	e8(e, op);
	e_mem(e, r, base, disp);
}

/* lea dst32, [base64 + disp32], any registers (through a SIB byte, so
 * that R12 and R13 need no special case) */
static inline void e_lea_r(struct emit *e, int dst, int base, int32_t disp)
{
	int rex = (dst >= 8 ? 4 : 0) | (base >= 8 ? 1 : 0);
	if (rex)
		e8(e, (uint8_t)(0x40 | rex));
	e8(e, 0x8d);
	e8(e, (uint8_t)(0x84 | ((dst & 7) << 3)));
	e8(e, (uint8_t)(0x20 | (base & 7)));
	e32(e, (uint32_t)disp);
}

static inline void e_load32(struct emit *e, int r, int32_t disp) { e_op_rm(e, 0x8b, r, H_RBP, disp); }
static inline void e_store32(struct emit *e, int r, int32_t disp) { e_op_rm(e, 0x89, r, H_RBP, disp); }

/* movzx r32, r16 (same register) */
static inline void e_zext16(struct emit *e, int r)
{
	e8(e, 0x0f);
	e8(e, 0xb7);
	e8(e, (uint8_t)(0xc0 | (r << 3) | r));
}

/* mov r64, imm64 */
static inline void e_mov64_imm(struct emit *e, int r, uint64_t v)
{
	e8(e, 0x48);
	e8(e, (uint8_t)(0xb8 + r));
	e64(e, v);
}

/* mov r32, imm32 */
static inline void e_mov32_imm(struct emit *e, int r, uint32_t v)
{
	e8(e, (uint8_t)(0xb8 + r));
	e32(e, v);
}

/* mov dst64, src64 */
static inline void e_mov64_rr(struct emit *e, int dst, int src)
{
	e8(e, 0x48);
	e8(e, 0x89);
	e8(e, (uint8_t)(0xc0 | (src << 3) | dst));
}

/* cmp r32, r32 */
static inline void e_cmp32_rr(struct emit *e, int a, int b)
{
	e8(e, 0x39);
	e8(e, (uint8_t)(0xc0 | (b << 3) | a));
}

/* cmp byte [rbp+disp], imm8 */
static inline void e_cmp8_mem_imm(struct emit *e, int32_t disp, uint8_t imm)
{
	e_op_rm(e, 0x80, 7, H_RBP, disp);
	e8(e, imm);
}

/* call rax */
static inline void e_call_rax(struct emit *e)
{
	e8(e, 0xff);
	e8(e, 0xd0);
}

/* Branches. The *_to forms take a target in the executable view; here
 * and rx_of map writable to executable addresses. */
static inline int32_t rel_to(const uint8_t *rx_next, const uint8_t *rx_target)
{
	return (int32_t)(rx_target - rx_next);
}

/* jmp rel32 / jcc rel32 with a fixed target, given the executable
 * address the emitter's p corresponds to (rx_p). */
static inline void e_jmp_to(struct emit *e, const uint8_t *rx_p, const uint8_t *rx_target)
{
	e8(e, 0xe9);
	e32(e, (uint32_t)rel_to(rx_p + 5, rx_target));
}

static inline void e_jcc_to(struct emit *e, int cc, const uint8_t *rx_p, const uint8_t *rx_target)
{
	e8(e, 0x0f);
	e8(e, (uint8_t)(0x80 | cc));
	e32(e, (uint32_t)rel_to(rx_p + 6, rx_target));
}

/* A forward jcc rel32 whose target is not known yet: returns where the
 * displacement is, for e_patch_here(). */
static inline uint8_t *e_jcc_fwd(struct emit *e, int cc)
{
	e8(e, 0x0f);
	e8(e, (uint8_t)(0x80 | cc));
	uint8_t *at = e->p;
	e32(e, 0);
	return at;
}

static inline uint8_t *e_jmp_fwd(struct emit *e)
{
	e8(e, 0xe9);
	uint8_t *at = e->p;
	e32(e, 0);
	return at;
}

/* Point a forward branch (its rel32 at `at`) to the current position. */
static inline void e_patch_here(struct emit *e, uint8_t *at)
{
	if (e->overflow || !at)
		return;
	int32_t rel = (int32_t)(e->p - (at + 4));
	memcpy(at, &rel, 4);
}

/* Condition codes (low nibble of Jcc/SETcc/CMOVcc). */
enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A, CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G };

#endif
