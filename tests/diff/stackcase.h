/* The wire format between tests/test_diff_stack.c (64-bit, runs interp)
 * and tests/diff/stack_runner.c (32-bit, runs the same bytes natively):
 * stack instructions with a 16-bit stack segment (SS.B = 0) in 32-bit
 * code and a 32-bit stack in 16-bit code. Only 32-, 16- and 8-bit fields,
 * laid out without padding, so both sides agree. */
#ifndef RINGVM_STACKCASE_H
#define RINGVM_STACKCASE_H

#include <stdint.h>

/* The stack window: 64 KiB at the same linear address natively and in
 * the guest, with inaccessible pages on both sides. A 16-bit stack
 * segment is based here; a 32-bit (flat) stack has ESP inside it. */
#define STK_ADDR 0x00400000u
#define STK_SIZE 0x10000u
/* The case's code (natively and in the guest). */
#define STK_CODE_ADDR 0x00300000u
#define STK_CODE_MAX 32

/* LDT selectors (RPL 3), the same natively (modify_ldt) and in the guest:
 * a 16-bit data segment over the window (the 16-bit stack), the same with
 * limit 0xfff (for #SS), a 16-bit code segment based at STK_CODE_ADDR. */
#define STK_SEL16 0x0007u
#define STK_SEL16_SMALL 0x000fu
#define STK_SEL_CS16 0x0017u
#define STK_SMALL_LIMIT 0x0fffu

/* Segment register slots in cases and results. */
enum { SR_DS, SR_ES, SR_FS, SR_GS, SR_SS, SR_N };

struct stk_patch {
	uint16_t off;  /* offset in the window; bytes wrap at 64 KiB */
	uint16_t len;  /* 0 (unused), 1, 2 or 4 */
	uint32_t val;
};
#define STK_PATCHES 8

struct stk_case {
	uint32_t r[8];       /* EAX..EDI */
	uint32_t eflags;     /* arithmetic flags, DF, AC, ID; IF is set by both */
	uint32_t flags;      /* STK_CODE16 */
	uint32_t fill_seed;  /* the window's bytes: stk_fill(seed) */
	uint32_t len;
	uint16_t seg[SR_N];  /* DS, ES, FS, GS, SS selectors */
	uint16_t pad;
	uint8_t code[STK_CODE_MAX];
	struct stk_patch patch[STK_PATCHES];
};
#define STK_CODE16 1u  /* the case runs in the 16-bit code segment */

#define STK_MAX_CHANGES 240
struct stk_change {
	uint16_t off;
	uint8_t val;
	uint8_t pad;
};

struct stk_result {
	uint32_t r[8];
	uint32_t eflags;
	int32_t vector;      /* -1: ran to the end; else the exception vector */
	uint32_t eip;        /* where it stopped (an offset in CS) */
	uint32_t nchanged;   /* bytes of the window that differ from the fill */
	uint16_t seg[SR_N];
	uint16_t pad;
	struct stk_change ch[STK_MAX_CHANGES]; /* the first ones, by offset */
};

/* The first message from the runner: the host's selectors. */
struct stk_hello {
	uint32_t magic;      /* STK_HELLO */
	uint16_t cs, ds;     /* flat 32-bit user code and data */
};
#define STK_HELLO 0x4b545352u

/* The window's initial bytes: an xorshift stream from the seed. */
static inline void stk_fill(uint8_t *w, uint32_t seed)
{
	uint32_t x = seed | 1u;
	for (uint32_t i = 0; i < STK_SIZE; i += 4) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		w[i] = (uint8_t)x;
		w[i + 1] = (uint8_t)(x >> 8);
		w[i + 2] = (uint8_t)(x >> 16);
		w[i + 3] = (uint8_t)(x >> 24);
	}
}

/* The fill, then the case's patches. */
static inline void stk_prepare(uint8_t *w, const struct stk_case *c)
{
	stk_fill(w, c->fill_seed);
	for (int i = 0; i < STK_PATCHES; i++)
		for (uint32_t b = 0; b < c->patch[i].len && b < 4; b++)
			w[(c->patch[i].off + b) & 0xffffu] = (uint8_t)(c->patch[i].val >> (8 * b));
}

/* Which bytes changed: the first STK_MAX_CHANGES, and how many in all. */
static inline void stk_changes(const uint8_t *w, const struct stk_case *c, uint8_t *scratch, struct stk_result *res)
{
	stk_prepare(scratch, c);
	res->nchanged = 0;
	for (uint32_t i = 0; i < STK_SIZE; i++) {
		if (w[i] == scratch[i])
			continue;
		if (res->nchanged < STK_MAX_CHANGES)
			res->ch[res->nchanged] = (struct stk_change){(uint16_t)i, w[i], 0};
		res->nchanged++;
	}
	for (uint32_t k = res->nchanged; k < STK_MAX_CHANGES; k++)
		res->ch[k] = (struct stk_change){0, 0, 0};
}

#endif
