/* The decoded-block cache: guest code decoded once (by Zydis) into
 * struct insn arrays, found by physical address, dropped when a page that
 * holds it is written. Shared by interp and (later) the translator. */
#ifndef RINGVM_BLOCK_H
#define RINGVM_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/exec.h"

#define BLOCK_MAX_INSNS 64

struct block {
	uint64_t phys;        /* guest-physical address of the first byte */
	uint64_t phys2;       /* physical page of a second page, or PHYS_NONE */
	uint32_t size;        /* bytes of guest code covered */
	uint8_t code32;
	uint8_t valid;
	uint16_t n;
	uint8_t mode;         /* cpu_block_mode() it was decoded in: part of its key */
	struct block *hnext;  /* hash chain */
	struct block *pnext[2]; /* per-page lists: [0] first page, [1] second */
	void *host_code;      /* reserved for the translator */
	/* Successor cache (chaining): linear EIPs that followed this block
	 * and the blocks found there. Only a hint: block_lookup() revalidates
	 * a successor against the TLB, CS and the block's state before use. */
	uint32_t succ_lin[2];
	struct block *succ[2];
	uint8_t succ_next;    /* slot the next new successor replaces */
	struct insn insn[];
};

struct block_cache;

struct block_cache *block_cache_new(uint64_t ram_size);
void block_cache_free(struct block_cache *bc);

/* The block starting at CS:EIP, decoded now if needed. Raises #PF/#GP/#UD
 * as fetching and decoding the first instruction would. */
struct block *block_lookup(struct cpu *cpu);

/* Decode one instruction at CS:EIP into *out without caching (single-step,
 * traces, the CS-limit edge). Raises as block_lookup does. */
void block_decode_one(struct cpu *cpu, struct insn *out);

/* A RAM page holds decoded code: writes to it must go through
 * block_invalidate_page first. */
bool block_page_has_code(struct cpu *cpu, uint64_t ppage);
void block_invalidate_page(struct cpu *cpu, uint64_t ppage);
void block_flush_all(struct cpu *cpu);

/* The translator's hooks: drop is called for each block with host code
 * that a page write drops, so that nothing jumps into its translation
 * again; flush when every block is dropped at once. */
void block_set_hooks(struct cpu *cpu, void (*drop)(void *opaque, struct block *b),
		     void (*flush)(void *opaque), void *opaque);

/* Decoder (decode.c): one instruction from bytes, in the CPU's code size
 * and for its model (an instruction the model lacks runs as #UD). Returns the length, or
 * DECODE_MORE if the bytes end inside the instruction, DECODE_UD for an
 * invalid or unimplemented instruction, DECODE_LONG for over 15 bytes. */
#define DECODE_MORE (-1)
#define DECODE_UD (-2)
#define DECODE_LONG (-3)
int decode_insn(const struct cpu *cpu, const uint8_t *bytes, int avail, struct insn *out);
/* Disassemble for traces. */
void decode_format(const uint8_t *bytes, int avail, int code32, uint32_t eip, char *buf, int buflen);

#endif
