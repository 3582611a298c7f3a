/* PAE paging and NX (SDM Vol. 3, 4.4, 4.6-4.7; 4.1.4 MAXPHYADDR 36), the
 * PAT MSR (11.12) and EFER (2.2.1), from inside a guest: the kernel
 * leaves 32-bit paging for PAE tables that map the same first 8 MiB with
 * 2 MiB pages and the TEST_VA window with 4 KiB pages, probes them, and
 * goes back. */
#include "conf.h"

#define P 1ull
#define W 2ull
#define U 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define XD 0x8000000000000000ull
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define MSR_PAT 0x277u
#define MSR_EFER 0xc0000080u
#define EFER_NXE 0x800u

static u64 pdpt[4] __attribute__((aligned(32)));
static u64 pdpt_bad[4] __attribute__((aligned(32)));
static u64 pd[512] __attribute__((aligned(4096)));
static u64 pt[512] __attribute__((aligned(4096))); /* TEST_VA .. + 2 MiB */

static u32 read_cr4(void)
{
	u32 v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}
static void cpuid(u32 leaf, u32 r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* Switch paging modes: PG off (the kernel is identity-mapped), CR4.PAE,
 * CR3, PG on (SDM 4.1.2: PAE cannot change while paging). */
static void paging_mode(int pae, u32 cr3)
{
	u32 cr0 = read_cr0();
	write_cr0(cr0 & ~CR0_PG);
	write_cr4(pae ? read_cr4() | CR4_PAE : read_cr4() & ~CR4_PAE);
	write_cr3(cr3);
	write_cr0(cr0);
}

static u32 va(int i) { return TEST_VA + 0x1000u * (u32)i; }

static void map(int i, u64 flags)
{
	pt[i] = flags ? (u32)test_page(i) | flags : 0;
	invlpg(va(i));
}

static void probe(int ring, const void *snip, u32 esi)
{
	prep(ring, snip);
	in.esi = esi;
	in.eax = 0x600dc0de;
	go();
}

static void nx_checks(void)
{
	u32 r[4];
	cpuid(0x80000000u, r);
	u32 max = r[0];
	cpuid(0x80000001u, r);
	if (max < 0x80000001u || !(r[3] & (1u << 20))) {
		conf_skip("NX checks", "CPUID.80000001:EDX.XD=0");
		return;
	}
	wrmsr(MSR_EFER, EFER_NXE);
	check("EFER.NXE set through WRMSR 0xC0000080", rdmsr(MSR_EFER) == EFER_NXE, EFER_NXE, (u32)rdmsr(MSR_EFER));
	memcpy(test_page(2), s_done, 3); /* nop; int $VEC_DONE */
	map(2, P | W | U | XD);
	probe(0, s_rd, va(2));
	expect("read of an XD page -> allowed", VEC_DONE, 0, ANYEIP);
	probe(0, (void *)va(2), 0);
	expect_pf("fetch from an XD page at ring 0 -> #PF(0x11): P, I/D", 0x11, va(2), va(2));
	probe(3, (void *)va(2), 0);
	expect_pf("fetch from an XD page at ring 3 -> #PF(0x15)", 0x15, va(2), va(2));
	map(2, P | W | U);
	probe(3, (void *)va(2), 0);
	expect("the same page without XD runs", VEC_DONE, 0, ANYEIP);
	map(2, 0);
	probe(0, (void *)va(2), 0);
	expect_pf("fetch from a not-present page with NXE -> #PF(0x10)", 0x10, va(2), va(2));
	prep(0, s_wrmsr);
	in.ecx = MSR_EFER;
	in.eax = 0x100; /* LME: no long mode on these processors */
	go();
	expect("EFER bit 8 (LME) -> #GP(0)", 13, 0, (u32)s_wrmsr);
	wrmsr(MSR_EFER, 0);
}

static void pae_checks(void)
{
	u32 i;
	for (i = 0; i < 4; i++) /* 0-8 MiB: the kernel, identity, 2 MiB pages */
		pd[i] = ((u64)i << 21) | P | W | U | PS;
	pd[TEST_VA >> 21] = (u32)pt | P | W | U;
	for (i = 0; i < 512; i++)
		pt[i] = 0;
	pdpt[0] = (u32)pd | P;
	paging_mode(1, (u32)pdpt);

	map(0, P | W | U);
	*(u32 *)test_page(0) = 0x12345678;
	probe(3, s_rd, va(0));
	check("PAE on: ring 3 reads a 4 KiB page through the 64-bit tables",
	      probe_vec_is(VEC_DONE) && probe_out.f.eax == 0x12345678, 0x12345678, probe_out.f.eax);
	check("the read set the PTE's accessed bit", (pt[0] & (A | D)) == A, A, (u32)pt[0] & (A | D));
	probe(3, s_wr, va(0));
	check("a write set its dirty bit", (pt[0] & (A | D)) == (A | D), A | D, (u32)pt[0] & (A | D));
	map(1, P | W | (1ull << 40));
	probe(0, s_rd, va(1));
	expect_pf("PTE with bit 40 set (above MAXPHYADDR 36) -> #PF(0x9): P, RSVD", 9, va(1), (u32)s_rd);
	map(1, P | W | U | XD);
	probe(3, s_wr, va(1));
	expect_pf("XD set while EFER.NXE=0 -> #PF(0xf): reserved", 0xf, va(1), (u32)s_wr);
	pd[5] = 0xa00000 | P | W | PS | 0x2000;
	invlpg(0xa00000);
	probe(0, s_rd, 0xa00000);
	expect_pf("2 MiB PDE with bit 13 set -> #PF(0x9)", 9, 0xa00000, (u32)s_rd);
	pd[5] = 0;
	pdpt_bad[0] = pdpt[0];
	pdpt_bad[1] = (u32)pd | P | 4; /* bit 2 is reserved in a PDPTE */
	prep(0, s_wrcr3);
	in.esi = (u32)pdpt_bad;
	go();
	expect("MOV CR3 with a reserved PDPTE bit -> #GP(0)", 13, 0, (u32)s_wrcr3);
	check("and CR3 is unchanged", read_cr3() == (u32)pdpt, (u32)pdpt, read_cr3());

	nx_checks();
	paging_mode(0, (u32)kernel_pd);
}

static void pat_checks(void)
{
	u64 old = rdmsr(MSR_PAT);
	wrmsr(MSR_PAT, 0x0001050400070106ull);
	check("PAT MSR 0x277 keeps what WRMSR stored", rdmsr(MSR_PAT) == 0x0001050400070106ull, 0x00070106,
	      (u32)rdmsr(MSR_PAT));
	prep(0, s_wrmsr);
	in.ecx = MSR_PAT;
	in.eax = 0x02; /* memory type 2 is reserved */
	go();
	expect("PAT entry of type 2 -> #GP(0)", 13, 0, (u32)s_wrmsr);
	wrmsr(MSR_PAT, old);
}

void conf_pae(void)
{
	u32 r[4];
	cpuid(1, r);
	if (!(r[3] & (1u << 6))) {
		conf_skip("PAE checks", "CPUID.1:EDX.PAE=0");
		return;
	}
	pae_checks();
	if (r[3] & (1u << 16))
		pat_checks();
	else
		conf_skip("PAT checks", "CPUID.1:EDX.PAT=0");
}
