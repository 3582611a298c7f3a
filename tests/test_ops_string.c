/* String instructions in 32-bit protected mode against a C model of the
 * SDM's element-by-element definition: random MOVS/CMPS/SCAS/LODS/STOS
 * with byte/word/dword elements, REP/REPE/REPNE, DF up and down, 16- and
 * 32-bit address sizes, segment bases and a source override, overlapping
 * MOVS (pattern replication), counts beyond one resumable chunk. Then the
 * restart rule: a fault in the middle of a REP string (segment limit,
 * page not present on a later page, for both the element loop and the
 * host-memory fast path) leaves ECX/ESI/EDI at the faulting iteration and
 * EIP at the instruction, and re-running it finishes the job. */
#include "cpu/debug.h"
#include "fault_util.h"

static int failures;
static struct harness H;

#define CODE 0x100000u
#define GDT 0x800u
#define IDT 0x1000u
#define HANDLERS 0x3000u
#define WIN 0x200000u  /* model window */
#define WIN_LEN 0x40000u

/* ---- a flat protected-mode environment with a GDT and an IDT whose
 * handlers halt, so a fault stops the run wherever delivery stands ---- */

static void put_desc(uint32_t at, uint32_t base, uint32_t limit, uint32_t type_s_dpl_p, uint32_t flags)
{
	uint32_t lo = (limit & 0xffff) | (base << 16);
	uint32_t hi = ((base >> 16) & 0xff) | (type_s_dpl_p << 8) | (limit & 0xf0000) | (flags << 20) |
		      (base & 0xff000000u);
	memcpy(H.ram + at, &lo, 4);
	memcpy(H.ram + at + 4, &hi, 4);
}

static void env_flat(void)
{
	h_flat32(&H, CODE, 0x90000);
	memset(H.ram + GDT, 0, 0x40);
	put_desc(GDT + 0x10, 0, 0xfffff, 0x9b, 0xc);
	put_desc(GDT + 0x18, 0, 0xfffff, 0x93, 0xc);
	H.cpu.gdtr.base = GDT;
	H.cpu.gdtr.limit = 0x3f;
	for (int v = 0; v < 32; v++) {
		uint32_t off = HANDLERS + (uint32_t)v * 16;
		uint32_t lo = (off & 0xffff) | (0x10u << 16);
		uint32_t hi = (off & 0xffff0000u) | 0x8e00u;
		memcpy(H.ram + IDT + v * 8, &lo, 4);
		memcpy(H.ram + IDT + v * 8 + 4, &hi, 4);
		H.ram[off] = 0xf4; /* hlt */
	}
	H.cpu.idtr.base = IDT;
	H.cpu.idtr.limit = 32 * 8 - 1;
}

/* A run that should fault with vector vec and error code err on the
 * instruction at eip, delivered to its handler (tests/fault_util.h). */
static int faulted(enum cpu_stop st, int vec, uint32_t err, uint32_t eip)
{
	return h_delivered(&H, st, HANDLERS, vec, err, eip);
}

static void set_seg(int s, uint32_t base, uint32_t limit)
{
	seg_set_cache(&H.cpu.seg[s], s == S_CS ? 0x10 : 0x18, base, limit, limit > 0xfffff ? 0xc093 : 0x4093);
}

/* ---- the model ---- */

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

struct mstate {
	uint32_t r[8];
	uint32_t eflags;
};

static uint8_t model_mem[WIN_LEN];

static uint32_t m_rd(uint32_t lin, int size)
{
	uint32_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)model_mem[lin + (uint32_t)i - WIN] << (8 * i);
	return v;
}

static void m_wr(uint32_t lin, int size, uint32_t v)
{
	for (int i = 0; i < size; i++)
		model_mem[lin + (uint32_t)i - WIN] = (uint8_t)(v >> (8 * i));
}

static uint32_t sub_flags(uint32_t fl, uint32_t a, uint32_t b, int size)
{
	uint32_t m = size_mask(size), top = 1u << (size * 8 - 1);
	a &= m;
	b &= m;
	uint32_t r = (a - b) & m;
	fl &= ~FL_ARITH;
	if (a < b)
		fl |= FL_CF;
	if (r == 0)
		fl |= FL_ZF;
	if (r & top)
		fl |= FL_SF;
	if ((a ^ b) & (a ^ r) & top)
		fl |= FL_OF;
	if ((a ^ b ^ r) & 0x10)
		fl |= FL_AF;
	if (!(__builtin_popcount(r & 0xff) & 1))
		fl |= FL_PF;
	return fl;
}

enum { MOVS, CMPS, SCAS, LODS, STOS };
static const uint8_t opc[] = {0xa4, 0xa6, 0xae, 0xac, 0xaa};
static const char *const names[] = {"movs", "cmps", "scas", "lods", "stos"};

static void model(struct mstate *m, int kind, int size, int rep, int a16, uint32_t srcbase, uint32_t esbase)
{
	uint32_t am = a16 ? 0xffff : 0xffffffffu;
	int32_t d = (m->eflags & FL_DF) ? -size : size;
#define AREG(x) (m->r[x] & am)
#define ASTEP(x) (m->r[x] = (m->r[x] & ~am) | ((m->r[x] + (uint32_t)d) & am))
	for (;;) {
		if (rep && AREG(R_ECX) == 0)
			break;
		uint32_t v, w;
		switch (kind) {
		case MOVS:
			m_wr(esbase + AREG(R_EDI), size, m_rd(srcbase + AREG(R_ESI), size));
			ASTEP(R_ESI);
			ASTEP(R_EDI);
			break;
		case CMPS:
			v = m_rd(srcbase + AREG(R_ESI), size);
			w = m_rd(esbase + AREG(R_EDI), size);
			m->eflags = sub_flags(m->eflags, v, w, size);
			ASTEP(R_ESI);
			ASTEP(R_EDI);
			break;
		case SCAS:
			w = m_rd(esbase + AREG(R_EDI), size);
			m->eflags = sub_flags(m->eflags, m->r[R_EAX], w, size);
			ASTEP(R_EDI);
			break;
		case LODS:
			v = m_rd(srcbase + AREG(R_ESI), size);
			m->r[R_EAX] = size == 4 ? v : (m->r[R_EAX] & ~size_mask(size)) | v;
			ASTEP(R_ESI);
			break;
		case STOS:
			m_wr(esbase + AREG(R_EDI), size, m->r[R_EAX]);
			ASTEP(R_EDI);
			break;
		}
		if (!rep)
			break;
		m->r[R_ECX] = (m->r[R_ECX] & ~am) | ((m->r[R_ECX] - 1) & am);
		if (AREG(R_ECX) == 0)
			break;
		if ((kind == CMPS || kind == SCAS) && ((rep == 1) != ((m->eflags & FL_ZF) != 0)))
			break;
	}
}

static void t_random(int n)
{
	int bad = 0;
	for (int t = 0; t < n && bad < 10; t++) {
		int kind = (int)(rnd() % 5);
		int size = 1 << (rnd() % 3);
		int rep = (int)(rnd() % 3); /* 0 none, 1 F3, 2 F2 */
		int df = (rnd() & 3) == 0;
		int a16 = (rnd() & 3) == 0;
		int ovr = (rnd() & 1);
		uint32_t dsbase = WIN, fsbase = WIN + 0x3000 + (rnd() & 0x7ff);
		uint32_t esbase = WIN + (uint32_t[]){0, 0x10, 0x8000, 0x10000}[rnd() % 4];
		uint32_t count = (rnd() & 7) == 0 ? 4000 + rnd() % 6000 : rnd() % 300;
		if (a16 && count > 0x3000)
			count = 0x3000;
		uint32_t span = count * (uint32_t)size + 8;
		uint32_t esi, edi;
		if (a16) {
			esi = rnd() & 0xffff;
			edi = (rnd() & 1) ? esi + (rnd() % 9) - 4 : rnd() & 0xffff;
			esi |= rnd() & 0xffff0000u;
			edi |= rnd() & 0xffff0000u;
		} else {
			esi = (df ? span : 0) + (rnd() % 0x10000);
			edi = (rnd() & 1) ? esi + (rnd() % 9) - 4 : (df ? span : 0) + (rnd() % 0x10000);
			if (edi < span && df)
				edi = span;
		}
		uint32_t srcbase = ovr ? fsbase : dsbase;

		/* memory: random, or (for REPE CMPS) mostly equal runs */
		for (uint32_t i = 0; i < WIN_LEN; i++)
			model_mem[i] = (uint8_t)(kind == CMPS || kind == SCAS ? (rnd() % 8 ? 0x11 : rnd()) : rnd());
		h_load(&H, WIN, model_mem, WIN_LEN);

		env_flat();
		set_seg(S_DS, dsbase, 0xffffffffu);
		set_seg(S_ES, esbase, 0xffffffffu);
		set_seg(S_FS, fsbase, 0xffffffffu);
		struct mstate m;
		for (int r = 0; r < 8; r++)
			m.r[r] = rnd();
		m.r[R_ESP] = 0x90000;
		m.r[R_ESI] = esi;
		m.r[R_EDI] = edi;
		m.r[R_ECX] = (rnd() & 0xffff0000u) | (count & (a16 ? 0xffff : 0xffffffffu));
		if (!a16)
			m.r[R_ECX] = count;
		if (kind == SCAS)
			m.r[R_EAX] = (rnd() & 1) ? 0x11111111u : rnd();
		m.eflags = FL_1 | (df ? FL_DF : 0) | (rnd() & FL_ARITH);
		memcpy(H.cpu.r, m.r, sizeof(m.r));
		H.cpu.eflags = m.eflags;

		uint8_t code[8];
		int len = 0;
		if (a16)
			code[len++] = 0x67;
		if (ovr)
			code[len++] = 0x64;
		if (size == 2)
			code[len++] = 0x66;
		if (rep)
			code[len++] = rep == 1 ? 0xf3 : 0xf2;
		code[len++] = (uint8_t)(opc[kind] + (size > 1));
		code[len++] = 0xf4;
		h_load(&H, CODE, code, (size_t)len);

		model(&m, kind, size, rep, a16, srcbase, esbase);
		enum cpu_stop st = h_run(&H, 1000000);
		int ok = st == CPU_STOP_HALT && memcmp(H.cpu.r, m.r, sizeof(m.r)) == 0 &&
			 (H.cpu.eflags & (FL_ARITH | FL_DF)) == (m.eflags & (FL_ARITH | FL_DF)) &&
			 memcmp(H.ram + WIN, model_mem, WIN_LEN) == 0;
		if (!ok) {
			bad++;
			fprintf(stderr,
				"case %d: %s%d rep=%d df=%d a16=%d ovr=%d count=%u esi=%08x edi=%08x esbase=%x: stop %d\n"
				"  got esi %08x edi %08x ecx %08x eax %08x fl %08x\n"
				"  want esi %08x edi %08x ecx %08x eax %08x fl %08x mem %s\n",
				t, names[kind], size, rep, df, a16, ovr, count, esi, edi, esbase, st, H.cpu.r[R_ESI],
				H.cpu.r[R_EDI], H.cpu.r[R_ECX], H.cpu.r[R_EAX], H.cpu.eflags, m.r[R_ESI], m.r[R_EDI],
				m.r[R_ECX], m.r[R_EAX], m.eflags,
				memcmp(H.ram + WIN, model_mem, WIN_LEN) ? "differs" : "same");
		}
	}
	CHECK(bad == 0, "%d random string cases differ from the model", bad);
}

/* ---- overlap: the classic pattern fill with REP MOVSB/MOVSD ---- */
static void t_overlap(void)
{
	static const uint8_t movsb[] = {0xf3, 0xa4, 0xf4}, movsd[] = {0xf3, 0xa5, 0xf4};
	env_flat();
	memset(H.ram + 0x200000, 0, 0x2000);
	memcpy(H.ram + 0x200000, "ab", 2);
	h_load(&H, CODE, movsb, sizeof(movsb));
	H.cpu.r[R_ESI] = 0x200000;
	H.cpu.r[R_EDI] = 0x200002;
	H.cpu.r[R_ECX] = 0x1000;
	enum cpu_stop st = h_run(&H, 100000);
	int bad = 0;
	for (uint32_t i = 0; i < 0x1002; i++)
		bad += H.ram[0x200000 + i] != (i & 1 ? 'b' : 'a');
	CHECK(st == CPU_STOP_HALT && bad == 0, "rep movsb pattern: %d bad bytes", bad);

	env_flat();
	memcpy(H.ram + 0x200000, "wxyzabcdefghi", 13);
	h_load(&H, CODE, movsd, sizeof(movsd));
	H.cpu.r[R_ESI] = 0x200000;
	H.cpu.r[R_EDI] = 0x200001; /* dwords one byte apart */
	H.cpu.r[R_ECX] = 3;
	st = h_run(&H, 100000);
	/* each dword is read whole, then written one byte up */
	CHECK(st == CPU_STOP_HALT && memcmp(H.ram + 0x200000, "wwxyzzbcddfgh", 13) == 0, "rep movsd overlap '%.13s'",
	      (char *)H.ram + 0x200000);
}

/* ---- faults in the middle of a REP string ---- */

#define PD 0x10000u
#define PT 0x11000u

static void paging_on(void)
{
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t pte = (i << 12) | 7;
		memcpy(H.ram + PT + i * 4, &pte, 4);
	}
	uint32_t pde = PT | 7;
	memset(H.ram + PD, 0, 4096);
	memcpy(H.ram + PD, &pde, 4);
	H.cpu.cr3 = PD;
	H.cpu.cr0 |= CR0_PG;
	tlb_flush_all(&H.cpu, 0);
}

static void pte_set(uint32_t lin, int present)
{
	uint32_t pte = (lin & ~0xfffu) | (present ? 7u : 6u);
	memcpy(H.ram + PT + (lin >> 12) * 4, &pte, 4);
	tlb_flush_all(&H.cpu, 0);
}

static void t_faults(void)
{
	/* (1) ES limit: REP MOVSB stops at the first byte past it */
	static const uint8_t movsb[] = {0xf3, 0xa4, 0xf4};
	env_flat();
	h_load(&H, CODE, movsb, sizeof(movsb));
	set_seg(S_ES, 0, 0x500ff);
	H.cpu.r[R_ESI] = 0x60000;
	H.cpu.r[R_EDI] = 0x500f0;
	H.cpu.r[R_ECX] = 0x20;
	memset(H.ram + 0x60000, 0x3c, 0x20);
	memset(H.ram + 0x500f0, 0, 0x20);
	enum cpu_stop st = h_run(&H, 100000);
	CHECK(faulted(st, EXC_GP, 0, CODE), "limit: stop %d vec %d eip %x", st, H.cpu.exc_vector, H.cpu.eip);
	CHECK(H.cpu.r[R_ECX] == 0x10 && H.cpu.r[R_EDI] == 0x50100 && H.cpu.r[R_ESI] == 0x60010,
	      "limit: ecx %x esi %x edi %x", H.cpu.r[R_ECX], H.cpu.r[R_ESI], H.cpu.r[R_EDI]);
	CHECK(H.ram[0x500ff] == 0x3c && H.ram[0x50100] == 0, "limit: copied up to the limit only");

	/* (2) #PF reading the second page: REP MOVSD, element loop */
	static const uint8_t movsd[] = {0xf3, 0xa5, 0xf4};
	env_flat();
	paging_on();
	h_load(&H, CODE, movsd, sizeof(movsd));
	for (uint32_t i = 0; i < 0x40; i++)
		H.ram[0x200ff0 + i] = (uint8_t)i;
	memset(H.ram + 0x300000, 0, 0x40);
	pte_set(0x201000, 0);
	H.cpu.r[R_ESI] = 0x200ff0;
	H.cpu.r[R_EDI] = 0x300000;
	H.cpu.r[R_ECX] = 16;
	st = h_run(&H, 100000);
	CHECK(faulted(st, EXC_PF, 0, CODE), "pf src: stop %d vec %d eip %x", st, H.cpu.exc_vector, H.cpu.eip);
	CHECK(H.cpu.cr2 == 0x201000, "pf src: cr2 %x", H.cpu.cr2);
	CHECK(H.cpu.r[R_ECX] == 12 && H.cpu.r[R_ESI] == 0x201000 && H.cpu.r[R_EDI] == 0x300010,
	      "pf src: ecx %x esi %x edi %x", H.cpu.r[R_ECX], H.cpu.r[R_ESI], H.cpu.r[R_EDI]);
	/* the handler (or nobody) ran: map the page and restart the REP */
	pte_set(0x201000, 1);
	uint32_t ecx = H.cpu.r[R_ECX], esi = H.cpu.r[R_ESI], edi = H.cpu.r[R_EDI];
	env_flat();
	paging_on();
	H.cpu.r[R_ECX] = ecx;
	H.cpu.r[R_ESI] = esi;
	H.cpu.r[R_EDI] = edi;
	st = h_run(&H, 100000);
	int bad = 0;
	for (uint32_t i = 0; i < 0x40; i++)
		bad += H.ram[0x300000 + i] != (uint8_t)i;
	CHECK(st == CPU_STOP_HALT && bad == 0 && H.cpu.r[R_ECX] == 0, "pf src restart: %d bad bytes", bad);

	/* (3) #PF writing the second page: REP STOSB through the fast path */
	static const uint8_t stosb[] = {0xf3, 0xaa, 0xf4};
	env_flat();
	paging_on();
	h_load(&H, CODE, stosb, sizeof(stosb));
	memset(H.ram + 0x202f00, 0, 0x200);
	pte_set(0x203000, 0);
	H.cpu.r[R_EAX] = 0x77;
	H.cpu.r[R_EDI] = 0x202f00;
	H.cpu.r[R_ECX] = 0x200;
	st = h_run(&H, 100000);
	CHECK(faulted(st, EXC_PF, 2, CODE), "pf dst: stop %d vec %d eip %x", st, H.cpu.exc_vector, H.cpu.eip);
	CHECK(H.cpu.cr2 == 0x203000 && H.cpu.r[R_ECX] == 0x100 && H.cpu.r[R_EDI] == 0x203000,
	      "pf dst: cr2 %x ecx %x edi %x", H.cpu.cr2, H.cpu.r[R_ECX], H.cpu.r[R_EDI]);
	CHECK(H.ram[0x202fff] == 0x77 && H.ram[0x203000] == 0, "pf dst: first page filled only");
	pte_set(0x203000, 1);
	ecx = H.cpu.r[R_ECX];
	edi = H.cpu.r[R_EDI];
	env_flat();
	paging_on();
	H.cpu.r[R_EAX] = 0x77;
	H.cpu.r[R_ECX] = ecx;
	H.cpu.r[R_EDI] = edi;
	st = h_run(&H, 100000);
	bad = 0;
	for (uint32_t i = 0; i < 0x200; i++)
		bad += H.ram[0x202f00 + i] != 0x77;
	CHECK(st == CPU_STOP_HALT && bad == 0, "pf dst restart: %d bad bytes", bad);

	/* (4) a large REP MOVSD under paging: many resumed chunks, crossing
	 * pages at an odd offset (fast path per page, element loop between) */
	env_flat();
	paging_on();
	h_load(&H, CODE, movsd, sizeof(movsd));
	for (uint32_t i = 0; i < 0x20000; i++)
		H.ram[0x240000 + i] = (uint8_t)(i * 7 + (i >> 9));
	memset(H.ram + 0x280000, 0, 0x20002);
	H.cpu.r[R_ESI] = 0x240001;
	H.cpu.r[R_EDI] = 0x280003;
	H.cpu.r[R_ECX] = 0x20000 / 4 - 1;
	uint64_t ic = H.cpu.icount;
	st = h_run(&H, 100000);
	CHECK(st == CPU_STOP_HALT && memcmp(H.ram + 0x280003, H.ram + 0x240001, 0x20000 - 4) == 0 &&
		      H.ram[0x280002] == 0 && H.ram[0x280003 + 0x20000 - 4] == 0,
	      "big movsd under paging");
	CHECK(H.cpu.icount - ic >= 8, "a 32K-element REP should resume in chunks (%llu)",
	      (unsigned long long)(H.cpu.icount - ic));
}

/* ---- single-step: a REP string traps after each iteration ---- */
static void t_single_step(void)
{
	static const uint8_t movsb[] = {0xf3, 0xa4, 0xf4};
	env_flat();
	h_load(&H, CODE, movsb, sizeof(movsb));
	H.cpu.r[R_ESI] = 0x60000;
	H.cpu.r[R_EDI] = 0x61000;
	H.cpu.r[R_ECX] = 3;
	cpu_set_eflags(&H.cpu, FL_TF, FL_TF);
	enum cpu_stop st = h_run(&H, 1000);
	if (st == CPU_STOP_HALT && H.cpu.eip == HANDLERS + EXC_DB * 16 + 1) {
		uint32_t pushed;
		memcpy(&pushed, H.ram + H.cpu.r[R_ESP], 4);
		CHECK(pushed == CODE && H.cpu.r[R_ECX] == 2 && H.cpu.r[R_ESI] == 0x60001,
		      "single-step REP MOVSB: #DB at %x with ecx %u (want the REP, 2 left)", pushed, H.cpu.r[R_ECX]);
	} else {
		CHECK(0, "single-step REP MOVSB: no #DB (stop %d eip %x ecx %u)", st, H.cpu.eip, H.cpu.r[R_ECX]);
	}
}

/* ---- a data breakpoint inside a REP string: #DB after that iteration,
 * EIP still at the instruction, the rest done after the handler ---- */
static void t_data_breakpoint(void)
{
	static const uint8_t movsb[] = {0xf3, 0xa4, 0xf4};
	env_flat();
	h_load(&H, CODE, movsb, sizeof(movsb));
	memset(H.ram + 0x62000, 0, 16);
	H.cpu.r[R_ESI] = 0x60000;
	H.cpu.r[R_EDI] = 0x62000;
	H.cpu.r[R_ECX] = 8;
	H.cpu.dr[0] = 0x62002;
	H.cpu.dr[7] = 0x00010001; /* L0, write, one byte */
	debug_update(&H.cpu);
	enum cpu_stop st = h_run(&H, 1000);
	if (st == CPU_STOP_HALT && H.cpu.eip == HANDLERS + EXC_DB * 16 + 1) {
		uint32_t pushed;
		memcpy(&pushed, H.ram + H.cpu.r[R_ESP], 4);
		CHECK(pushed == CODE && H.cpu.r[R_ECX] == 5 && H.cpu.r[R_EDI] == 0x62003 && (H.cpu.dr[6] & 1),
		      "data breakpoint in REP MOVSB: #DB at %x, ecx %u edi %x dr6 %x (want the REP, 5 left)", pushed,
		      H.cpu.r[R_ECX], H.cpu.r[R_EDI], H.cpu.dr[6]);
	} else {
		CHECK(0, "data breakpoint in REP MOVSB: no #DB (stop %d eip %x ecx %u)", st, H.cpu.eip,
		      H.cpu.r[R_ECX]);
	}
	H.cpu.dr[7] = 0;
	debug_update(&H.cpu);
}

/* ---- a REP STOSB that overwrites its own bytes: the processor runs the
 * instruction it fetched to the end (ECX = 0), then fetches what follows
 * afresh; only a delivered event (interrupt, exception) makes it fetch
 * the REP itself again ---- */
static void t_self_overwrite(void)
{
	/* rep stosb; 6 x nop; hlt at CODE + 8. EDI starts 4092 bytes below
	 * the REP, so iterations 4092..4099 overwrite the REP and the NOPs
	 * with NOPs (more than one resumable chunk, 4096 iterations). */
	static const uint8_t code[] = {0xf3, 0xaa, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xf4};
	env_flat();
	h_load(&H, CODE, code, sizeof(code));
	H.cpu.r[R_EAX] = 0x90;
	H.cpu.r[R_EDI] = CODE - 4092;
	H.cpu.r[R_ECX] = 4100;
	enum cpu_stop st = h_run(&H, 100000);
	CHECK(st == CPU_STOP_HALT && H.cpu.r[R_ECX] == 0 && H.cpu.r[R_EDI] == CODE + 8 && H.cpu.eip == CODE + 9,
	      "REP STOSB over itself: stop %d ecx %u edi %x eip %x (want ecx 0, edi %x, hlt at %x)", st,
	      H.cpu.r[R_ECX], H.cpu.r[R_EDI], H.cpu.eip, CODE + 8, CODE + 8);
}

/* ---- an interrupt still ends a long REP at an iteration boundary, EIP
 * at the instruction (SDM Vol. 2, REP) ---- */
static void t_rep_interrupt(void)
{
	static const uint8_t code[] = {0xf3, 0xaa, 0xf4};
	env_flat();
	h_load(&H, CODE, code, sizeof(code));
	/* vector 0x20: interrupt gate to a handler that halts */
	uint32_t off = HANDLERS + 0x200;
	uint32_t lo = (off & 0xffff) | (0x10u << 16), hi = (off & 0xffff0000u) | 0x8e00u;
	memcpy(H.ram + IDT + 0x20 * 8, &lo, 4);
	memcpy(H.ram + IDT + 0x20 * 8 + 4, &hi, 4);
	H.ram[off] = 0xf4;
	H.cpu.idtr.limit = 0x21 * 8 - 1;
	H.cpu.r[R_EDI] = 0x200000;
	H.cpu.r[R_ECX] = 0x100000;
	cpu_set_eflags(&H.cpu, FL_IF, FL_IF);
	/* One instruction's worth of run: the REP does part of its work. */
	h_run(&H, 1);
	uint32_t left = H.cpu.r[R_ECX];
	CHECK(H.cpu.eip == CODE && left > 0 && left < 0x100000, "long REP STOSB: eip %x ecx %x after one run",
	      H.cpu.eip, left);
	H.cpu.intr_line = 1;
	H.pending_vector = 0x20;
	enum cpu_stop st = h_run(&H, 100000);
	uint32_t pushed = 0;
	memcpy(&pushed, H.ram + H.cpu.r[R_ESP], 4);
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == off + 1 && pushed == CODE && H.cpu.r[R_ECX] == left,
	      "interrupt during REP STOSB: stop %d eip %x return %x ecx %x (want the handler, the REP, part done)", st,
	      H.cpu.eip, pushed, H.cpu.r[R_ECX]);
	H.cpu.intr_line = 0;
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_overlap();
	t_faults();
	t_single_step();
	t_data_breakpoint();
	t_self_overwrite();
	t_rep_interrupt();
	t_random(getenv("RINGVM_LONG") ? 20000 : 1500);
	h_free(&H);
	if (failures) {
		printf("ops string: %d failures\n", failures);
		return 1;
	}
	printf("ops string: ok\n");
	return 0;
}
