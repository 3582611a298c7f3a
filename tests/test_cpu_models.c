/* The CPU models (-cpu NAME, src/cpu/cpumodel.c), on the engine under
 * test: each model's CPUID leaf by leaf (vendor, signature, features,
 * cache descriptors, brand string, the leaves above the maximum), the
 * instructions a model lacks raising #UD at themselves — after the
 * instructions before them in the same block ran — and the ones it has
 * running; CR4 bits and MSRs by model; the SSE rules of CR0.EM, CR0.TS,
 * CR4.OSFXSR and CR4.OSXMMEXCPT; MXCSR's reserved bits (DAZ by model);
 * FXSAVE's XMM area and MXCSR_MASK. */
#include "cpu/cpumodel.h"
#include "harness.h"

static struct harness h;
static int failures;

#define G_CODE 0x1000
#define G_HANDLER 0x2000
#define G_DATA 0x5000
#define G_STACK 0x8000

static void setup(const char *model)
{
	const struct cpu_model *m = cpumodel_find(model);
	if (!m) {
		fprintf(stderr, "no model %s\n", model);
		exit(1);
	}
	cpu_set_model(&h.cpu, m);
	cpu_set_flat32(&h.cpu);
	uint8_t gdt[32] = {0};
	static const uint8_t code[8] = {0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0};
	static const uint8_t data[8] = {0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0};
	memcpy(gdt + 16, code, 8);
	memcpy(gdt + 24, data, 8);
	h_load(&h, 0x500, gdt, sizeof(gdt));
	for (int v = 0; v < 32; v++) {
		uint32_t hoff = G_HANDLER + (uint32_t)v * 8;
		uint8_t gate[8] = {(uint8_t)hoff, (uint8_t)(hoff >> 8), 0x10, 0, 0, 0x8e, 0, 0};
		h_load(&h, 0x600 + (uint32_t)v * 8, gate, 8);
		uint8_t stub[8] = {0xb0, (uint8_t)(0x80 | v), 0xe6, 0xf4, 0xf4};
		h_load(&h, hoff, stub, 8);
	}
	h.cpu.gdtr = (struct dtr){0x500, 31};
	h.cpu.idtr = (struct dtr){0x600, 32 * 8 - 1};
	h.cpu.cr0 |= CR0_NE | CR0_MP;
	h.cpu.cr4 = cpu_cr4_valid(&h.cpu) & (CR4_OSFXSR | CR4_OSXMMEXCPT);
}

static int run(const uint8_t *b, size_t n, int *at);

/* The model, flat protected mode, and an initialized FPU (the power-on
 * control word leaves every x87 exception unmasked). */
static void setup_fpu(const char *model)
{
	setup(model);
	run((const uint8_t[]){0xdb, 0xe3}, 2, NULL);
}

/* Run bytes at G_CODE (then "out 0xf4, 0"); returns -1 or the vector of
 * the exception taken, with *at its EIP offset from G_CODE. */
static int run(const uint8_t *b, size_t n, int *at)
{
	uint8_t code[64];
	memcpy(code, b, n);
	memcpy(code + n, (const uint8_t[]){0xb0, 0x00, 0xe6, 0xf4, 0xf4}, 5);
	h_load(&h, G_CODE, code, n + 5);
	struct cpu *c = &h.cpu;
	c->eip = G_CODE;
	c->r[R_ESP] = G_STACK;
	c->r[R_ESI] = G_DATA;
	c->eflags = FL_1;
	c->halted = 0; /* the last run may have reached its HLT */
	h.exit_value = -1;
	enum cpu_stop why = h_run(&h, 100);
	if (why != CPU_STOP_REQUEST) {
		fprintf(stderr, "stopped: why %d eip %08x exit %d\n", why, c->eip, h.exit_value);
		return 99;
	}
	if (h.exit_value == 0)
		return -1;
	int v = h.exit_value & 0x1f;
	uint32_t fr[2];
	cpu_phys_read(c, c->r[R_ESP], fr, 8);
	int err = v == EXC_GP || v == EXC_SS || v == EXC_PF;
	if (at)
		*at = (int)(fr[err] - G_CODE);
	return v;
}
#define RUN(at, ...) run((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), at)

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	h.cpu.r[R_EAX] = leaf;
	h.cpu.r[R_ECX] = 0;
	/* cpuid; mov [G_DATA], eax; mov [G_DATA+4], ebx */
	int v = RUN(NULL, 0x0f, 0xa2, 0xa3, 0x00, 0x50, 0, 0, 0x89, 0x1d, 0x04, 0x50, 0, 0);
	CHECK(v == -1, "CPUID %x: vector %d", leaf, v);
	cpu_phys_read(&h.cpu, G_DATA, r, 8);
	r[2] = h.cpu.r[R_ECX];
	r[3] = h.cpu.r[R_EDX];
}

/* What each model must report: the real part's values, with only the
 * features ringvm implements. */
struct expect {
	const char *name;
	uint32_t max, sig, ebx1, edx1, leaf2[4], max_ext;
	const char *brand;
};
#define P5F 0x0080013fu  /* FPU VME DE PSE TSC MSR CX8 MMX: bits 0-5 8 23 */
#define P6F 0x0181b97fu  /* + PAE SEP MTRR PGE CMOV PAT FXSR */
static const struct expect expects[] = {
	{"pentium", 1, 0x543, 0, P5F, {0}, 0, NULL},
	{"pentium2", 2, 0x633, 0, P6F, {0x03020101, 0, 0, 0x0c040843}, 0x80000000u, NULL},
	{"pentium3", 2, 0x673, 0, P6F | (1u << 25), {0x03020101, 0, 0, 0x0c040843}, 0x80000000u, NULL},
	{"pentium4", 2, 0xf27, 0x00010809, P6F | (1u << 25) | (1u << 26) | (1u << 19), {0x665b5001, 0, 0, 0x007b7040},
	 0x80000004u, "              Intel(R) Pentium(R) 4 CPU 2.80GHz"},
	{"pentium-m", 2, 0x6d6, 0x00000800, P6F | (1u << 25) | (1u << 26) | (1u << 19),
	 {0x02b3b001, 0xf0, 0, 0x2c04307d}, 0x80000004u, "Intel(R) Pentium(R) M processor 1.60GHz"},
};

static void test_cpuid(const struct expect *e)
{
	uint32_t r[4], top[4];
	cpuid(0, r);
	char vendor[13];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	CHECK(r[0] == e->max && !strcmp(vendor, "GenuineIntel"), "%s leaf 0: %u %s", e->name, r[0], vendor);
	cpuid(1, r);
	CHECK(r[0] == e->sig && r[1] == e->ebx1 && r[2] == 0 && r[3] == e->edx1, "%s leaf 1: %08x %08x %08x %08x",
	      e->name, r[0], r[1], r[2], r[3]);
	CHECK(h.cpu.feat == e->edx1, "%s: decoder features %08x", e->name, h.cpu.feat);
	cpuid(e->max, top);
	if (e->max >= 2)
		CHECK(!memcmp(top, e->leaf2, 16), "%s leaf 2: %08x %08x %08x %08x", e->name, top[0], top[1], top[2], top[3]);
	/* Above the maximum (basic or extended): the highest basic leaf. */
	static const uint32_t above[] = {3, 4, 0x7fffffff, 0x80000005, 0x80000008, 0xffffffff};
	for (size_t i = 0; i < sizeof(above) / sizeof(above[0]); i++) {
		cpuid(above[i], r);
		CHECK(!memcmp(r, top, 16), "%s leaf %x is not leaf %u", e->name, above[i], e->max);
	}
	cpuid(0x80000000u, r);
	if (e->max_ext)
		CHECK(r[0] == e->max_ext, "%s max extended leaf %08x", e->name, r[0]);
	else
		CHECK(!memcmp(r, top, 16), "%s: no extended leaves", e->name);
	if (e->brand) {
		char brand[49] = {0};
		for (uint32_t l = 0; l < 3; l++) {
			cpuid(0x80000002u + l, r);
			memcpy(brand + 16 * l, r, 16);
		}
		CHECK(!strcmp(brand, e->brand) && strlen(brand) == strlen(e->brand), "%s brand '%s'", e->name, brand);
		CHECK(strlen(e->brand) < 48, "brand string too long");
	}
	/* The reset value of EDX is the signature (SDM Vol. 3, 9.1.4). */
	cpu_reset(&h.cpu);
	CHECK(h.cpu.r[R_EDX] == e->sig, "%s EDX at reset %08x", e->name, h.cpu.r[R_EDX]);
}

/* "mov ebx, 7" then insn: #UD must come at insn, after the MOV ran. */
static void want_ud(const char *model, const char *what, const uint8_t *b, size_t n)
{
	uint8_t code[32] = {0xbb, 7, 0, 0, 0};
	memcpy(code + 5, b, n);
	h.cpu.r[R_EBX] = 0;
	int at = -1;
	int v = run(code, n + 5, &at);
	CHECK(v == EXC_UD && at == 5 && h.cpu.r[R_EBX] == 7, "%s: %s gave vector %d at +%d (ebx %x)", model, what, v, at,
	      h.cpu.r[R_EBX]);
}

static void want_ok(const char *model, const char *what, const uint8_t *b, size_t n)
{
	int v = run(b, n, NULL);
	CHECK(v == -1, "%s: %s gave vector %d", model, what, v);
}
#define UD(m, what, ...) want_ud(m, what, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))
#define OK(m, what, ...) want_ok(m, what, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

#define CMOV 0x0f, 0x44, 0xc8          /* cmovz ecx, eax */
#define FCOMI 0xdb, 0xf0               /* fcomi st, st(0) (after fld1) */
#define FLD1 0xd9, 0xe8
#define FXSAVE 0x0f, 0xae, 0x06        /* fxsave [esi] */
#define LONGNOP 0x0f, 0x1f, 0x00       /* nop dword [eax] */
#define PADDB_MM 0x0f, 0xfc, 0xc1      /* paddb mm0, mm1 */
#define EMMS 0x0f, 0x77
#define ADDPS 0x0f, 0x58, 0xc1         /* addps xmm0, xmm1 */
#define PAVGB_MM 0x0f, 0xe0, 0xc1
#define LDMXCSR 0x0f, 0xae, 0x16       /* ldmxcsr [esi] */
#define SFENCE 0x0f, 0xae, 0xf8
#define PREFETCH 0x0f, 0x18, 0x06      /* prefetchnta [esi] */
#define ADDPD 0x66, 0x0f, 0x58, 0xc1
#define PADDQ_MM 0x0f, 0xd4, 0xc1
#define PADDQ_XMM 0x66, 0x0f, 0xd4, 0xc1
#define LFENCE 0x0f, 0xae, 0xe8
#define CLFLUSH 0x0f, 0xae, 0x3e       /* clflush [esi] */
#define SYSENTER 0x0f, 0x34

static void test_instructions(void)
{
	setup_fpu("pentium");
	UD("pentium", "CMOVZ", CMOV);
	UD("pentium", "FCOMI", FCOMI);
	UD("pentium", "FXSAVE", FXSAVE);
	UD("pentium", "long NOP", LONGNOP);
	UD("pentium", "PREFETCHNTA (hint space)", PREFETCH);
	UD("pentium", "SYSENTER", SYSENTER);
	UD("pentium", "ADDPS", ADDPS);
	OK("pentium", "PADDB mm; EMMS", PADDB_MM, EMMS);
	OK("pentium", "FLD1 FCOM", FLD1, 0xd8, 0xd1, 0xdd, 0xd8);

	setup_fpu("pentium2");
	OK("pentium2", "CMOVZ, FCOMI, long NOP, PREFETCHNTA, FXSAVE", CMOV, FLD1, FCOMI, 0xdd, 0xd8, LONGNOP, PREFETCH,
	   FXSAVE);
	OK("pentium2", "PADDB mm; EMMS", PADDB_MM, EMMS);
	UD("pentium2", "ADDPS", ADDPS);
	UD("pentium2", "PAVGB mm (SSE)", PAVGB_MM);
	UD("pentium2", "LDMXCSR", LDMXCSR);
	UD("pentium2", "SFENCE", SFENCE);

	setup_fpu("pentium3");
	OK("pentium3", "ADDPS, PAVGB mm, SFENCE, PREFETCHNTA", ADDPS, PAVGB_MM, SFENCE, PREFETCH, EMMS);
	UD("pentium3", "ADDPD", ADDPD);
	UD("pentium3", "PADDQ mm (SSE2)", PADDQ_MM);
	UD("pentium3", "PADDQ xmm", PADDQ_XMM);
	UD("pentium3", "LFENCE", LFENCE);
	UD("pentium3", "CLFLUSH", CLFLUSH);

	static const char *const sse2[] = {"pentium4", "pentium-m"};
	for (int i = 0; i < 2; i++) {
		setup_fpu(sse2[i]);
		OK(sse2[i], "SSE2, CLFLUSH, LFENCE", ADDPD, PADDQ_MM, PADDQ_XMM, LFENCE, CLFLUSH, EMMS);
		UD(sse2[i], "HADDPS (SSE3)", 0xf2, 0x0f, 0x7c, 0xc1);
		UD(sse2[i], "PSHUFB (SSSE3)", 0x0f, 0x38, 0x00, 0xc1);
		UD(sse2[i], "FISTTP (SSE3)", 0xdf, 0x0e);
	}
}

/* CR4 bits and MSRs follow the model. */
static void test_cr4_msr(void)
{
	static const struct {
		const char *m;
		uint32_t cr4;
		int sep_mtrr;
	} t[] = {
		{"pentium", CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PCE, 0},
		{"pentium2", CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PCE | CR4_PGE | CR4_PAE | CR4_OSFXSR, 1},
		{"pentium3", CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PCE | CR4_PGE | CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT, 1},
		{"pentium4", CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PCE | CR4_PGE | CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT, 1},
	};
	/* IA32_MISC_ENABLE (0x1a0): Pentium 4 and Pentium M only (Linux
	 * reads it on family 15 and family 6 from model 13). */
	static const struct { const char *m; int has; } misc[] = {
		{"pentium", 0}, {"pentium2", 0}, {"pentium3", 0}, {"pentium4", 1}, {"pentium-m", 1}};
	for (size_t i = 0; i < sizeof(misc) / sizeof(misc[0]); i++) {
		setup(misc[i].m);
		h.cpu.r[R_ECX] = 0x1a0;
		int v = RUN(NULL, 0x0f, 0x32, 0xa3, 0x00, 0x50, 0, 0); /* rdmsr; mov [G_DATA], eax */
		uint32_t lo;
		cpu_phys_read(&h.cpu, G_DATA, &lo, 4);
		CHECK(v == (misc[i].has ? -1 : EXC_GP), "%s: RDMSR 1a0: vector %d", misc[i].m, v);
		CHECK(!misc[i].has || lo == 0x1801, "%s: MISC_ENABLE %08x", misc[i].m, lo);
	}
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup(t[i].m);
		for (int b = 0; b < 32; b++) {
			h.cpu.r[R_EAX] = 1u << b;
			h.cpu.cr4 = 0;
			int v = RUN(NULL, 0x0f, 0x22, 0xe0); /* mov cr4, eax */
			int want = (t[i].cr4 >> b) & 1 ? -1 : EXC_GP;
			CHECK(v == want, "%s: CR4 bit %d: vector %d", t[i].m, b, v);
		}
		h.cpu.cr4 = 0;
		for (uint32_t msr = 0x174; msr <= 0x2ff; msr += 0x2ff - 0x174) { /* SYSENTER_CS, MTRRdefType */
			h.cpu.r[R_ECX] = msr;
			int v = RUN(NULL, 0x0f, 0x32);
			CHECK(v == (t[i].sep_mtrr ? -1 : EXC_GP), "%s: RDMSR %x: vector %d", t[i].m, msr, v);
		}
	}
}

static void put_mxcsr(uint32_t v) { cpu_phys_write(&h.cpu, G_DATA, &v, 4); }

/* SDM Vol. 3, 13.1 and Table 2-2; Vol. 2, the exception tables. */
static void test_sse_rules(void)
{
	setup("pentium4");
	struct cpu *c = &h.cpu;
	int at;
	c->cr4 &= ~CR4_OSFXSR;
	CHECK(RUN(&at, ADDPS) == EXC_UD, "ADDPS with CR4.OSFXSR=0");
	CHECK(RUN(&at, LDMXCSR) == EXC_UD, "LDMXCSR with CR4.OSFXSR=0");
	CHECK(RUN(&at, PADDB_MM, EMMS) == -1, "MMX needs no OSFXSR");
	CHECK(RUN(&at, SFENCE, CLFLUSH, PREFETCH) == -1, "fences, CLFLUSH, PREFETCH need no OSFXSR");
	c->cr4 |= CR4_OSFXSR;
	c->cr0 |= CR0_EM;
	CHECK(RUN(&at, ADDPS) == EXC_UD, "ADDPS with CR0.EM");
	CHECK(RUN(&at, PADDB_MM) == EXC_UD, "PADDB mm with CR0.EM");
	CHECK(RUN(&at, EMMS) == EXC_UD, "EMMS with CR0.EM");
	CHECK(RUN(&at, LFENCE, CLFLUSH) == -1, "LFENCE, CLFLUSH with CR0.EM");
	c->cr0 &= ~CR0_EM;
	c->cr0 |= CR0_TS;
	CHECK(RUN(&at, 0x90, ADDPS) == EXC_NM && at == 1, "ADDPS with CR0.TS");
	CHECK(RUN(&at, PADDQ_MM) == EXC_NM, "PADDQ mm with CR0.TS");
	CHECK(RUN(&at, 0x0f, 0xae, 0x1e) == EXC_NM, "STMXCSR with CR0.TS");
	c->cr0 &= ~CR0_TS;

	/* An unmasked divide-by-zero: #XM with OSXMMEXCPT, else #UD; the
	 * destination keeps its value, MXCSR.ZE is set. */
	for (int osx = 0; osx < 2; osx++) {
		c->cr4 = (c->cr4 & ~CR4_OSXMMEXCPT) | (osx ? CR4_OSXMMEXCPT : 0);
		c->sse.mxcsr = MXCSR_MASKS & ~0x200u; /* ZE unmasked */
		c->sse.xmm[0].d[0] = 0x3f800000u;     /* 1.0 / 0.0 */
		c->sse.xmm[1].d[0] = 0;
		int v = RUN(&at, 0x90, 0xf3, 0x0f, 0x5e, 0xc1); /* nop; divss xmm0, xmm1 */
		CHECK(v == (osx ? EXC_XM : EXC_UD) && at == 1, "DIVSS by zero, OSXMMEXCPT=%d: vector %d at %d", osx, v, at);
		CHECK(c->sse.xmm[0].d[0] == 0x3f800000u && (c->sse.mxcsr & MXCSR_ZE), "DIVSS: xmm0 %08x mxcsr %08x",
		      c->sse.xmm[0].d[0], c->sse.mxcsr);
		c->sse.mxcsr = MXCSR_RESET;
		v = RUN(&at, 0xf3, 0x0f, 0x5e, 0xc1);
		CHECK(v == -1 && c->sse.xmm[0].d[0] == 0x7f800000u && (c->sse.mxcsr & MXCSR_ZE), "masked DIVSS: %08x",
		      c->sse.xmm[0].d[0]);
	}

	/* Misaligned 16-byte operands: #GP(0) for MOVAPS, not for MOVUPS. */
	c->r[R_EBX] = 0;
	CHECK(RUN(&at, 0x0f, 0x28, 0x46, 0x04) == EXC_GP, "MOVAPS xmm0, [esi+4]");
	CHECK(RUN(&at, 0x0f, 0x10, 0x46, 0x04) == -1, "MOVUPS xmm0, [esi+4]");
	CHECK(RUN(&at, 0x0f, 0x58, 0x46, 0x08) == EXC_GP, "ADDPS xmm0, [esi+8]");
	CHECK(RUN(&at, 0xf3, 0x0f, 0x58, 0x46, 0x04) == -1, "ADDSS xmm0, [esi+4]");

	/* MXCSR: DAZ is reserved on a Pentium III, not on a Pentium 4. */
	put_mxcsr(MXCSR_RESET | MXCSR_DAZ);
	CHECK(RUN(&at, LDMXCSR) == -1 && c->sse.mxcsr == (MXCSR_RESET | MXCSR_DAZ), "pentium4 LDMXCSR DAZ");
	put_mxcsr(MXCSR_RESET | 0x10000);
	CHECK(RUN(&at, LDMXCSR) == EXC_GP, "LDMXCSR bit 16");
	setup("pentium3");
	put_mxcsr(MXCSR_RESET | MXCSR_DAZ);
	CHECK(RUN(&at, LDMXCSR) == EXC_GP, "pentium3 LDMXCSR DAZ");

	/* FXSAVE: MXCSR, MXCSR_MASK and XMM0-7; FXRSTOR brings them back. */
	static const struct { const char *m; uint32_t mask; } fx[] = {{"pentium3", 0xffbf}, {"pentium4", 0xffff}};
	for (int i = 0; i < 2; i++) {
		setup(fx[i].m);
		for (int r = 0; r < 8; r++)
			for (int k = 0; k < 4; k++)
				c->sse.xmm[r].d[k] = 0x01010101u * (uint32_t)(r + 1) + (uint32_t)k;
		c->sse.mxcsr = 0x1f80 | 0x6000 | MXCSR_PE;
		CHECK(RUN(&at, FXSAVE) == -1, "%s FXSAVE", fx[i].m);
		uint8_t area[512];
		cpu_phys_read(c, G_DATA, area, sizeof(area));
		uint32_t mx, mask;
		memcpy(&mx, area + 24, 4);
		memcpy(&mask, area + 28, 4);
		CHECK(mx == c->sse.mxcsr && mask == fx[i].mask, "%s FXSAVE MXCSR %08x mask %08x", fx[i].m, mx, mask);
		CHECK(!memcmp(area + 160, c->sse.xmm, 128), "%s FXSAVE XMM area", fx[i].m);
		memset(c->sse.xmm, 0, sizeof(c->sse.xmm));
		c->sse.mxcsr = MXCSR_RESET;
		CHECK(RUN(&at, 0x0f, 0xae, 0x0e) == -1, "%s FXRSTOR", fx[i].m);
		CHECK(!memcmp(area + 160, c->sse.xmm, 128) && c->sse.mxcsr == mx, "%s FXRSTOR XMM, MXCSR", fx[i].m);
	}
}

int main(void)
{
	h_init(&h, 1 << 20);
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		setup_fpu(expects[i].name);
		test_cpuid(&expects[i]);
	}
	test_instructions();
	test_cr4_msr();
	test_sse_rules();
	h_free(&h);
	if (failures) {
		printf("cpu models: %d failures\n", failures);
		return 1;
	}
	printf("cpu models: ok\n");
	return 0;
}
