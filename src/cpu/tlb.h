/* Software TLB: linear page -> host pointer, one set for supervisor and
 * one for user accesses, each entry valid separately for read, write and
 * fetch. Shared by interp and (later) the translator's inline lookups. */
#ifndef RINGVM_TLB_H
#define RINGVM_TLB_H

#include <stdint.h>

#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 0xffffffffu /* tag that no page-aligned address has */

struct tlb_entry {
	uint32_t tag_r, tag_w, tag_x; /* linear page address, or TLB_INVALID */
	uint32_t pad;                 /* 32 bytes: an entry never straddles a cache line */
	uintptr_t addend;             /* host address = linear + addend */
	uint64_t ppage;               /* guest-physical page address (PAE: above 4 GiB too) */
};

struct tlb {
	_Alignas(64) struct tlb_entry e[2][TLB_SIZE]; /* [0] supervisor, [1] user */
	/* A set that never hits, right after e: the translator's lookups
	 * use it while alignment checking is on, so every access then takes
	 * the interpreter's path, which checks alignment. */
	struct tlb_entry none[TLB_SIZE];
	uint32_t global[2][TLB_SIZE / 32]; /* entries that came from G pages */
	/* Entries filled since the last full flush (a superset of those with
	 * a valid tag), so that a CR3 write visits only those. */
	uint32_t filled[2][TLB_SIZE / 32];
};

#endif
