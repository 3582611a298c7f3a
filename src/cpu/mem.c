/* Guest memory: physical map, page walks (32-bit and PAE), software TLB fill,
 * and the slow paths of linear accesses (page-crossing, MMIO, ROM, code
 * pages). The fast path is tlb_hit() in exec.h.
 *
 * A guest reaches host memory only through addresses computed here from
 * ram + pa with pa < ram_size (or the ROM buffer): nothing else is mapped.
 */
#include <stdio.h>

#include "cpu/block.h"
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/hostdbg.h"

enum { PK_RAM, PK_ROM, PK_MMIO };

#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_D 0x040u
#define PTE_PS 0x080u
#define PTE_G 0x100u

#define PTE_XD 0x8000000000000000ull

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u
#define PF_RSVD 8u
#define PF_ID 16u

static inline uint64_t a20_mask(const struct cpu *cpu, uint64_t pa)
{
	return cpu->mem.a20 ? pa : (pa & ~(uint64_t)0x100000);
}

/* Classify a physical address; for RAM and ROM return the host byte. */
static uint8_t *phys_host(struct cpu *cpu, uint64_t pa, int *kind)
{
	const struct cpu_memmap *m = &cpu->mem;
	if (pa >= PHYS_4G) {
		*kind = pa - PHYS_4G < m->ram_size - m->ram_low ? PK_RAM : PK_MMIO;
		return *kind == PK_RAM ? m->ram + m->ram_low + (pa - PHYS_4G) : NULL;
	}
	if (pa < m->ram_low) {
		if (pa >= 0xa0000 && pa < 0xc0000) {
			*kind = PK_MMIO;
			return NULL;
		}
		if (pa >= 0xc0000 && pa < 0x100000) {
			/* PAM: the shadow RAM when read-enabled (plain RAM if
			 * writes go there too), else the ROM, else nothing. */
			uint8_t pam = m->pam[(pa - 0xc0000) >> 14];
			if (pam & CPU_PAM_READ) {
				*kind = (pam & CPU_PAM_WRITE) ? PK_RAM : PK_ROM;
				return m->ram + pa;
			}
			if (m->rom && pa >= 0x100000 - m->rom_size) {
				*kind = PK_ROM;
				return m->rom + (pa - (0x100000 - m->rom_size));
			}
			*kind = PK_MMIO;
			return NULL;
		}
		*kind = PK_RAM;
		return m->ram + pa;
	}
	if (m->rom && pa >= PHYS_4G - m->rom_size) {
		*kind = PK_ROM;
		return m->rom + (pa - (PHYS_4G - m->rom_size));
	}
	*kind = PK_MMIO;
	return NULL;
}

static inline void mark_dirty(struct cpu *cpu, uint64_t pa)
{
	if (cpu->mem.dirty) {
		uint32_t pn = mem_ram_pn(cpu, pa & ~(uint64_t)0xfff);
		if (pn < (uint32_t)(cpu->mem.ram_size >> 12))
			cpu->mem.dirty[pn >> 6] |= 1ull << (pn & 63);
	}
}

static uint32_t phys_read(struct cpu *cpu, uint64_t pa, int size)
{
	int kind;
	pa = a20_mask(cpu, pa);
	uint8_t *h = phys_host(cpu, pa, &kind);
	if (h && ((pa & 0xfff) + (uint32_t)size <= 0x1000))
		return load_le(h, size);
	if (h) { /* crossing a page: assemble bytewise */
		uint32_t v = 0;
		for (int i = 0; i < size; i++)
			v |= phys_read(cpu, pa + (uint32_t)i, 1) << (8 * i);
		return v;
	}
	/* Nothing decodes the unassigned space above 4 GiB: reads float. */
	if (cpu->bus && cpu->bus->mmio_read && pa < PHYS_4G)
		return cpu->bus->mmio_read(cpu->bus->opaque, (uint32_t)pa, size) & size_mask(size);
	return size_mask(size);
}

/* Where a write lands: as a read, except in the PAM area, where it is
 * the shadow RAM when write-enabled (also while reads still come from
 * the ROM: a BIOS copies itself so) and dropped otherwise. */
static uint8_t *phys_write_host(struct cpu *cpu, uint64_t pa, int *kind)
{
	const struct cpu_memmap *m = &cpu->mem;
	if (pa >= 0xc0000 && pa < 0x100000 && pa < m->ram_low) {
		if (m->pam[(pa - 0xc0000) >> 14] & CPU_PAM_WRITE) {
			*kind = PK_RAM;
			return m->ram + pa;
		}
		*kind = PK_ROM;
		return NULL;
	}
	return phys_host(cpu, pa, kind);
}

static void phys_write(struct cpu *cpu, uint64_t pa, int size, uint32_t v)
{
	int kind;
	pa = a20_mask(cpu, pa);
	uint8_t *h = phys_write_host(cpu, pa, &kind);
	if (kind == PK_ROM)
		return; /* writes to ROM are dropped */
	if (h) {
		if ((pa & 0xfff) + (uint32_t)size > 0x1000) {
			for (int i = 0; i < size; i++)
				phys_write(cpu, pa + (uint32_t)i, 1, v >> (8 * i));
			return;
		}
		if (block_page_has_code(cpu, pa & ~(uint64_t)0xfff)) {
			block_invalidate_page(cpu, pa & ~(uint64_t)0xfff);
			cpu->block_break = 1;
		}
		mark_dirty(cpu, pa);
		store_le(h, size, v);
		return;
	}
	if (cpu->bus && cpu->bus->mmio_write && pa < PHYS_4G)
		cpu->bus->mmio_write(cpu->bus->opaque, (uint32_t)pa, size, v & size_mask(size));
}

int cpu_phys_write(struct cpu *cpu, uint32_t pa, const void *src, uint32_t len)
{
	if (pa > cpu->mem.ram_low || len > cpu->mem.ram_low - pa)
		return -1;
	for (uint32_t p = pa & ~0xfffu; p < pa + len; p += 0x1000) {
		if (block_page_has_code(cpu, p))
			block_invalidate_page(cpu, p);
		mark_dirty(cpu, p);
	}
	memcpy(cpu->mem.ram + pa, src, len);
	return 0;
}

int cpu_phys_read(struct cpu *cpu, uint32_t pa, void *dst, uint32_t len)
{
	if (pa > cpu->mem.ram_low || len > cpu->mem.ram_low - pa)
		return -1;
	memcpy(dst, cpu->mem.ram + pa, len);
	return 0;
}

/* A full flush (paging mode changes, A20, reset) sweeps every entry; a
 * CR3 write or task switch (keep_global) visits only the entries filled
 * since, which after a context switch are a few dozen of the 2048. */
void tlb_flush_all(struct cpu *cpu, int keep_global)
{
	if (!keep_global)
		for (uint32_t i = 0; i < TLB_SIZE; i++)
			cpu->tlb.none[i].tag_r = cpu->tlb.none[i].tag_w = cpu->tlb.none[i].tag_x = TLB_INVALID;
	for (int u = 0; u < 2; u++) {
		if (!keep_global) {
			for (uint32_t i = 0; i < TLB_SIZE; i++) {
				struct tlb_entry *e = &cpu->tlb.e[u][i];
				e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
			}
			memset(cpu->tlb.global[u], 0, sizeof(cpu->tlb.global[u]));
			memset(cpu->tlb.filled[u], 0, sizeof(cpu->tlb.filled[u]));
			continue;
		}
		for (uint32_t w = 0; w < TLB_SIZE / 32; w++) {
			uint32_t m = cpu->tlb.filled[u][w] & ~cpu->tlb.global[u][w];
			cpu->tlb.filled[u][w] &= cpu->tlb.global[u][w];
			while (m) {
				struct tlb_entry *e = &cpu->tlb.e[u][w * 32 + (uint32_t)__builtin_ctz(m)];
				e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
				m &= m - 1;
			}
		}
	}
}

void tlb_flush_page(struct cpu *cpu, uint32_t lin)
{
	uint32_t i = (lin >> 12) & (TLB_SIZE - 1);
	for (int u = 0; u < 2; u++) {
		struct tlb_entry *e = &cpu->tlb.e[u][i];
		e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
		cpu->tlb.global[u][i / 32] &= ~(1u << (i % 32));
		cpu->tlb.filled[u][i / 32] &= ~(1u << (i % 32));
	}
}

/* Forget write permission cached for a physical page that now holds code,
 * so that the next write takes the slow path and drops the blocks. */
void tlb_unwrite_ppage(struct cpu *cpu, uint64_t ppage)
{
	for (int u = 0; u < 2; u++)
		for (uint32_t i = 0; i < TLB_SIZE; i++)
			if (cpu->tlb.e[u][i].ppage == ppage)
				cpu->tlb.e[u][i].tag_w = TLB_INVALID;
}

void tlb_unwrite_all(struct cpu *cpu)
{
	for (int u = 0; u < 2; u++)
		for (uint32_t i = 0; i < TLB_SIZE; i++)
			cpu->tlb.e[u][i].tag_w = TLB_INVALID;
}

_Noreturn static void page_fault(struct cpu *cpu, uint32_t lin, uint32_t err)
{
	cpu->cr2 = lin;
	cpu_raise(cpu, EXC_PF, 1, err);
}

struct walk {
	uint64_t pa;
	int user_ok, write_ok_user, write_ok_sup, exec_ok; /* page permissions */
	int dirty, global;
};

/* Every model here reports no leaf 0x80000008, so MAXPHYADDR is 36 (SDM
 * 4.1.4): PAE entries' address bits above 35 are reserved. */
#define PAE_ADDR 0x0000000ffffff000ull
#define PAE_HI_RSVD 0x7ffffff000000000ull
/* PDPTE: bits 1, 2 and 5-8 are reserved too, and XD (SDM Table 4-8). */
#define PDPTE_RSVD (PAE_HI_RSVD | PTE_XD | 0x1e6u)

static int nxe(const struct cpu *cpu)
{
	return (cpu->efer & EFER_NXE) != 0;
}

/* The permissions both walks end with; raises #PF for the access (SDM
 * 4.6). flags holds the U/W bits of every level and'ed, xd any level's. */
static void walk_rights(struct cpu *cpu, uint32_t lin, int acc, uint32_t err, uint32_t flags, int xd,
			struct walk *w)
{
	int user = acc_user(cpu, acc);
	w->user_ok = (flags & PTE_U) != 0;
	w->write_ok_user = (flags & PTE_U) && (flags & PTE_W);
	w->write_ok_sup = (flags & PTE_W) || !(cpu->cr0 & CR0_WP);
	w->exec_ok = !xd;
	if (user && !w->user_ok)
		page_fault(cpu, lin, err | PF_P);
	if ((acc & 3) == ACC_W && !(user ? w->write_ok_user : w->write_ok_sup))
		page_fault(cpu, lin, err | PF_P);
	if ((acc & 3) == ACC_X && xd)
		page_fault(cpu, lin, err | PF_P);
}

/* Two-level 32-bit paging walk (SDM Vol. 3, 4.3), with 4 MiB pages under
 * CR4.PSE. Checks the access and sets accessed/dirty bits as the
 * processor does (4.8): only for an access that does not fault. */
static void page_walk32(struct cpu *cpu, uint32_t lin, int acc, struct walk *w)
{
	int user = acc_user(cpu, acc);
	int write = (acc & 3) == ACC_W;
	uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0);
	uint32_t pde_pa = (cpu->cr3 & 0xfffff000u) | ((lin >> 20) & 0xffcu);
	uint32_t pde = phys_read(cpu, pde_pa, 4);
	if (!(pde & PTE_P))
		page_fault(cpu, lin, err);
	uint32_t pte_pa = 0, pte, flags;
	int big = (pde & PTE_PS) && (cpu->cr4 & CR4_PSE);
	if (big) {
		pte = pde;
		flags = pde;
		w->pa = (pde & 0xffc00000u) | (lin & 0x3fffffu);
	} else {
		pte_pa = (pde & 0xfffff000u) | ((lin >> 10) & 0xffcu);
		pte = phys_read(cpu, pte_pa, 4);
		if (!(pte & PTE_P))
			page_fault(cpu, lin, err);
		flags = pde & pte & (PTE_U | PTE_W);
		w->pa = (pte & 0xfffff000u) | (lin & 0xfffu);
	}
	walk_rights(cpu, lin, acc, err, flags, 0, w);
	if (!(pde & PTE_A) || (big && write && !(pde & PTE_D))) {
		pde |= PTE_A | (big && write ? PTE_D : 0);
		phys_write(cpu, pde_pa, 4, pde);
	}
	if (!big && (!(pte & PTE_A) || (write && !(pte & PTE_D)))) {
		pte |= PTE_A | (write ? PTE_D : 0);
		phys_write(cpu, pte_pa, 4, pte);
	}
	if (big)
		pte = pde; /* the 4 MiB page's D bit is the one just written (fix, system) */
	w->dirty = (pte & PTE_D) != 0;
	w->global = (cpu->cr4 & CR4_PGE) && (pte & PTE_G);
}

static uint64_t phys_read64(struct cpu *cpu, uint64_t pa)
{
	return phys_read(cpu, pa, 4) | (uint64_t)phys_read(cpu, pa + 4, 4) << 32;
}

/* Reserved bits of a PAE PDE or PTE: the address bits above MAXPHYADDR,
 * and XD unless EFER.NXE (SDM Tables 4-9 to 4-11). */
static uint64_t pae_rsvd(const struct cpu *cpu)
{
	return PAE_HI_RSVD | (nxe(cpu) ? 0 : PTE_XD);
}

/* PAE walk (SDM 4.4): a PDPTE from the four CR3 loaded, 64-bit PDEs and
 * PTEs, 2 MiB pages (PS, regardless of CR4.PSE), XD under EFER.NXE. A
 * reserved bit set in a present entry is a #PF with RSVD (4.7); A/D
 * live in the low dword, written as the 32-bit walk writes them. */
static void page_walk_pae(struct cpu *cpu, uint32_t lin, int acc, struct walk *w)
{
	int user = acc_user(cpu, acc);
	int write = (acc & 3) == ACC_W;
	uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0) | ((acc & 3) == ACC_X && nxe(cpu) ? PF_ID : 0);
	uint64_t pdpte = cpu->pdpte[lin >> 30];
	if (!(pdpte & PTE_P))
		page_fault(cpu, lin, err);
	uint64_t rsvd = pae_rsvd(cpu);
	uint64_t pde_pa = (pdpte & PAE_ADDR) | ((lin >> 18) & 0xff8u);
	uint64_t pde = phys_read64(cpu, pde_pa);
	if (!(pde & PTE_P))
		page_fault(cpu, lin, err);
	int big = (pde & PTE_PS) != 0;
	/* a 2 MiB page's bits 20:13 are reserved; bit 12 is its PAT bit */
	if ((pde & rsvd) || (big && (pde & 0x1fe000u)))
		page_fault(cpu, lin, err | PF_P | PF_RSVD);
	uint64_t pte_pa = 0, pte;
	uint32_t flags;
	if (big) {
		pte = pde;
		flags = (uint32_t)pde;
		w->pa = (pde & PAE_ADDR & ~0x1fffffull) | (lin & 0x1fffffu);
	} else {
		pte_pa = (pde & PAE_ADDR) | ((lin >> 9) & 0xff8u);
		pte = phys_read64(cpu, pte_pa);
		if (!(pte & PTE_P))
			page_fault(cpu, lin, err);
		if (pte & rsvd)
			page_fault(cpu, lin, err | PF_P | PF_RSVD);
		flags = (uint32_t)(pde & pte) & (PTE_U | PTE_W);
		w->pa = (pte & PAE_ADDR) | (lin & 0xfffu);
	}
	walk_rights(cpu, lin, acc, err, flags, nxe(cpu) && ((pde | pte) & PTE_XD), w);
	if (!(pde & PTE_A) || (big && write && !(pde & PTE_D))) {
		pde |= PTE_A | (big && write ? PTE_D : 0);
		phys_write(cpu, pde_pa, 4, (uint32_t)pde);
	}
	if (!big && (!(pte & PTE_A) || (write && !(pte & PTE_D)))) {
		pte |= PTE_A | (write ? PTE_D : 0);
		phys_write(cpu, pte_pa, 4, (uint32_t)pte);
	}
	if (big)
		pte = pde;
	w->dirty = (pte & PTE_D) != 0;
	w->global = (cpu->cr4 & CR4_PGE) && (pte & PTE_G);
}

bool mmu_pdptes_load(struct cpu *cpu, uint32_t cr3)
{
	uint64_t e[4];
	for (uint32_t i = 0; i < 4; i++) {
		e[i] = phys_read64(cpu, a20_mask(cpu, (cr3 & 0xffffffe0u) + 8 * i));
		if ((e[i] & PTE_P) && (e[i] & PDPTE_RSVD))
			return false;
	}
	memcpy(cpu->pdpte, e, sizeof(e));
	return true;
}

/* Translate and, when the page is plain memory, fill the TLB entry. */
uint64_t mmu_translate(struct cpu *cpu, uint32_t lin, int acc)
{
	struct walk w;
	int user = acc_user(cpu, acc);
	if (cpu->cr0 & CR0_PG) {
		if (cpu->cr4 & CR4_PAE)
			page_walk_pae(cpu, lin, acc, &w);
		else
			page_walk32(cpu, lin, acc, &w);
	} else {
		w.pa = lin;
		w.user_ok = w.write_ok_user = w.write_ok_sup = w.exec_ok = 1;
		w.dirty = 1;
		w.global = 0;
	}
	uint64_t pa = a20_mask(cpu, w.pa);
	uint64_t ppage = pa & ~(uint64_t)0xfff;
	int kind;
	uint8_t *h = phys_host(cpu, ppage, &kind);
	uint32_t i = (lin >> 12) & (TLB_SIZE - 1);
	struct tlb_entry *e = &cpu->tlb.e[user][i];
	uint32_t lpage = lin & ~0xfffu;
	if (h) {
		e->ppage = ppage;
		e->addend = (uintptr_t)h - lpage;
		int readable = user ? w.user_ok : 1;
		int writable = user ? w.write_ok_user : w.write_ok_sup;
		e->tag_r = readable ? lpage : TLB_INVALID;
		e->tag_x = readable && w.exec_ok ? lpage : TLB_INVALID;
		/* While the dirty log runs, only a write fills a write entry,
		 * and it logs the page: later writes through the entry (the
		 * fast paths) then need no logging of their own. */
		int logged = !cpu->mem.dirty || (acc & 3) == ACC_W;
		e->tag_w = (writable && w.dirty && logged && kind == PK_RAM && !block_page_has_code(cpu, ppage))
				   ? lpage
				   : TLB_INVALID;
		if (e->tag_w != TLB_INVALID)
			mark_dirty(cpu, ppage);
		/* debug.c hook (system): a page with an armed data breakpoint
		 * is not cached for data, so accesses reach the slow path. */
		if ((cpu->debug_active && debug_page_watched(cpu, lpage)) ||
		    (cpu->hostdbg && hostdbg_page_watched(cpu, lpage))) /* hostdbg.c: the same for gdb's watchpoints */
			e->tag_r = e->tag_w = TLB_INVALID;
		cpu->tlb.filled[user][i / 32] |= 1u << (i % 32);
		if (w.global)
			cpu->tlb.global[user][i / 32] |= 1u << (i % 32);
		else
			cpu->tlb.global[user][i / 32] &= ~(1u << (i % 32));
	}
	return pa;
}

uint32_t mem_lin_read_slow(struct cpu *cpu, uint32_t lin, int size, int acc)
{
	if (((lin & 0xfff) + (uint32_t)size) > 0x1000) {
		/* Crossing pages: both translations happen before any data moves. */
		uint32_t n1 = 0x1000 - (lin & 0xfff);
		uint64_t pa1 = mmu_translate(cpu, lin, acc);
		uint64_t pa2 = mmu_translate(cpu, lin + n1, acc);
		uint32_t v = 0;
		for (int i = 0; i < size; i++) {
			uint64_t pa = (uint32_t)i < n1 ? pa1 + (uint32_t)i : pa2 + ((uint32_t)i - n1);
			v |= phys_read(cpu, pa, 1) << (8 * i);
		}
		if (cpu->debug_active) /* debug.c hook: data breakpoints */
			debug_data_access(cpu, lin, size, 0);
		if (cpu->hostdbg) /* hostdbg.c hook: gdb's watchpoints */
			hostdbg_access(cpu, lin, size, 0);
		return v;
	}
	uint64_t pa = mmu_translate(cpu, lin, acc);
	uint32_t v = phys_read(cpu, pa, size);
	if (cpu->debug_active) /* debug.c hook: data breakpoints */
		debug_data_access(cpu, lin, size, 0);
	if (cpu->hostdbg) /* hostdbg.c hook: gdb's watchpoints */
		hostdbg_access(cpu, lin, size, 0);
	return v;
}

void mem_lin_write_slow(struct cpu *cpu, uint32_t lin, int size, uint32_t v, int acc)
{
	if (((lin & 0xfff) + (uint32_t)size) > 0x1000) {
		uint32_t n1 = 0x1000 - (lin & 0xfff);
		uint64_t pa1 = mmu_translate(cpu, lin, acc);
		uint64_t pa2 = mmu_translate(cpu, lin + n1, acc);
		for (int i = 0; i < size; i++) {
			uint64_t pa = (uint32_t)i < n1 ? pa1 + (uint32_t)i : pa2 + ((uint32_t)i - n1);
			phys_write(cpu, pa, 1, v >> (8 * i));
		}
	} else {
		uint64_t pa = mmu_translate(cpu, lin, acc);
		phys_write(cpu, pa, size, v);
	}
	if (cpu->debug_active) /* debug.c hook: data breakpoints */
		debug_data_access(cpu, lin, size, 1);
	if (cpu->hostdbg) /* hostdbg.c hook: gdb's watchpoints */
		hostdbg_access(cpu, lin, size, 1);
}

void mem_probe_write(struct cpu *cpu, int s, uint32_t off, int size)
{
	uint32_t lin = seg_lin(cpu, s, off, size, SEG_OK_WRITE);
	if (tlb_hit(cpu, lin, size, ACC_W))
		return;
	mmu_translate(cpu, lin, ACC_W);
	if (((lin & 0xfff) + (uint32_t)size) > 0x1000)
		mmu_translate(cpu, (lin | 0xfff) + 1, ACC_W);
}

void cpu_set_a20(struct cpu *cpu, bool on)
{
	if (cpu->mem.a20 == on)
		return;
	cpu->mem.a20 = on;
	tlb_flush_all(cpu, 0);
	block_flush_all(cpu);
}

/* Rare (a BIOS sets PAM a few times while it starts): forget every
 * translation and block, since the same addresses now hold other bytes. */
void cpu_set_pam(struct cpu *cpu, int seg, uint8_t mode)
{
	mode &= CPU_PAM_READ | CPU_PAM_WRITE;
	if (seg < 0 || seg >= CPU_PAM_SEGS || cpu->mem.pam[seg] == mode)
		return;
	cpu->mem.pam[seg] = mode;
	tlb_flush_all(cpu, 0);
	block_flush_all(cpu);
	cpu->block_break = 1;
}

/* Fetch code bytes for the decoder: up to len bytes at lin, not crossing
 * the page. Returns the physical address of lin. */
uint64_t mem_fetch_page(struct cpu *cpu, uint32_t lin, uint8_t *buf, uint32_t len)
{
	uint64_t pa = mmu_translate(cpu, lin, ACC_X);
	int kind;
	uint8_t *h = phys_host(cpu, pa, &kind);
	if (h) {
		memcpy(buf, h, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			buf[i] = (uint8_t)phys_read(cpu, pa + i, 1);
	}
	return pa;
}

bool mem_is_ram(struct cpu *cpu, uint64_t pa)
{
	int kind;
	phys_host(cpu, a20_mask(cpu, pa), &kind);
	return kind == PK_RAM;
}

uint8_t *mem_phys_host(struct cpu *cpu, uint64_t pa, int *rom)
{
	int kind;
	uint8_t *h = phys_host(cpu, a20_mask(cpu, pa), &kind);
	*rom = kind == PK_ROM;
	return h;
}
