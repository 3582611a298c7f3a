/* System instructions, one at a time, against the SDM: MOV CRn/DRn,
 * LMSW/SMSW/CLTS, LGDT/LIDT/SGDT/SIDT, INVD/WBINVD/INVLPG/HLT privilege,
 * RDMSR/WRMSR (each MSR and its reserved bits), RDTSC/RDPMC, CPUID (the
 * exact table) and SYSENTER/SYSEXIT.
 *
 * Each instruction is put at the code address and executed by its handler
 * with a local landing pad for faults (xstep), so protected-mode faults
 * are observed without exception delivery.
 */
#include <setjmp.h>

#include "harness.h"
#include "cpu/block.h"
#include "cpu/debug.h"
#include "cpu/msr.h"

static struct harness h;
static int failures;
static uint32_t code_eip;

#define NONE (-1)

/* Execute the instruction at CS:EIP; returns NONE or the vector raised. */
static int xstep(void)
{
	struct cpu *cpu = &h.cpu;
	jmp_buf jb;
	jmp_buf *saved = cpu->fault_jmp;
	cpu->fault_jmp = &jb;
	if (setjmp(jb)) {
		cpu->fault_jmp = saved;
		return cpu->exc_vector;
	}
	struct insn in;
	block_decode_one(cpu, &in);
	uint32_t next = cpu->eip + in.len;
	cpu->next_eip = cpu->code32 ? next : (next & 0xffff);
	in.fn(cpu, &in);
	cpu->eip = cpu->next_eip;
	cpu->fault_jmp = saved;
	return NONE;
}

static int xbytes(const uint8_t *b, size_t n)
{
	h.cpu.eip = code_eip;
	h_load(&h, h.cpu.seg[S_CS].base + code_eip, b, n);
	return xstep();
}
#define X(...) xbytes((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))
#define D32(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)

/* ModRM for "reg, EAX" register forms of MOV CR/DR */
#define RM(n) (uint8_t)(0xc0 | ((n) << 3))
#define MOV_TO_CR(n) X(0x0f, 0x22, RM(n))
#define MOV_FROM_CR(n) X(0x0f, 0x20, RM(n))
#define MOV_TO_DR(n) X(0x0f, 0x23, RM(n))
#define MOV_FROM_DR(n) X(0x0f, 0x21, RM(n))

static void ring0(void)
{
	h_flat32(&h, 0x10000, 0x90000);
	code_eip = 0x10000;
}

static void ring3(void)
{
	ring0();
	seg_set_cache(&h.cpu.seg[S_CS], 0x1b, 0, 0xffffffffu, 0xc0fb);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_set_cache(&h.cpu.seg[s], 0x23, 0, 0xffffffffu, 0xc0f3);
	cpu_update_mode(&h.cpu);
}

static void real(void)
{
	h_real(&h, 0x1000, 0);
	code_eip = 0;
}

static void v86(void)
{
	real();
	h.cpu.cr0 |= CR0_PE;
	cpu_set_eflags(&h.cpu, FL_VM, FL_VM);
	for (int s = 0; s < S_NSEG; s++)
		seg_load_real(&h.cpu, s, s == S_CS ? 0x1000 : 0);
	cpu_update_mode(&h.cpu);
}

static void test_cr(void)
{
	struct cpu *c = &h.cpu;
	ring0();
	/* PG without PE, NW without CD: #GP(0), CR0 unchanged. */
	c->r[R_EAX] = CR0_PG | CR0_ET;
	uint32_t before = c->cr0;
	CHECK(MOV_TO_CR(0) == EXC_GP && c->exc_error == 0, "PG without PE");
	c->r[R_EAX] = CR0_PE | CR0_NW;
	CHECK(MOV_TO_CR(0) == EXC_GP, "NW without CD");
	CHECK(c->cr0 == before, "CR0 changed by a faulting MOV");
	/* Reserved CR0 bits are ignored; ET reads as 1. */
	c->r[R_EAX] = CR0_PE | CR0_NE | 0x40u | 0x100000u;
	CHECK(MOV_TO_CR(0) == NONE, "MOV CR0");
	c->r[R_EAX] = 0;
	CHECK(MOV_FROM_CR(0) == NONE && c->r[R_EAX] == (CR0_PE | CR0_NE | CR0_ET), "CR0 %08x", c->r[R_EAX]);
	/* CR2 and CR3 read back. */
	c->r[R_EAX] = 0x12345678;
	CHECK(MOV_TO_CR(2) == NONE && c->cr2 == 0x12345678, "CR2");
	c->r[R_EAX] = 0x00abc018;
	CHECK(MOV_TO_CR(3) == NONE, "MOV CR3");
	c->r[R_EAX] = 0;
	CHECK(MOV_FROM_CR(3) == NONE && c->r[R_EAX] == 0x00abc018, "CR3 %08x", c->r[R_EAX]);
	/* CR4: implemented bits, and #GP for the rest. */
	uint32_t ok = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE;
	c->r[R_EAX] = ok;
	CHECK(MOV_TO_CR(4) == NONE && c->cr4 == ok, "CR4 %08x", c->cr4);
	static const uint32_t bad[] = {CR4_MCE, CR4_OSXMMEXCPT, 0x800, 0x80000000u,
				       CPU_HAS_X87 ? 0x800 : CR4_OSFXSR};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c->r[R_EAX] = ok | bad[i];
		CHECK(MOV_TO_CR(4) == EXC_GP && c->cr4 == ok, "CR4 bit %08x accepted", bad[i]);
	}
	/* CR1, CR5-CR7 do not exist. */
	CHECK(X(0x0f, 0x20, 0xc8) == EXC_UD, "MOV EAX, CR1");
	CHECK(X(0x0f, 0x22, 0xe8) == EXC_UD, "MOV CR5, EAX");
	/* Turning paging on through MOV CR0 flushes the TLB. */
	memset(h.ram + 0x20000, 0, 0x1000);
	c->cr3 = 0x20000; /* empty directory: every access faults */
	(void)mem_read(c, S_DS, 0x5000, 4); /* caches a paging-off entry */
	c->r[R_EAX] = CR0_PE | CR0_PG;
	CHECK(MOV_TO_CR(0) == NONE, "MOV CR0 with PG");
	CHECK(c->cr0 & CR0_PG, "PG not set");
	CHECK(c->tlb.e[0][5].tag_r == TLB_INVALID, "TLB kept a paging-off entry after PG was set");

	/* CR0.WP set by MOV CR0 takes effect at once: a supervisor write to a
	 * read-only page that the TLB had cached as writable now faults. */
	ring0();
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t pte = (i << 12) | (i == 5 ? 0x65u : 0x67u); /* page 5 read-only, A and D set */
		memcpy(h.ram + 0x21000 + 4 * i, &pte, 4);
	}
	uint32_t pde = 0x21000 | 0x27;
	memcpy(h.ram + 0x20000, &pde, 4);
	c->cr3 = 0x20000;
	c->r[R_EAX] = CR0_PE | CR0_PG;
	CHECK(MOV_TO_CR(0) == NONE, "paging on");
	c->r[R_EAX] = 0x1234;
	CHECK(X(0xa3, D32(0x5000)) == NONE, "WP=0: supervisor write to a read-only page");
	CHECK(c->tlb.e[0][5].tag_w == 0x5000, "no writable TLB entry to test with");
	c->r[R_EAX] = CR0_PE | CR0_PG | CR0_WP;
	CHECK(MOV_TO_CR(0) == NONE, "WP on");
	CHECK(X(0xa3, D32(0x5000)) == EXC_PF && c->exc_error == 3 && c->cr2 == 0x5000,
	      "WP=1 write: vector %d error %d CR2 %08x", c->exc_vector, c->exc_error, c->cr2);
	/* CR4.PGE off drops global entries; CR3 reload keeps them. */
	c->r[R_EAX] = CR4_PGE;
	CHECK(MOV_TO_CR(4) == NONE, "PGE on");
	uint32_t gpte = 0x6000 | 0x167;
	memcpy(h.ram + 0x21000 + 4 * 6, &gpte, 4);
	(void)X(0xa1, D32(0x6000)); /* mov 0x6000, %eax: caches a global entry */
	CHECK(c->tlb.e[0][6].tag_r == 0x6000, "global entry not cached");
	(void)X(0xa1, D32(0x5000));
	CHECK(c->tlb.e[0][5].tag_r == 0x5000, "entry not cached");
	c->r[R_EAX] = 0x20000;
	CHECK(MOV_TO_CR(3) == NONE && c->tlb.e[0][6].tag_r == 0x6000, "MOV CR3 dropped a global entry");
	CHECK(c->tlb.e[0][5].tag_r == TLB_INVALID, "MOV CR3 kept a non-global entry");
	c->r[R_EAX] = 0;
	CHECK(MOV_TO_CR(4) == NONE && c->tlb.e[0][6].tag_r == TLB_INVALID, "PGE off kept a global entry");

	/* Privilege: CPL 3 and virtual-8086 mode. */
	ring3();
	CHECK(MOV_FROM_CR(0) == EXC_GP, "CPL 3 MOV from CR0");
	CHECK(MOV_TO_CR(3) == EXC_GP, "CPL 3 MOV to CR3");
	v86();
	CHECK(MOV_FROM_CR(0) == EXC_GP, "V86 MOV from CR0");
	/* Real mode is CPL 0; CR0 is as after RESET: CD, NW, ET (SDM Vol. 3,
	 * Table 9-1, 60000010H), a value the test knows, not ringvm's state. */
	real();
	CHECK(MOV_FROM_CR(0) == NONE && c->r[R_EAX] == 0x60000010u && c->cr0 == 0x60000010u,
	      "real-mode MOV from CR0: eax %08x cr0 %08x", c->r[R_EAX], c->cr0);
}

static void test_msw(void)
{
	struct cpu *c = &h.cpu;
	ring0();
	c->cr0 |= CR0_TS;
	c->r[R_EAX] = 0x0e; /* MP EM TS, PE clear: cannot clear PE */
	CHECK(X(0x0f, 0x01, 0xf0) == NONE, "LMSW");
	CHECK((c->cr0 & 0xf) == 0xf, "LMSW cr0 %08x", c->cr0);
	c->r[R_EAX] = 0xfff0; /* only the low four bits count */
	CHECK(X(0x0f, 0x01, 0xf0) == NONE && (c->cr0 & 0xffff) == (CR0_PE | CR0_ET), "LMSW high bits: %08x", c->cr0);
	c->cr0 |= CR0_TS;
	CHECK(X(0x0f, 0x06) == NONE && !(c->cr0 & CR0_TS), "CLTS");
	/* LMSW sets PE in real mode. */
	real();
	c->r[R_EAX] = 1;
	CHECK(X(0x0f, 0x01, 0xf0) == NONE && (c->cr0 & CR0_PE), "LMSW PE from real mode");
	/* SMSW at CPL 3: register gets all of CR0, memory 16 bits. CR0 is
	 * PE ET (h_flat32) plus WP TS: 00010019H, known here, and SMSW must
	 * leave it so. */
	ring3();
	c->cr0 |= CR0_WP | CR0_TS;
	CHECK(X(0x0f, 0x01, 0xe0) == NONE && c->r[R_EAX] == 0x00010019u && c->cr0 == 0x00010019u,
	      "SMSW r32 %08x, cr0 %08x", c->r[R_EAX], c->cr0);
	memset(h.ram + 0x5000, 0xee, 8);
	CHECK(X(0x0f, 0x01, 0x25, D32(0x5000)) == NONE, "SMSW m16");
	CHECK(h.ram[0x5000] == 0x19 && h.ram[0x5001] == 0x00 && h.ram[0x5002] == 0xee,
	      "SMSW m16 stored %02x %02x %02x", h.ram[0x5000], h.ram[0x5001], h.ram[0x5002]);
	CHECK(X(0x0f, 0x01, 0xf0) == EXC_GP, "CPL 3 LMSW");
	CHECK(X(0x0f, 0x06) == EXC_GP, "CPL 3 CLTS");
}

static void test_dtr(void)
{
	struct cpu *c = &h.cpu;
	static const uint8_t pseudo[6] = {0x34, 0x12, 0xef, 0xcd, 0xab, 0x89};
	ring0();
	h_load(&h, 0x5000, pseudo, 6);
	CHECK(X(0x0f, 0x01, 0x15, D32(0x5000)) == NONE, "LGDT");
	CHECK(c->gdtr.limit == 0x1234 && c->gdtr.base == 0x89abcdef, "GDTR %08x/%04x", c->gdtr.base, c->gdtr.limit);
	CHECK(X(0x66, 0x0f, 0x01, 0x1d, D32(0x5000)) == NONE, "LIDT o16");
	CHECK(c->idtr.limit == 0x1234 && c->idtr.base == 0x00abcdef, "IDTR o16 %08x/%04x", c->idtr.base,
	      c->idtr.limit);
	memset(h.ram + 0x6000, 0xee, 8);
	CHECK(X(0x0f, 0x01, 0x05, D32(0x6000)) == NONE, "SGDT");
	CHECK(memcmp(h.ram + 0x6000, pseudo, 6) == 0 && h.ram[0x6006] == 0xee, "SGDT bytes");
	c->idtr.base = 0x89abcdef;
	CHECK(X(0x66, 0x0f, 0x01, 0x0d, D32(0x6000)) == NONE, "SIDT o16");
	CHECK(memcmp(h.ram + 0x6000, pseudo, 5) == 0 && h.ram[0x6005] == 0, "SIDT o16: high base byte %02x",
	      h.ram[0x6005]);
	ring3();
	CHECK(X(0x0f, 0x01, 0x15, D32(0x5000)) == EXC_GP, "CPL 3 LGDT");
	CHECK(X(0x0f, 0x01, 0x1d, D32(0x5000)) == EXC_GP, "CPL 3 LIDT");
	CHECK(X(0x0f, 0x01, 0x05, D32(0x6000)) == NONE, "CPL 3 SGDT (no UMIP on a P6)");
	CHECK(X(0x0f, 0x01, 0x0d, D32(0x6000)) == NONE, "CPL 3 SIDT");
}

static void test_privileged_misc(void)
{
	ring3();
	CHECK(X(0x0f, 0x08) == EXC_GP, "CPL 3 INVD");
	CHECK(X(0x0f, 0x09) == EXC_GP, "CPL 3 WBINVD");
	CHECK(X(0x0f, 0x01, 0x3d, D32(0x5000)) == EXC_GP, "CPL 3 INVLPG");
	CHECK(X(0xf4) == EXC_GP, "CPL 3 HLT");
	CHECK(X(0x0f, 0x0b) == EXC_UD, "UD2 at CPL 3");
	ring0();
	CHECK(X(0x0f, 0x08) == NONE, "INVD");
	CHECK(X(0x0f, 0x09) == NONE, "WBINVD");
	CHECK(X(0x0f, 0x01, 0x3d, D32(0x5000)) == NONE, "INVLPG");
	CHECK(X(0x0f, 0x0b) == EXC_UD, "UD2");
	CHECK(h.cpu.eip == code_eip, "UD2 is a fault: eip %08x", h.cpu.eip);
}

static void test_dr(void)
{
	struct cpu *c = &h.cpu;
	ring0();
	CHECK(c->dr[6] == 0xffff0ff0u && c->dr[7] == 0x400, "reset DR6 %08x DR7 %08x", c->dr[6], c->dr[7]);
	for (int n = 0; n < 4; n++) {
		c->r[R_EAX] = 0x1000u * (uint32_t)(n + 1) + 3;
		CHECK(MOV_TO_DR(n) == NONE, "MOV DR%d", n);
		c->r[R_EAX] = 0;
		CHECK(MOV_FROM_DR(n) == NONE && c->r[R_EAX] == 0x1000u * (uint32_t)(n + 1) + 3, "DR%d %08x", n,
		      c->r[R_EAX]);
	}
	c->r[R_EAX] = 0;
	CHECK(MOV_TO_DR(6) == NONE && c->dr[6] == 0xffff0ff0u, "DR6 reserved bits %08x", c->dr[6]);
	c->r[R_EAX] = 0xffffffffu;
	CHECK(MOV_TO_DR(6) == NONE && c->dr[6] == 0xffffefffu, "DR6 all ones %08x", c->dr[6]);
	c->r[R_EAX] = 0xffffdfffu; /* all but GD */
	CHECK(MOV_TO_DR(7) == NONE && c->dr[7] == 0xffff07ffu, "DR7 %08x", c->dr[7]);
	CHECK(c->debug_active, "DR7 enables did not arm the debug hooks");
	c->r[R_EAX] = 0;
	CHECK(MOV_TO_DR(7) == NONE && c->dr[7] == 0x400 && !c->debug_active, "DR7 cleared %08x", c->dr[7]);
	/* DR4/DR5 alias DR6/DR7 without CR4.DE, #UD with it. */
	c->r[R_EAX] = 0;
	CHECK(MOV_FROM_DR(4) == NONE && c->r[R_EAX] == c->dr[6], "DR4 alias");
	c->r[R_EAX] = 0x3;
	CHECK(MOV_TO_DR(5) == NONE && c->dr[7] == 0x403, "DR5 alias: DR7 %08x", c->dr[7]);
	c->cr4 |= CR4_DE;
	CHECK(MOV_FROM_DR(4) == EXC_UD, "DR4 with CR4.DE");
	CHECK(MOV_TO_DR(5) == EXC_UD, "DR5 with CR4.DE");
	/* General detect: #DB fault before the access, BD set, GD cleared. */
	c->r[R_EAX] = 0x2000;
	CHECK(MOV_TO_DR(7) == NONE && (c->dr[7] & DR7_GD), "set GD");
	c->r[R_EAX] = 0x5555;
	uint32_t dr0 = c->dr[0];
	CHECK(MOV_TO_DR(0) == EXC_DB, "GD: MOV DR0 did not raise #DB");
	CHECK(c->dr[0] == dr0 && (c->dr[6] & DR6_BD) && !(c->dr[7] & DR7_GD), "GD: DR0 %08x DR6 %08x DR7 %08x",
	      c->dr[0], c->dr[6], c->dr[7]);
	CHECK(c->eip == code_eip && (c->eflags & FL_RF), "GD is a fault with RF for the pushed image");
	CHECK(MOV_FROM_DR(0) == NONE, "GD cleared: access allowed");
	/* Privilege. */
	ring3();
	CHECK(MOV_FROM_DR(7) == EXC_GP, "CPL 3 MOV from DR7");
	CHECK(MOV_TO_DR(0) == EXC_GP, "CPL 3 MOV to DR0");
	v86();
	CHECK(MOV_FROM_DR(7) == EXC_GP, "V86 MOV from DR7");
}

#define RDMSR() X(0x0f, 0x32)
#define WRMSR() X(0x0f, 0x30)

static int wrmsr(uint32_t idx, uint64_t v)
{
	h.cpu.r[R_ECX] = idx;
	h.cpu.r[R_EAX] = (uint32_t)v;
	h.cpu.r[R_EDX] = (uint32_t)(v >> 32);
	return WRMSR();
}

static int rdmsr(uint32_t idx, uint64_t *v)
{
	h.cpu.r[R_ECX] = idx;
	int e = RDMSR();
	*v = ((uint64_t)h.cpu.r[R_EDX] << 32) | h.cpu.r[R_EAX];
	return e;
}

static void test_msr(void)
{
	uint64_t v;
	ring0();
	for (uint32_t i = 0x174; i <= 0x176; i++) {
		CHECK(wrmsr(i, 0x1000 + i) == NONE, "WRMSR %x", i);
		CHECK(rdmsr(i, &v) == NONE && v == 0x1000 + i, "RDMSR %x = %llx", i, (unsigned long long)v);
	}
	CHECK(h.cpu.sysenter_cs == 0x1174 && h.cpu.sysenter_esp == 0x1175 && h.cpu.sysenter_eip == 0x1176,
	      "SYSENTER MSRs");
	/* TSC: a write of v makes it continue from v; only 32 bits on a P6. */
	CHECK(wrmsr(0x10, 0x500000000000ull + 1000000) == NONE, "WRMSR TSC");
	CHECK(rdmsr(0x10, &v) == NONE && v >= 1000000 && v < 1000000 + 2000000000ull, "TSC after write %llu",
	      (unsigned long long)v);
	CHECK(X(0x0f, 0x31) == NONE, "RDTSC");
	uint64_t t = ((uint64_t)h.cpu.r[R_EDX] << 32) | h.cpu.r[R_EAX];
	CHECK(t >= v, "RDTSC went back: %llu < %llu", (unsigned long long)t, (unsigned long long)v);
	/* MTRRs */
	CHECK(rdmsr(0xfe, &v) == NONE && v == 0x508, "MTRRcap %llx", (unsigned long long)v);
	CHECK(wrmsr(0xfe, 0) == EXC_GP, "MTRRcap is read-only");
	CHECK(wrmsr(0x200, 0x12345006) == NONE, "PhysBase0 WB");
	CHECK(rdmsr(0x200, &v) == NONE && v == 0x12345006, "PhysBase0 %llx", (unsigned long long)v);
	CHECK(wrmsr(0x201, 0xffff0800ull) == NONE, "PhysMask0");
	CHECK(wrmsr(0x20f, 0xf00000800ull) == NONE, "PhysMask7");
	CHECK(wrmsr(0x202, 0x2) == EXC_GP, "PhysBase type 2");
	CHECK(wrmsr(0x202, 0x106) == EXC_GP, "PhysBase reserved bit 8");
	CHECK(wrmsr(0x202, 0x1000000006ull) == EXC_GP, "PhysBase bit 36");
	CHECK(wrmsr(0x203, 0x400) == EXC_GP, "PhysMask reserved bit 10");
	CHECK(wrmsr(0x210, 0) == EXC_GP && rdmsr(0x210, &v) == EXC_GP, "9th variable range exists");
	static const uint32_t fixed[] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f};
	for (size_t i = 0; i < 11; i++) {
		CHECK(wrmsr(fixed[i], 0x0605040100060504ull) == NONE, "fixed MTRR %x", fixed[i]);
		CHECK(rdmsr(fixed[i], &v) == NONE && v == 0x0605040100060504ull, "fixed MTRR %x read", fixed[i]);
		CHECK(wrmsr(fixed[i], 0x0605040100060704ull) == EXC_GP, "fixed MTRR %x type 7", fixed[i]);
	}
	CHECK(wrmsr(0x251, 0) == EXC_GP, "0x251 is not an MTRR");
	CHECK(wrmsr(0x2ff, 0xc06) == NONE, "MTRRdefType");
	CHECK(rdmsr(0x2ff, &v) == NONE && v == 0xc06, "MTRRdefType %llx", (unsigned long long)v);
	CHECK(wrmsr(0x2ff, 0x1c06) == EXC_GP, "MTRRdefType bit 12");
	CHECK(wrmsr(0x2ff, 0xc03) == EXC_GP, "MTRRdefType type 3");
	/* APIC base, microcode signature, platform ID */
	CHECK(rdmsr(0x1b, &v) == NONE && v == 0xfee00900u, "APIC base %llx", (unsigned long long)v);
	CHECK(wrmsr(0x1b, 0xfee00800u) == NONE, "APIC base write");
	CHECK(wrmsr(0x1b, 0xfee00001u) == EXC_GP, "APIC base reserved bit 0");
	CHECK(wrmsr(0x8b, 0) == NONE && rdmsr(0x8b, &v) == NONE, "BIOS_SIGN_ID");
	CHECK(rdmsr(0x17, &v) == NONE, "PLATFORM_ID");
	/* Not on this processor. */
	static const uint32_t absent[] = {0x179, 0x1a0, 0xc1, 0x186, 0x12345678, 0xc0000080};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		CHECK(rdmsr(absent[i], &v) == EXC_GP, "RDMSR %x exists", absent[i]);
	/* Privilege. */
	ring3();
	CHECK(rdmsr(0x10, &v) == EXC_GP, "CPL 3 RDMSR");
	CHECK(wrmsr(0x174, 0) == EXC_GP, "CPL 3 WRMSR");
}

static void test_counters(void)
{
	struct cpu *c = &h.cpu;
	ring3();
	CHECK(X(0x0f, 0x31) == NONE, "CPL 3 RDTSC, TSD clear");
	uint64_t t1 = ((uint64_t)c->r[R_EDX] << 32) | c->r[R_EAX];
	CHECK(X(0x0f, 0x31) == NONE, "RDTSC");
	uint64_t t2 = ((uint64_t)c->r[R_EDX] << 32) | c->r[R_EAX];
	CHECK(t2 >= t1, "TSC not monotonic");
	c->cr4 |= CR4_TSD;
	CHECK(X(0x0f, 0x31) == EXC_GP, "CPL 3 RDTSC with TSD");
	c->r[R_ECX] = 0;
	CHECK(X(0x0f, 0x33) == EXC_GP, "CPL 3 RDPMC without PCE");
	c->cr4 |= CR4_PCE;
	c->r[R_EAX] = c->r[R_EDX] = 0xffffffffu;
	CHECK(X(0x0f, 0x33) == NONE && c->r[R_EAX] == 0 && c->r[R_EDX] == 0, "RDPMC with PCE");
	c->r[R_ECX] = 2;
	CHECK(X(0x0f, 0x33) == EXC_GP, "RDPMC counter 2");
	ring0();
	c->cr4 |= CR4_TSD;
	CHECK(X(0x0f, 0x31) == NONE, "CPL 0 RDTSC with TSD");
	c->r[R_ECX] = 1;
	CHECK(X(0x0f, 0x33) == NONE, "CPL 0 RDPMC");
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	h.cpu.r[R_EAX] = leaf;
	h.cpu.r[R_ECX] = 0;
	CHECK(X(0x0f, 0xa2) == NONE, "CPUID %x", leaf);
	r[0] = h.cpu.r[R_EAX];
	r[1] = h.cpu.r[R_EBX];
	r[2] = h.cpu.r[R_ECX];
	r[3] = h.cpu.r[R_EDX];
}

static void test_cpuid(void)
{
	uint32_t r[4], l2[4];
	ring3(); /* CPUID is not privileged */
	cpuid(0, r);
	char vendor[13];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	CHECK(r[0] == 2 && strcmp(vendor, "GenuineIntel") == 0, "leaf 0: max %u vendor %s", r[0], vendor);
	cpuid(1, r);
	uint32_t feat = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 11) |
			(1u << 12) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 23) | (CPU_HAS_X87 ? (1u << 0) | (1u << 24) : 0);
	CHECK(r[0] == 0x633 && r[1] == 0 && r[2] == 0 && r[3] == feat, "leaf 1: %08x %08x %08x %08x", r[0], r[1],
	      r[2], r[3]);
	/* Linux ignores SEP on family 6 model < 3 with stepping < 3. */
	CHECK(((r[0] >> 4) & 0xf) >= 3 || (r[0] & 0xf) >= 3, "SEP would be ignored");
	cpuid(2, l2);
	CHECK(l2[0] == 0x03020101 && l2[1] == 0 && l2[2] == 0 && l2[3] == 0x0c040843, "leaf 2: %08x %08x %08x %08x",
	      l2[0], l2[1], l2[2], l2[3]);
	/* Above the maximum: the highest basic leaf's data. */
	static const uint32_t above[] = {3, 4, 0x7fffffff, 0x80000001, 0x80000004, 0xffffffff};
	for (size_t i = 0; i < sizeof(above) / sizeof(above[0]); i++) {
		cpuid(above[i], r);
		CHECK(memcmp(r, l2, sizeof(r)) == 0, "leaf %x is not leaf 2", above[i]);
	}
	cpuid(0x80000000u, r);
	CHECK(r[0] == 0x80000000u, "max extended leaf %08x", r[0]);
	/* Every CR4 bit whose feature CPUID reports is writable. */
	ring0();
	cpuid(1, r);
	uint32_t cr4 = ((r[3] & (1u << 2)) ? CR4_DE : 0) | ((r[3] & (1u << 3)) ? CR4_PSE : 0) |
		       ((r[3] & (1u << 4)) ? CR4_TSD : 0) | ((r[3] & (1u << 13)) ? CR4_PGE : 0) |
		       ((r[3] & (1u << 24)) ? CR4_OSFXSR : 0) | CR4_PCE;
	h.cpu.r[R_EAX] = cr4;
	CHECK(MOV_TO_CR(4) == NONE, "CR4 %08x from CPUID features", cr4);
	/* Every MSR that CPUID promises exists. */
	uint64_t v;
	CHECK(rdmsr(0x10, &v) == NONE && rdmsr(0x174, &v) == NONE && rdmsr(0xfe, &v) == NONE &&
		      rdmsr(0x2ff, &v) == NONE,
	      "TSC/SEP/MTRR MSRs");
}

static void test_sysenter(void)
{
	struct cpu *c = &h.cpu;
	real();
	c->sysenter_cs = 0x10;
	CHECK(X(0x0f, 0x34) == EXC_GP, "SYSENTER in real mode");
	CHECK(X(0x0f, 0x35) == EXC_GP, "SYSEXIT in real mode");
	ring3();
	c->sysenter_cs = 0;
	CHECK(X(0x0f, 0x34) == EXC_GP, "SYSENTER with SYSENTER_CS 0");
	c->sysenter_cs = 3; /* selector index and TI zero */
	CHECK(X(0x0f, 0x34) == EXC_GP, "SYSENTER with SYSENTER_CS 3");
	c->sysenter_cs = 0x0062; /* RPL bits are masked off */
	c->sysenter_esp = 0x8000;
	c->sysenter_eip = 0x12345;
	cpu_set_eflags(c, FL_IF | FL_RF | FL_CF, FL_IF | FL_RF | FL_CF);
	CHECK(X(0x0f, 0x34) == NONE, "SYSENTER");
	CHECK(c->seg[S_CS].sel == 0x60 && c->seg[S_SS].sel == 0x68 && c->cpl == 0 && c->code32 && c->stack32,
	      "SYSENTER: CS %04x SS %04x CPL %d", c->seg[S_CS].sel, c->seg[S_SS].sel, c->cpl);
	CHECK(c->seg[S_CS].base == 0 && c->seg[S_CS].limit == 0xffffffffu && c->seg[S_CS].attr == 0xc09b &&
		      c->seg[S_SS].attr == 0xc093,
	      "SYSENTER flat segments: %04x %04x", c->seg[S_CS].attr, c->seg[S_SS].attr);
	CHECK(c->eip == 0x12345 && c->r[R_ESP] == 0x8000, "SYSENTER EIP %08x ESP %08x", c->eip, c->r[R_ESP]);
	CHECK((c->eflags & (FL_IF | FL_RF | FL_CF)) == FL_CF, "SYSENTER EFLAGS %08x", c->eflags);
	/* SYSEXIT back to ring 3. */
	code_eip = 0x10000;
	c->r[R_ECX] = 0x7000;
	c->r[R_EDX] = 0x400000;
	CHECK(X(0x0f, 0x35) == NONE, "SYSEXIT");
	CHECK(c->seg[S_CS].sel == 0x73 && c->seg[S_SS].sel == 0x7b && c->cpl == 3, "SYSEXIT: CS %04x SS %04x CPL %d",
	      c->seg[S_CS].sel, c->seg[S_SS].sel, c->cpl);
	CHECK(c->seg[S_CS].attr == 0xc0fb && c->seg[S_SS].attr == 0xc0f3, "SYSEXIT segments %04x %04x",
	      c->seg[S_CS].attr, c->seg[S_SS].attr);
	CHECK(c->eip == 0x400000 && c->r[R_ESP] == 0x7000, "SYSEXIT EIP %08x ESP %08x", c->eip, c->r[R_ESP]);
	code_eip = 0x10000;
	CHECK(X(0x0f, 0x35) == EXC_GP, "SYSEXIT at CPL 3");
	/* From virtual-8086 mode SYSENTER leaves VM. */
	v86();
	c->sysenter_cs = 0x10;
	c->sysenter_eip = 0x2000;
	CHECK(X(0x0f, 0x34) == NONE, "SYSENTER from V86");
	CHECK(!(c->eflags & FL_VM) && c->pmode && c->cpl == 0 && c->eip == 0x2000, "after SYSENTER from V86");
	v86();
	CHECK(X(0x0f, 0x35) == EXC_GP, "SYSEXIT in V86");
}

int main(void)
{
	h_init(&h, 4 << 20);
	test_cr();
	test_msw();
	test_dtr();
	test_privileged_misc();
	test_dr();
	test_msr();
	test_counters();
	test_cpuid();
	test_sysenter();
	h_free(&h);
	if (failures) {
		printf("system regs: %d failures\n", failures);
		return 1;
	}
	printf("system regs: ok\n");
	return 0;
}
