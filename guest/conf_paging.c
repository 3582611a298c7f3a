/* Page protection (SDM Vol. 3, 4.6 access rights, 4.7 page-fault error
 * code, 4.8 accessed and dirty flags, 4.10.4 INVLPG). All checks use
 * the TEST_VA window, whose page table entries they rewrite. */
#include "conf.h"

extern u32 probe_vec;

#define P 1u
#define W 2u
#define U 4u
#define A 0x20u
#define D 0x40u

static u32 va(int i) { return TEST_VA + 0x1000u * (u32)i; }

static void map(int i, u32 flags)
{
	*pte_of(kernel_pd, va(i)) = flags ? (u32)test_page(i) | flags : 0;
	invlpg(va(i));
}

static void access(int ring, const void *snip, u32 addr)
{
	prep(ring, snip);
	in.esi = addr;
	in.eax = 0x600dc0de;
	go();
}

static void pf(const char *name, int ring, const void *snip, u32 addr, int err)
{
	access(ring, snip, addr);
	expect_pf(name, err, addr, (u32)snip);
}

static void okay(const char *name, int ring, const void *snip, u32 addr)
{
	access(ring, snip, addr);
	expect(name, VEC_DONE, 0, ANYEIP);
}

/* 4 MiB pages (CR4.PSE, PDE bit 7; SDM Vol. 3, 4.3): PDE 3 maps
 * 0xc00000-0xffffff to physical 4-8 MiB, which ringos leaves unused. */
static void big_pages(void)
{
	u32 a = 1, b, c = 0, d, cr4, *pde = &kernel_pd[3];
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (!(d & 8)) {
		conf_skip("4 MiB page checks", "CPUID.1:EDX.PSE=0");
		return;
	}
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 0x10));
	*pde = 0x400000 | 0x80 | P | W;
	flush_tlb();
	pf("ring3 read a supervisor 4 MiB page -> #PF(0x5)", 3, s_rd, 0xc01000, 5);
	*pde = 0x400000 | 0x80 | P | W | U;
	flush_tlb();
	okay("ring3 write a user 4 MiB page -> allowed", 3, s_wr, 0xc01000);
	check("write through a 4 MiB page sets the PDE's dirty bit", (*pde & (A | D)) == (A | D), A | D,
	      *pde & (A | D));
	check("and lands at physical 4 MiB + offset", *(u32 *)0x401000 == 0x600dc0de, 0x600dc0de,
	      *(u32 *)0x401000);
	*pde = 0;
	flush_tlb();
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
}

/* Code written and then run at the same address runs the new bytes
 * (SDM Vol. 3, 11.6): a VMM that caches decoded or translated code
 * must notice the write. */
static void self_modifying(void)
{
	u8 *code = test_page(4);
	int round;
	for (round = 1; round <= 2; round++) {
		u32 want = round * 0x11111111u;
		code[0] = 0xb8; /* MOV EAX, imm32 */
		memcpy(code + 1, &want, 4);
		code[5] = 0xcd; /* INT 0x81 */
		code[6] = VEC_DONE;
		access(3, s_jmp, va(4));
		check(round == 1 ? "ring3 runs freshly written code" : "ring3 runs the same code rewritten",
		      probe_vec == VEC_DONE && probe_out.f.eax == want, want, probe_out.f.eax);
	}
}

void conf_paging(void)
{
	u32 *pde = &kernel_pd[TEST_VA >> 22];
	u32 *pte;
	int i;
	map(0, P | W);     /* supervisor, writable */
	map(1, P | U);     /* user, read-only */
	map(2, 0);         /* not present */
	map(3, P | W);     /* supervisor, holds code */
	map(4, P | W | U); /* user, holds code */
	map(5, P | W | U); /* user, writable */
	map(6, P | W | U);
	for (i = 3; i <= 4; i++) {
		test_page(i)[0] = 0xcd; /* INT 0x81 */
		test_page(i)[1] = VEC_DONE;
	}

	pf("ring3 read supervisor page -> #PF(0x5)", 3, s_rd, va(0), 5);
	pf("ring3 write supervisor page -> #PF(0x7)", 3, s_wr, va(0), 7);
	pf("ring3 write read-only user page -> #PF(0x7)", 3, s_wr, va(1), 7);
	okay("ring3 read read-only user page -> allowed", 3, s_rd, va(1));
	pf("ring3 read not-present page -> #PF(0x4)", 3, s_rd, va(2), 4);
	pf("ring3 write not-present page -> #PF(0x6)", 3, s_wr, va(2), 6);
	access(3, s_jmp, va(3));
	expect_pf("ring3 jump into supervisor page -> #PF(0x5) at the target", 5, va(3), va(3));
	access(3, s_jmp, va(4));
	expect("ring3 jump into user page -> runs there", VEC_DONE, 0, va(4) + 2);

	write_cr0(read_cr0() & ~0x10000u);
	access(0, s_wr, va(1));
	if (expect("ring0 write read-only page with CR0.WP=0 -> allowed", VEC_DONE, 0, ANYEIP))
		check("ring0 write with CR0.WP=0 landed", *(u32 *)test_page(1) == 0x600dc0de, 0x600dc0de,
		      *(u32 *)test_page(1));
	okay("ring1 write read-only user page with CR0.WP=0 -> allowed", 1, s_wr, va(1));
	write_cr0(read_cr0() | 0x10000u);
	pf("ring0 write read-only page with CR0.WP=1 -> #PF(0x3)", 0, s_wr, va(1), 3);
	pf("ring1 write read-only user page with CR0.WP=1 -> #PF(0x3)", 1, s_wr, va(1), 3);
	pf("ring0 read not-present page -> #PF(0x0)", 0, s_rd, va(2), 0);
	pf("ring0 write not-present page -> #PF(0x2)", 0, s_wr, va(2), 2);
	okay("ring2 read supervisor page -> allowed (CPL<3 is supervisor)", 2, s_rd, va(0));

	/* The directory entry restricts too: the stricter of PDE and PTE. */
	*pde &= ~U;
	flush_tlb();
	pf("ring3 read user page under a supervisor PDE -> #PF(0x5)", 3, s_rd, va(5), 5);
	*pde = (*pde | U) & ~W;
	flush_tlb();
	pf("ring3 write writable page under a read-only PDE -> #PF(0x7)", 3, s_wr, va(5), 7);
	*pde |= W;
	flush_tlb();

	/* Accessed and dirty flags, set by the processor's page walk. */
	map(5, P | W | U);
	map(6, P | W | U);
	*pde &= ~A;
	flush_tlb();
	okay("ring3 write user page -> allowed", 3, s_wr, va(5));
	pte = pte_of(kernel_pd, va(5));
	check("write sets the PTE accessed and dirty bits", (*pte & (A | D)) == (A | D), A | D,
	      *pte & (A | D));
	check("a walk sets the PDE accessed bit", (*pde & A) != 0, A, *pde & A);
	okay("ring3 read user page -> allowed", 3, s_rd, va(6));
	pte = pte_of(kernel_pd, va(6));
	check("read sets accessed but not dirty", (*pte & (A | D)) == A, A, *pte & (A | D));

	/* INVLPG: the changed entry is used after the flush. */
	okay("ring3 read fills the TLB", 3, s_rd, va(5));
	*pte_of(kernel_pd, va(5)) = 0;
	invlpg(va(5));
	pf("after PTE cleared + INVLPG, ring3 read -> #PF(0x4)", 3, s_rd, va(5), 4);
	map(5, P | W | U);

	big_pages();
	self_modifying();
}
