/* The wire format between tests/test_blocks.c (64-bit, runs the engine
 * under test) and tests/diff/block_runner.c (32-bit, runs the same
 * instruction sequence natively). Both sides are x86 little-endian and lay
 * these structs out identically (32-bit and byte fields only, no padding).
 *
 * The address space is the same on both sides (identity-mapped pages in
 * the guest, MAP_FIXED_NOREPLACE mappings natively):
 *
 *   0x00200000  data page, read/write; the data buffer is its last 512 bytes
 *   0x00201000  not present (guard): loads, stores and REP strings that run
 *               off the data buffer's end fault here
 *   0x00202000  read-only page holding blk_ro_byte(): loads work, stores #PF
 *   0x00203000  not present
 *   0x0020f000  not present (below the stack page)
 *   0x00210000  stack page, read/write; the stack buffer is its last 256 bytes
 *   0x00211000  not present (above the stack)
 *   0x0021f000  not present
 *   0x00220000  two code pages (a sequence may straddle them)
 *   0x00222000  not present
 */
#ifndef RINGVM_BLOCKCASE_H
#define RINGVM_BLOCKCASE_H

#include <stdint.h>
#include <string.h>

#define BLK_DATA_PAGE 0x00200000u
#define BLK_DATA_ADDR 0x00200e00u
#define BLK_DATA_SIZE 512u
#define BLK_DATA_END (BLK_DATA_ADDR + BLK_DATA_SIZE) /* = the guard page */
#define BLK_RO_PAGE 0x00202000u
#define BLK_STACK_PAGE 0x00210000u
#define BLK_STACK_ADDR 0x00210f00u
#define BLK_STACK_SIZE 256u
#define BLK_STACK_END (BLK_STACK_ADDR + BLK_STACK_SIZE)
#define BLK_CODE_ADDR 0x00220000u
#define BLK_CODE_PAGES 2u
#define BLK_CODE_MAX 1024u
/* Room the native runner needs after a sequence for its jump back. */
#define BLK_CODE_TAIL 8u

/* Pages that are absent on both sides (besides everything not listed). */
static const uint32_t blk_guard_pages[] = {0x00201000u, 0x00203000u, 0x0020f000u,
					    0x00211000u, 0x0021f000u, 0x00222000u};

/* The read-only page's contents. */
static inline uint8_t blk_ro_byte(uint32_t off) { return (uint8_t)(off * 13u + 7u); }

struct blk_case {
	uint32_t r[8];      /* EAX..EDI; ESP inside the stack buffer */
	uint32_t eflags;    /* arithmetic flags and DF (IF is set by both sides) */
	uint32_t code_addr; /* where the sequence starts */
	uint32_t len;       /* bytes of code; the end is the "ran to the end" EIP */
	uint32_t seq;       /* sequence number, echoed back */
	uint32_t flags;     /* BLK_NOPAGING (the guest side only) */
	uint8_t data[BLK_DATA_SIZE];
	uint8_t stack[BLK_STACK_SIZE];
	uint8_t code[BLK_CODE_MAX];
};

/* The guest runs this case with paging off (physical = linear). */
#define BLK_NOPAGING 1u

struct blk_result {
	uint32_t r[8];
	uint32_t eflags;
	int32_t vector;     /* -1: ran to the end; else the exception vector */
	uint32_t eip;       /* the end, the faulting instruction (after it for #BP) */
	uint32_t err;       /* error code (vectors that push one) */
	uint32_t cr2;       /* #PF: the faulting linear address */
	uint32_t stray;     /* blk_stray() of the pages around the buffers */
	uint32_t seq;
	uint32_t pad;
	uint8_t data[BLK_DATA_SIZE];
	uint8_t stack[BLK_STACK_SIZE];
};

/* 0 when the parts of the data and stack pages outside the buffers are
 * still zero and the read-only page still equals ro_want; else a hash of
 * them, so a stray write shows up even where no buffer is compared.
 * zero: at least 4096 zero bytes. */
static inline uint32_t blk_stray(const uint8_t *data_page, const uint8_t *ro_page, const uint8_t *ro_want,
				 const uint8_t *stack_page, const uint8_t *zero)
{
	const uint32_t dlen = BLK_DATA_ADDR - BLK_DATA_PAGE, slen = BLK_STACK_ADDR - BLK_STACK_PAGE;
	if (!memcmp(data_page, zero, dlen) && !memcmp(stack_page, zero, slen) && !memcmp(ro_page, ro_want, 4096))
		return 0;
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < dlen; i++)
		h = (h ^ data_page[i]) * 16777619u;
	for (uint32_t i = 0; i < slen; i++)
		h = (h ^ stack_page[i]) * 16777619u;
	for (uint32_t i = 0; i < 4096; i++)
		h = (h ^ (uint8_t)(ro_page[i] ^ ro_want[i])) * 16777619u;
	return h | 1u;
}

#endif
