/* The wire format between tests/test_diff.c (64-bit, runs interp) and
 * tests/diff/runner.c (32-bit, runs the same bytes natively). Both sides
 * are x86 little-endian and lay these structs out identically (only
 * 32-bit and byte fields, no padding). */
#ifndef RINGVM_DIFFCASE_H
#define RINGVM_DIFFCASE_H

#include <stdint.h>

/* The data window: the same linear address natively and in the guest;
 * every memory operand of a case stays inside it, ESP points into it. */
#define DIFF_DATA_ADDR 0x00200000u
#define DIFF_DATA_SIZE 512u
/* The pages just below and above the data page are not accessible (a
 * PROT_NONE mapping natively, not-present PTEs in the guest): operands that
 * cross the end of the data page fault with #PF. The page's last bytes
 * (zero at the start) are compared too. */
#define DIFF_TAIL 16u
/* Where the case's bytes run (natively and in the guest). */
#define DIFF_CODE_ADDR 0x00300000u
#define DIFF_CODE_MAX 24
/* FS: an LDT data segment (read/write, 32-bit, byte granular) based at the
 * data window, limit DIFF_DATA_SIZE - 1. LDT entry 0, RPL 3. */
#define DIFF_FS_SEL 0x0007u
/* A 16-bit code segment (read/execute) based at DIFF_CODE_ADDR, limit
 * 0xffff: LDT entry 1, RPL 3. */
#define DIFF_CS16_SEL 0x000fu

struct diff_case {
	uint32_t r[8];    /* EAX..EDI; r[4] = ESP, inside the data window */
	uint32_t eflags;  /* arithmetic flags and DF; IF is set by both sides */
	uint32_t len;     /* bytes of code */
	uint32_t flags;   /* DIFF_RO */
	uint8_t code[DIFF_CODE_MAX];
	uint8_t data[DIFF_DATA_SIZE];
};

/* The data page is read-only for this case (mprotect natively, a
 * read-only PTE in the guest): writes to it fault with #PF. */
#define DIFF_RO 1u
/* ES is the FS window segment (DIFF_FS_SEL) instead of flat. */
#define DIFF_ES_WIN 2u
/* The code runs in a 16-bit code segment (DIFF_CS16_SEL) based at
 * DIFF_CODE_ADDR: EIPs in the result are offsets in it. */
#define DIFF_CODE16 4u

struct diff_result {
	uint32_t r[8];
	uint32_t eflags;
	int32_t vector;   /* -1: ran to the end; else the exception vector */
	uint32_t eip;     /* where it stopped: end of the code, or the fault */
	uint32_t err;     /* the fault's error code (0 without one) */
	uint32_t cr2;     /* #PF: the faulting linear address (else 0) */
	uint8_t data[DIFF_DATA_SIZE];
	uint8_t tail[DIFF_TAIL]; /* the last bytes of the data page */
};

#endif
