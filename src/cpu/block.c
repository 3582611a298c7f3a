/* Decoded-block cache.
 *
 * Blocks live in one arena, found by (physical address, code size) in a
 * hash table, and listed per physical page so a write to the page drops
 * them (self-modifying code, program loading). Invalidation only unlinks;
 * memory comes back when the arena fills and everything is flushed, which
 * happens in block_lookup() — between blocks, never while one runs.
 */
#include <stdlib.h>

#include "cpu/block.h"

#define HASH_BITS 16
#define ARENA_BYTES (32u << 20)

#define RECENT_BITS 12
static inline uint32_t recent_index(uint32_t lin)
{
	return (lin ^ (lin >> 12)) & ((1u << RECENT_BITS) - 1);
}

struct block_cache {
	struct block *hash[1u << HASH_BITS];
	struct block **page_head; /* per RAM page */
	uint32_t npages;
	uint8_t *arena;
	size_t used;
	int flush_pending;
	struct block *last; /* the block block_lookup() returned last, or NULL */
	/* Blocks found lately, by linear EIP (recent_index()): bt runs most
	 * blocks chained, so the run core's lookups rarely follow the block
	 * looked up before it, and the successor cache misses; this catches
	 * them without a page walk or the hash. A hint, checked by usable(). */
	struct block *recent[1u << RECENT_BITS];
	void (*drop)(void *opaque, struct block *b); /* see block_set_hooks */
	void (*flush)(void *opaque);
	void *drop_opaque;
};

void block_set_hooks(struct cpu *cpu, void (*drop)(void *opaque, struct block *b),
		     void (*flush)(void *opaque), void *opaque)
{
	cpu->bc->drop = drop;
	cpu->bc->flush = flush;
	cpu->bc->drop_opaque = opaque;
}

struct block_cache *block_cache_new(uint64_t ram_size)
{
	struct block_cache *bc = calloc(1, sizeof(*bc));
	if (!bc)
		return NULL;
	bc->npages = (uint32_t)((ram_size + 0xfff) >> 12);
	bc->page_head = calloc(bc->npages ? bc->npages : 1, sizeof(*bc->page_head));
	bc->arena = malloc(ARENA_BYTES);
	if (!bc->page_head || !bc->arena) {
		block_cache_free(bc);
		return NULL;
	}
	return bc;
}

void block_cache_free(struct block_cache *bc)
{
	if (!bc)
		return;
	free(bc->page_head);
	free(bc->arena);
	free(bc);
}

static inline uint32_t hash_of(uint64_t phys, unsigned mode)
{
	uint32_t h = ((uint32_t)phys ^ (uint32_t)(phys >> HASH_BITS) ^ ((uint32_t)mode << 15)) * 0x9e3779b1u;
	return h >> (32 - HASH_BITS);
}

void block_flush_all(struct cpu *cpu)
{
	struct block_cache *bc = cpu->bc;
	memset(bc->hash, 0, sizeof(bc->hash));
	memset(bc->recent, 0, sizeof(bc->recent));
	memset(bc->page_head, 0, bc->npages * sizeof(*bc->page_head));
	bc->used = 0;
	bc->last = NULL;
	cpu->block_break = 1;
	if (bc->flush)
		bc->flush(bc->drop_opaque);
}

static bool own_code(const struct cpu *cpu, uint32_t pn)
{
	return pn < cpu->bc->npages && cpu->bc->page_head[pn] != NULL;
}

/* With several CPUs each has its own cache, and a write by any one of
 * them drops code decoded by any: so the question and the dropping are
 * asked of them all. */
bool block_page_has_code(struct cpu *cpu, uint64_t ppage)
{
	uint32_t pn = mem_ram_pn(cpu, ppage);
	if (cpu->ncpus <= 1)
		return own_code(cpu, pn);
	for (int i = 0; i < cpu->ncpus; i++)
		if (own_code(cpu->cpus[i], pn))
			return true;
	return false;
}

static void hash_unlink(struct block_cache *bc, struct block *b)
{
	struct block **pp = &bc->hash[hash_of(b->phys, b->mode)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
}

static void invalidate_own(struct cpu *cpu, uint64_t ppage, uint32_t pn)
{
	struct block_cache *bc = cpu->bc;
	if (pn >= bc->npages)
		return;
	struct block *b = bc->page_head[pn];
	bc->page_head[pn] = NULL;
	while (b) {
		int second = (b->phys & ~(uint64_t)0xfff) != ppage;
		struct block *next = b->pnext[second];
		if (b->valid) {
			b->valid = 0;
			hash_unlink(bc, b);
			if (b->host_code && bc->drop)
				bc->drop(bc->drop_opaque, b);
		}
		b = next;
	}
}

void block_invalidate_page(struct cpu *cpu, uint64_t ppage)
{
	uint32_t pn = mem_ram_pn(cpu, ppage);
	if (cpu->ncpus <= 1)
		invalidate_own(cpu, ppage, pn);
	else
		for (int i = 0; i < cpu->ncpus; i++)
			invalidate_own(cpu->cpus[i], ppage, pn);
	cpu->block_break = 1;
}

static void page_link(struct cpu *cpu, struct block *b, uint64_t ppage, int which)
{
	struct block_cache *bc = cpu->bc;
	uint32_t pn = mem_ram_pn(cpu, ppage);
	if (pn >= bc->npages || !mem_is_ram(cpu, ppage)) {
		b->pnext[which] = NULL; /* ROM or unassigned: never written */
		return;
	}
	if (!bc->page_head[pn]) {
		/* Writes to the page must now reach block_invalidate_page,
		 * from whichever CPU they come. */
		if (cpu->ncpus <= 1)
			tlb_unwrite_ppage(cpu, ppage);
		else
			for (int i = 0; i < cpu->ncpus; i++)
				tlb_unwrite_ppage(cpu->cpus[i], ppage);
	}
	b->pnext[which] = bc->page_head[pn];
	bc->page_head[pn] = b;
}

/* Fetch and decode one instruction at lin (which is CS:EIP) into *in.
 * buf/pa describe the page already fetched. If the instruction runs into
 * the next page, that page is fetched only when allowed (first insn of a
 * block): otherwise returns 0 so the caller ends the block before it.
 * An instruction the decoder rejects comes back as DECODE_UD or
 * DECODE_LONG, not raised: only the caller knows whether the instruction
 * is the one about to run (the first of a block) or a later one, whose
 * fault must wait until the instructions before it have run. */
static int decode_at(struct cpu *cpu, uint32_t lin, struct insn *in, int allow_cross, uint64_t *phys2)
{
	uint8_t buf[32];
	uint32_t in_page = 0x1000 - (lin & 0xfff);
	uint32_t n = in_page < 16 ? in_page : 16;
	mem_fetch_page(cpu, lin, buf, n);
	int len = decode_insn(cpu, buf, (int)n, in);
	if (len == DECODE_MORE && n == in_page) {
		if (!allow_cross)
			return 0;
		uint32_t more = 16 - n;
		*phys2 = mem_fetch_page(cpu, lin + n, buf + n, more) & ~(uint64_t)0xfff;
		len = decode_insn(cpu, buf, 16, in);
	}
	return len == DECODE_MORE ? DECODE_LONG : len;
}

/* The fault of an instruction decode_at() rejected, now that it is the
 * instruction at CS:EIP. */
static void raise_decode_fault(struct cpu *cpu, int len)
{
	if (len == DECODE_LONG)
		raise_gp(cpu, 0); /* SDM: instructions longer than 15 bytes: #GP(0) */
	if (len == DECODE_UD)
		raise_ud(cpu);
}

void block_decode_one(struct cpu *cpu, struct insn *out)
{
	uint64_t phys2 = PHYS_NONE;
	uint32_t eip = cpu->eip;
	raise_decode_fault(cpu, decode_at(cpu, cpu->seg[S_CS].base + eip, out, 1, &phys2));
	if (eip + out->len - 1 > cpu->seg[S_CS].hi || eip + out->len - 1 < eip)
		raise_gp(cpu, 0);
}

static struct block *build(struct cpu *cpu, uint64_t phys)
{
	struct block_cache *bc = cpu->bc;
	size_t need = sizeof(struct block) + BLOCK_MAX_INSNS * sizeof(struct insn);
	if (bc->used + need > ARENA_BYTES)
		block_flush_all(cpu);
	struct block *b = (struct block *)(bc->arena + bc->used);
	b->phys = phys;
	b->phys2 = PHYS_NONE;
	b->code32 = cpu->code32;
	b->mode = cpu_block_mode(cpu);
	b->valid = 1;
	b->host_code = NULL;
	b->succ[0] = b->succ[1] = NULL;
	b->succ_lin[0] = b->succ_lin[1] = 0;
	b->succ_next = 0;
	uint32_t eip = cpu->eip;
	uint32_t cs_base = cpu->seg[S_CS].base;
	uint32_t limit = cpu->seg[S_CS].hi;
	uint32_t off = 0;
	int n = 0;
	while (n < BLOCK_MAX_INSNS) {
		uint32_t lin = cs_base + eip + off;
		struct insn *in = &b->insn[n];
		uint64_t phys2 = PHYS_NONE;
		int len;
		if (n == 0) {
			len = decode_at(cpu, lin, in, 1, &phys2);
			raise_decode_fault(cpu, len);
		} else {
			/* Later instructions: a fault here belongs to that
			 * instruction, so end the block and let it fault as the
			 * first of the next block, with its own EIP and after
			 * the instructions before it have run. */
			if ((lin & 0xfff) == 0)
				break; /* next page: a new block */
			len = decode_at(cpu, lin, in, 0, &phys2);
			if (len <= 0)
				break;
		}
		uint32_t last = eip + off + (uint32_t)len - 1;
		if (last > limit || last < eip + off) {
			if (n == 0)
				raise_gp(cpu, 0);
			break;
		}
		off += (uint32_t)len;
		n++;
		if (phys2 != PHYS_NONE) {
			b->phys2 = phys2;
			break;
		}
		if (in->flags & INSN_ENDS_BLOCK)
			break;
	}
	b->n = (uint16_t)n;
	b->size = off;
	bc->used += sizeof(struct block) + (size_t)n * sizeof(struct insn);
	bc->used = (bc->used + 15) & ~(size_t)15;
	uint32_t h = hash_of(phys, b->mode);
	b->hnext = bc->hash[h];
	bc->hash[h] = b;
	page_link(cpu, b, phys & ~(uint64_t)0xfff, 0);
	if (b->phys2 != PHYS_NONE)
		page_link(cpu, b, b->phys2, 1);
	return b;
}

/* Chaining: most blocks are followed by one or two others (a branch
 * taken or not), so the block run last remembers its successors by linear
 * EIP. A remembered successor is used only if the lookup below would find
 * it too: the TLB still maps its page for fetch at this privilege to the
 * physical page it was decoded from (so nothing is walked or faulted that
 * the TLB would not have cached), same code size, not invalidated, inside
 * the CS limit, and on one page (a second page is revalidated by a walk,
 * in the full lookup). usable(): would the full lookup at lin find b
 * now (same page offset, the TLB maps lin's page to b's, same mode)? */
static inline bool usable(struct cpu *cpu, const struct block *b, uint32_t lin, uint32_t eip)
{
	if (!b->valid || b->mode != cpu_block_mode(cpu) || b->phys2 != PHYS_NONE || ((b->phys ^ lin) & 0xfff))
		return false;
	const struct tlb_entry *e = &cpu->tlb.e[acc_user(cpu, ACC_X)][(lin >> 12) & (TLB_SIZE - 1)];
	if (e->tag_x != (lin & ~0xfffu) || e->ppage != (b->phys & ~(uint64_t)0xfff))
		return false;
	uint32_t end = eip + b->size - 1;
	return end <= cpu->seg[S_CS].hi && end >= eip;
}

static void chain(struct block_cache *bc, uint32_t lin, struct block *b)
{
	struct block *last = bc->last;
	bc->last = b;
	if (!last)
		return;
	int k = last->succ_next;
	last->succ_next = (uint8_t)(k ^ 1);
	last->succ_lin[k] = lin;
	last->succ[k] = b;
}

static struct block *lookup_hash(struct cpu *cpu, uint32_t eip, uint32_t lin)
{
	struct block_cache *bc = cpu->bc;
	uint64_t phys;
	uint8_t *p = tlb_hit(cpu, lin, 1, ACC_X);
	if (p)
		phys = cpu->tlb.e[acc_user(cpu, ACC_X)][(lin >> 12) & (TLB_SIZE - 1)].ppage | (lin & 0xfff);
	else
		phys = mmu_translate(cpu, lin, ACC_X);
	uint8_t mode = cpu_block_mode(cpu);
	for (struct block *b = bc->hash[hash_of(phys, mode)]; b; b = b->hnext) {
		if (b->phys != phys || b->mode != mode)
			continue;
		if (b->phys2 != PHYS_NONE) {
			/* The second page may map elsewhere now: check it. */
			uint64_t p2 = mmu_translate(cpu, (lin | 0xfff) + 1, ACC_X) & ~(uint64_t)0xfff;
			if (p2 != b->phys2) {
				b->valid = 0;
				hash_unlink(bc, b);
				if (b->host_code && bc->drop)
					bc->drop(bc->drop_opaque, b);
				break;
			}
		}
		if (eip + b->size - 1 > cpu->seg[S_CS].hi || eip + b->size - 1 < eip)
			break; /* runs past the CS limit here: decode afresh */
		return b;
	}
	struct block *b = build(cpu, phys);
	if (eip + b->size - 1 > cpu->seg[S_CS].hi)
		raise_gp(cpu, 0); /* cannot happen: build stops at the limit */
	return b;
}

/* Not a chained successor: the hash table (translating EIP, decoding a
 * new block if needed); links the result to the block run before. */
__attribute__((noinline)) static struct block *lookup_slow(struct cpu *cpu, uint32_t lin, uint32_t eip)
{
	struct block_cache *bc = cpu->bc;
	struct block **slot = &bc->recent[recent_index(lin)];
	struct block *b = *slot;
	if (!b || !usable(cpu, b, lin, eip)) {
		b = lookup_hash(cpu, eip, lin);
		*slot = b;
	}
	chain(bc, lin, b);
	return b;
}

struct block *block_lookup(struct cpu *cpu)
{
	struct block_cache *bc = cpu->bc;
	uint32_t eip = cpu->eip;
	if (eip > cpu->seg[S_CS].hi || eip < cpu->seg[S_CS].lo)
		raise_gp(cpu, 0);
	uint32_t lin = cpu->seg[S_CS].base + eip;
	struct block *last = bc->last;
	if (last) {
		struct block *b = last->succ_lin[0] == lin ? last->succ[0]
				  : last->succ_lin[1] == lin ? last->succ[1] : NULL;
		if (b && usable(cpu, b, lin, eip)) {
			bc->last = b;
			return b;
		}
	}
	return lookup_slow(cpu, lin, eip);
}
