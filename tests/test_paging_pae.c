/* PAE paging and NX (SDM Vol. 3, 4.4 and 4.6-4.7) as mem.c implements
 * them: the four PDPTEs loaded by MOV CR3/CR0/CR4 (reserved bit: #GP(0),
 * the register unchanged), 64-bit PDEs and PTEs, 2 MiB and 4 KiB pages,
 * 36-bit physical addresses reaching RAM above 4 GiB, reserved bits as #PF
 * with RSVD, accessed/dirty bits in the low dword, EFER.NXE with the XD
 * bit and the I/D bit of the error code, the PAT and EFER MSRs and the
 * CPUID bits of each model.
 *
 * The harness has 8 MiB of RAM at 0 and 8 MiB more at 4 GiB. Table
 * checks drive lin_read/lin_write and the decoder's fetch directly; the
 * control-register and fetch-fault checks run guest code on the engine
 * under test (bt translates code when it first runs: an XD page must
 * fault at the instruction that enters it, also after INVLPG).
 */
#include "cpu/cpumodel.h"
#include "cpu/hostdbg.h"
#include "cpu/msr.h"
#include "fault_util.h"
#include "paging_util.h"

#define MB (1u << 20)
#define LOW (8 * MB)
#define GDT 0x800u
#define IDT 0x1000u
#define HANDLERS 0x3000u /* vector v: HLT at HANDLERS + 16 v */
#define PDPT 0x20000u
#define PD0 0x21000u
#define PT0 0x22000u    /* 0-2 MiB, identity */
#define PT3 0x23000u    /* 6-8 MiB -> 4 GiB + 2 MiB + ... */
#define PDPT_BAD 0x24000u
#define CODE 0x100000u
#define STACK 0x80000u

#define P 0x001ull
#define W 0x002ull
#define U 0x004ull
#define A 0x020ull
#define D 0x040ull
#define PS 0x080ull
#define XD 0x8000000000000000ull
#define HI4G 0x100000000ull

static struct harness h;
static int failures;

static void wr64(uint32_t pa, uint64_t v) { memcpy(h.ram + pa, &v, 8); }
static uint64_t rd64(uint32_t pa) { uint64_t v; memcpy(&v, h.ram + pa, 8); return v; }
/* Host byte of a physical address above 4 GiB. */
static uint8_t *high(uint64_t pa) { return h.ram + LOW + (pa - HI4G); }

static void set_model(const char *name)
{
	cpu_set_model(&h.cpu, cpumodel_find(name));
}

/* Flat CPL-0 protected mode with a GDT and an IDT whose vector v halts at
 * HANDLERS + 16 v, and PAE tables: 0-2 MiB identity in 4 KiB pages,
 * 2-4 MiB one identity 2 MiB page, 4-6 MiB a 2 MiB page at 4 GiB,
 * 6-8 MiB 4 KiB pages from 4 GiB + 2 MiB. Paging on when pg. */
static void setup(int pg, int nxe)
{
	h_flat32(&h, CODE, STACK);
	h_flat_gdt(&h, GDT);
	for (uint32_t v = 0; v < 32; v++) {
		uint32_t at = HANDLERS + 16 * v;
		h_wr32(&h, IDT + v * 8, (at & 0xffff) | (0x10u << 16));
		h_wr32(&h, IDT + v * 8 + 4, (at & 0xffff0000u) | 0x8e00u);
		h.ram[at] = 0xf4;
	}
	h.cpu.idtr = (struct dtr){IDT, 32 * 8 - 1};
	memset(h.ram + PDPT, 0, 0x5000);
	wr64(PDPT, PD0 | P);
	wr64(PD0, PT0 | P | W | U);
	wr64(PD0 + 8, 0x200000 | P | W | U | PS);
	wr64(PD0 + 16, HI4G | P | W | U | PS);
	wr64(PD0 + 24, PT3 | P | W | U);
	for (uint32_t i = 0; i < 512; i++) {
		wr64(PT0 + 8 * i, (uint64_t)i << 12 | P | W | U);
		wr64(PT3 + 8 * i, (HI4G + 2 * MB + ((uint64_t)i << 12)) | P | W | U);
	}
	h.cpu.efer = nxe ? EFER_NXE : 0;
	h.cpu.cr3 = PDPT;
	h.cpu.cr4 = CR4_PAE;
	if (pg) {
		CHECK(mmu_pdptes_load(&h.cpu, PDPT), "PDPTEs of the test tables refused");
		h.cpu.cr0 |= CR0_PG;
	}
	tlb_flush_all(&h.cpu, 0);
	cpu_update_mode(&h.cpu);
}

static int rd(uint32_t lin, int user, uint32_t *v) { return pg_access(&h.cpu, lin, 4, ACC_R, user, v); }
static int wr(uint32_t lin, int user, uint32_t v) { return pg_access(&h.cpu, lin, 4, ACC_W, user, &v); }
static int fx(uint32_t lin, int user) { uint32_t v; return pg_access(&h.cpu, lin, 4, ACC_X, user, &v); }

static void t_pages(void)
{
	uint32_t v = 0;
	setup(1, 0);
	/* 4 KiB page: A on a read, D on a write, in the low dword only */
	wr64(PT0 + 8 * 0x50, 0x50000 | P | W);
	h_wr32(&h, 0x50010, 0x12345678);
	CHECK(rd(0x50010, 0, &v) == -1 && v == 0x12345678, "4K read: %08x", v);
	CHECK(rd64(PT0 + 8 * 0x50) == (0x50000 | P | W | A), "4K read sets A: %016llx",
	      (unsigned long long)rd64(PT0 + 8 * 0x50));
	CHECK(wr(0x50014, 0, 0xcafe) == -1 && h_rd32(&h, 0x50014) == 0xcafe, "4K write");
	CHECK(rd64(PT0 + 8 * 0x50) == (0x50000 | P | W | A | D), "4K write sets D");
	CHECK((rd64(PD0) & A) != 0, "PDE accessed");
	/* 2 MiB page: 2-4 MiB identity; the PDE takes A and D */
	h_wr32(&h, 0x2abcd0, 0xa5a5a5a5);
	CHECK(rd(0x2abcd0, 0, &v) == -1 && v == 0xa5a5a5a5, "2M read: %08x", v);
	CHECK(wr(0x2abcd4, 1, 7) == -1 && h_rd32(&h, 0x2abcd4) == 7, "2M user write");
	CHECK((rd64(PD0 + 8) & (A | D)) == (A | D), "2M page A/D: %016llx", (unsigned long long)rd64(PD0 + 8));
	/* RAM above 4 GiB: a 2 MiB page at 4 GiB and 4 KiB pages after it */
	CHECK(wr(0x400010, 0, 0x600dcafe) == -1, "write to 4G page");
	CHECK(!memcmp(high(HI4G + 0x10), "\xfe\xca\x0d\x60", 4), "2M page at 4 GiB wrote host RAM");
	memcpy(high(HI4G + 2 * MB + 0x3008), "\x44\x33\x22\x11", 4);
	CHECK(rd(0x603008, 0, &v) == -1 && v == 0x11223344, "4K page at 4G+2M+12K: %08x", v);
	CHECK(rd64(PT3 + 8 * 3) == ((HI4G + 2 * MB + 0x3000) | P | W | U | A), "high PTE A kept address bits: %016llx",
	      (unsigned long long)rd64(PT3 + 8 * 3));
	/* the debugger's view (gdb stub) walks the same tables, no side effects */
	struct hostdbg_xlate x;
	CHECK(hostdbg_translate(&h.cpu, 0x603008, &x) == 0 && x.pa == HI4G + 2 * MB + 0x3008 && !x.big,
	      "hostdbg: 0x603008 -> %llx", (unsigned long long)x.pa);
	CHECK(hostdbg_translate(&h.cpu, 0x400123, &x) == 0 && x.pa == HI4G + 0x123 && x.big, "hostdbg: 2M page");
	CHECK(hostdbg_translate(&h.cpu, 0x40000000, &x) == -1, "hostdbg: not-present PDPTE");
	uint32_t hv = 0;
	CHECK(hostdbg_read(&h.cpu, 0x603008, &hv, 4, 0) == 4 && hv == 0x11223344, "hostdbg read above 4 GiB: %08x", hv);
	/* 36-bit addresses: bit 35 is an address bit, not reserved; nothing
	 * is there, reads float */
	wr64(PT3 + 8 * 4, 0x800000000ull | P | W);
	CHECK(rd(0x604000, 0, &v) == -1 && v == 0xffffffffu, "unbacked 36-bit address: %08x", v);
	CHECK(wr(0x604000, 0, 1) == -1, "write to unbacked 36-bit address");
	/* U/S and R/W are the AND of the levels, as in 32-bit paging */
	wr64(PT3 + 8 * 5, (HI4G + 0x5000) | P);
	CHECK(rd(0x605000, 1, &v) == 5, "user read of supervisor page");
	CHECK(wr(0x605000, 0, 1) == -1, "supervisor write to read-only page (WP=0)");
	h.cpu.cr0 |= CR0_WP;
	tlb_flush_all(&h.cpu, 0);
	CHECK(wr(0x605000, 0, 1) == 3, "supervisor write to read-only page (WP=1)");
}

static void t_faults(void)
{
	uint32_t v = 0;
	setup(1, 0);
	/* PDPTEs 1-3 not present */
	CHECK(rd(0x40000000, 0, &v) == 0, "PDPTE not present, read");
	CHECK(wr(0xc0001000, 1, 0) == 6, "PDPTE not present, user write");
	CHECK(h.cpu.cr2 == 0xc0001000, "CR2 %08x", h.cpu.cr2);
	/* PDE / PTE not present */
	wr64(PD0 + 8 * 5, 0);
	CHECK(rd(0xa00000, 1, &v) == 4, "PDE not present");
	wr64(PT0 + 8 * 0x60, 0x60000);
	CHECK(wr(0x60000, 0, 0) == 2, "PTE not present");
	/* A reserved bit in a present entry: RSVD and P, no A bit set */
	wr64(PT0 + 8 * 0x61, 0x61000 | P | W | (1ull << 36));
	CHECK(rd(0x61000, 0, &v) == 9, "PTE bit 36: RSVD");
	CHECK(wr(0x61000, 1, 0) == 15, "PTE bit 36, user write: RSVD");
	CHECK(!(rd64(PT0 + 8 * 0x61) & A), "reserved PTE got A");
	wr64(PT0 + 8 * 0x62, 0x62000 | P | W | (1ull << 62));
	CHECK(rd(0x62000, 0, &v) == 9, "PTE bit 62: RSVD");
	wr64(PD0 + 8 * 6, 0xc00000 | P | W | PS | 0x2000);
	CHECK(rd(0xc00000, 0, &v) == 9, "2M PDE bit 13: RSVD");
	wr64(PD0 + 8 * 6, 0xc00000 | P | W | PS | 0x1000); /* bit 12: the PAT bit */
	CHECK(rd(0xc00000, 0, &v) == -1, "2M PDE bit 12 (PAT) is not reserved");
	/* XD without EFER.NXE is reserved */
	wr64(PT0 + 8 * 0x63, 0x63000 | P | W | XD);
	CHECK(rd(0x63000, 0, &v) == 9, "XD with NXE=0: RSVD");
	CHECK(fx(0x64000, 0) == -1, "fetch from a present page");
	wr64(PT0 + 8 * 0x64, 0);
	CHECK(fx(0x64000, 0) == 0, "fetch, not present, NXE=0: no I/D bit");
}

static void t_nx_walk(void)
{
	uint32_t v = 0;
	setup(1, 1);
	wr64(PT0 + 8 * 0x63, 0x63000 | P | W | U | XD);
	CHECK(rd(0x63000, 0, &v) == -1, "XD page readable");
	CHECK(wr(0x63000, 1, 5) == -1, "XD page writable");
	CHECK(fx(0x63000, 0) == 0x11, "fetch from XD page: P|I/D");
	CHECK(fx(0x63000, 1) == 0x15, "user fetch from XD page: P|U|I/D");
	/* XD in the PDE covers the whole table */
	wr64(PD0 + 24, PT3 | P | W | U | XD);
	CHECK(fx(0x600000, 0) == 0x11, "XD in the PDE");
	CHECK(rd(0x600000, 0, &v) == -1, "XD PDE: data still readable");
	wr64(PT0 + 8 * 0x64, 0);
	CHECK(fx(0x64000, 0) == 0x10, "fetch, not present, NXE=1: I/D");
	CHECK(rd(0x64000, 0, &v) == 0, "read, not present: no I/D");
	/* 32-bit paging has no XD and no I/D bit */
	h.cpu.cr4 = 0;
	h.cpu.cr3 = 0x30000;
	memset(h.ram + 0x30000, 0, 0x1000);
	tlb_flush_all(&h.cpu, 0);
	CHECK(fx(0x64000, 0) == 0, "32-bit paging: fetch fault without I/D");
}

/* MOV CR3 with a reserved bit in a PDPTE: #GP(0), CR3 unchanged; then a
 * good CR3; then paging on through CR4.PAE and CR0.PG from guest code. */
SNIP32(g_cr3, " mov %eax, %cr3\n hlt\n")
SNIP32(g_enable,
       " mov %cr4, %ecx\n or $0x20, %ecx\n mov %ecx, %cr4\n"
       " mov %eax, %cr3\n"
       " mov %cr0, %ecx\n or $0x80000000, %ecx\n"
       "g_enable_pg:\n mov %ecx, %cr0\n"
       " movl $0x600dbeef, 0x400020\n"
       " mov 0x603008, %ebx\n hlt\n")
extern const unsigned char g_enable_pg[];
SNIP32(g_cr4pae, " mov %cr4, %ecx\n or $0x20, %ecx\n mov %ecx, %cr4\n hlt\n")

static void t_cr(void)
{
	setup(1, 0);
	memset(h.ram + PDPT_BAD, 0, 32);
	wr64(PDPT_BAD + 8, PD0 | P | 0x4); /* bit 2 is reserved in a PDPTE */
	h_load(&h, CODE, g_cr3_start, (size_t)(g_cr3_end - g_cr3_start));
	h.cpu.r[R_EAX] = PDPT_BAD;
	enum cpu_stop st = h_run(&h, 100);
	CHECK(h_delivered(&h, st, HANDLERS, EXC_GP, 0, CODE), "MOV CR3, bad PDPTE: #GP(0)");
	CHECK(h.cpu.cr3 == PDPT, "CR3 changed to %08x", h.cpu.cr3);
	/* a not-present PDPTE's other bits are ignored */
	setup(1, 0);
	wr64(PDPT_BAD + 8, 0xfffffffffffffffeull);
	wr64(PDPT_BAD, PD0 | P);
	h.cpu.r[R_EAX] = PDPT_BAD;
	st = h_run(&h, 100);
	CHECK(st == CPU_STOP_HALT && h.cpu.cr3 == PDPT_BAD && h.cpu.pdpte[1] == 0xfffffffffffffffeull,
	      "MOV CR3, not-present PDPTE with junk: stop %d cr3 %08x", st, h.cpu.cr3);

	/* paging on from guest code: CR4.PAE, CR3, CR0.PG */
	setup(0, 0);
	memcpy(high(HI4G + 2 * MB + 0x3008), "\x78\x56\x34\x12", 4);
	h_load(&h, CODE, g_enable_start, (size_t)(g_enable_end - g_enable_start));
	h.cpu.r[R_EAX] = PDPT;
	st = h_run(&h, 100);
	CHECK(st == CPU_STOP_HALT && h.cpu.eip == CODE + (uint32_t)(g_enable_end - g_enable_start),
	      "enable PAE: stop %d eip %x", st, h.cpu.eip);
	CHECK(!memcmp(high(HI4G + 0x20), "\xef\xbe\x0d\x60", 4), "PAE store reached 4 GiB");
	CHECK(h.cpu.r[R_EBX] == 0x12345678, "PAE load from 4 GiB + 2 MiB: %08x", h.cpu.r[R_EBX]);
	/* CR0.PG with a bad PDPTE: #GP(0), paging stays off */
	setup(0, 0);
	wr64(PDPT, PD0 | P | 0x100);
	h_load(&h, CODE, g_enable_start, (size_t)(g_enable_end - g_enable_start));
	h.cpu.r[R_EAX] = PDPT;
	st = h_run(&h, 100);
	CHECK(h_delivered(&h, st, HANDLERS, EXC_GP, 0, CODE + (uint32_t)(g_enable_pg - g_enable_start)), "MOV CR0 (PG), bad PDPTE: #GP(0)");
	CHECK(!(h.cpu.cr0 & CR0_PG), "paging went on");

	/* a P5 has no PAE: CR4.PAE is reserved */
	set_model("pentium");
	setup(0, 0);
	h_load(&h, CODE, g_cr4pae_start, (size_t)(g_cr4pae_end - g_cr4pae_start));
	st = h_run(&h, 100);
	CHECK(h_delivered(&h, st, HANDLERS, EXC_GP, 0, CODE + 6), "pentium: MOV CR4 with PAE: #GP(0)");
	set_model("pentium2");
}

/* The fetch side under the engine: a jump to an XD page faults at the
 * jump's target with I/D; code that runs off the end of an executable
 * page into an XD one runs up to the page end first; code that ran (and
 * was translated) faults once its page is made XD and INVLPG'd. */
SNIP32(g_jmp, " mov $0x63000, %eax\n jmp *%eax\n")
SNIP32(g_fall, " inc %ebx\n inc %ebx\n inc %ebx\n inc %ebx\n")
/* two INCs, then a 5-byte MOV whose last 3 bytes lie on the XD page */
SNIP32(g_straddle, " inc %ebx\n inc %ebx\n mov $0x12345678, %eax\n")
SNIP32(g_again,
       " call *%esi\n" /* the code at 0x65000 runs once */
       " btsl $31, 0x22000 + 8 * 0x65 + 4\n" /* XD in its PTE */
       " invlpg 0x65000\n"
       " call *%esi\n hlt\n")
SNIP32(g_ret, " inc %edx\n ret\n")

static void t_nx_exec(void)
{
	setup(1, 1);
	wr64(PT0 + 8 * 0x63, 0x63000 | P | W | XD);
	h.ram[0x63000] = 0xf4;
	h_load(&h, CODE, g_jmp_start, (size_t)(g_jmp_end - g_jmp_start));
	enum cpu_stop st = h_run(&h, 100);
	CHECK(h_delivered(&h, st, HANDLERS, EXC_PF, 0x11, 0x63000), "jump to XD page: #PF(P|I/D) at the target");
	CHECK(h.cpu.cr2 == 0x63000, "CR2 %08x", h.cpu.cr2);

	setup(1, 1);
	wr64(PT0 + 8 * 0x63, 0x63000 | P | W | XD);
	h_load(&h, 0x62ffc, g_fall_start, (size_t)(g_fall_end - g_fall_start));
	h.cpu.eip = 0x62ffc;
	h.cpu.r[R_EBX] = 0;
	st = h_run(&h, 100);
	CHECK(h_delivered(&h, st, HANDLERS, EXC_PF, 0x11, 0x63000), "fall into XD page: #PF at its first byte");
	CHECK(h.cpu.r[R_EBX] == 4, "instructions before the XD page ran: ebx %u", h.cpu.r[R_EBX]);

	/* an instruction that straddles into the XD page: the fault is its
	 * own (EIP at its first byte, CR2 the XD page), after the two before */
	for (int round = 0; round < 2; round++) { /* the second finds blocks cached */
		setup(1, 1);
		wr64(PT0 + 8 * 0x63, 0x63000 | P | W | XD);
		h_load(&h, 0x62ffc, g_straddle_start, (size_t)(g_straddle_end - g_straddle_start));
		h.cpu.eip = 0x62ffc;
		h.cpu.r[R_EBX] = 0;
		h.cpu.r[R_EAX] = 0;
		st = h_run(&h, 100);
		CHECK(h_delivered(&h, st, HANDLERS, EXC_PF, 0x11, 0x62ffe), "round %d: straddling MOV: #PF at the MOV",
		      round);
		CHECK(h.cpu.cr2 == 0x63000 && h.cpu.r[R_EBX] == 2 && h.cpu.r[R_EAX] == 0,
		      "round %d: CR2 %08x ebx %u eax %08x", round, h.cpu.cr2, h.cpu.r[R_EBX], h.cpu.r[R_EAX]);
	}

	setup(1, 1);
	h_load(&h, CODE, g_again_start, (size_t)(g_again_end - g_again_start));
	h_load(&h, 0x65000, g_ret_start, (size_t)(g_ret_end - g_ret_start));
	h.cpu.r[R_ESI] = 0x65000;
	h.cpu.r[R_EDX] = 0;
	st = h_run(&h, 100);
	CHECK(h_delivered(&h, st, HANDLERS, EXC_PF, 0x11, 0x65000), "code made XD after it ran: #PF");
	CHECK(h.cpu.r[R_EDX] == 1, "first call ran once: edx %u", h.cpu.r[R_EDX]);
}

static void t_msrs_cpuid(void)
{
	uint64_t v = 0;
	uint32_t r[4];
	set_model("pentium2");
	CHECK(msr_read(&h.cpu, MSR_PAT, &v) == 0 && v == 0x0007040600070406ull, "PAT reset value %016llx",
	      (unsigned long long)v);
	CHECK(msr_write(&h.cpu, MSR_PAT, 0x0001050400070106ull) == 0, "PAT write");
	CHECK(msr_read(&h.cpu, MSR_PAT, &v) == 0 && v == 0x0001050400070106ull, "PAT readback");
	CHECK(msr_write(&h.cpu, MSR_PAT, 0x0000000000000002ull) == -1, "PAT type 2 is reserved");
	CHECK(msr_write(&h.cpu, MSR_PAT, 0x0000000000000800ull) == -1, "PAT bits 3-7 of an entry are reserved");
	CHECK(msr_read(&h.cpu, MSR_EFER, &v) == -1, "pentium2 has no EFER");
	cpuid_query(&h.cpu, 1, r);
	CHECK((r[3] & (CPUID_PAE | CPUID_PAT)) == (CPUID_PAE | CPUID_PAT), "pentium2 CPUID PAE/PAT: %08x", r[3]);
	cpuid_query(&h.cpu, 0x80000001u, r);
	CHECK(!(r[3] & CPUID_EXT_XD), "pentium2 XD");
	set_model("pentium");
	cpuid_query(&h.cpu, 1, r);
	CHECK(!(r[3] & (CPUID_PAE | CPUID_PAT)), "pentium CPUID PAE/PAT: %08x", r[3]);
	CHECK(msr_read(&h.cpu, MSR_PAT, &v) == -1, "pentium has no PAT");
	for (int m = 0; m < 2; m++) {
		set_model(m ? "pentium-m" : "pentium4");
		cpuid_query(&h.cpu, 0x80000001u, r);
		CHECK(r[3] & CPUID_EXT_XD, "%s: CPUID XD", h.cpu.model->name);
		CHECK(msr_read(&h.cpu, MSR_EFER, &v) == 0 && v == 0, "%s: EFER reset", h.cpu.model->name);
		CHECK(msr_write(&h.cpu, MSR_EFER, EFER_NXE) == 0, "%s: EFER.NXE", h.cpu.model->name);
		CHECK(msr_read(&h.cpu, MSR_EFER, &v) == 0 && v == EFER_NXE, "%s: EFER readback", h.cpu.model->name);
		CHECK(msr_write(&h.cpu, MSR_EFER, 0x100) == -1, "%s: EFER.LME is reserved", h.cpu.model->name);
		CHECK(msr_write(&h.cpu, MSR_EFER, 1) == -1, "%s: EFER.SCE is reserved", h.cpu.model->name);
	}
	set_model("pentium2");
}

int main(void)
{
	h_init_split(&h, 2 * LOW, LOW);
	t_pages();
	t_faults();
	t_nx_walk();
	t_cr();
	set_model("pentium4");
	t_nx_exec();
	set_model("pentium2");
	t_msrs_cpuid();
	h_free(&h);
	if (failures) {
		printf("paging_pae: %d failures\n", failures);
		return 1;
	}
	printf("paging_pae: ok\n");
	return 0;
}
