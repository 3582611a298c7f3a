/* Differential test of MMX, SSE and SSE2: every form a Pentium 4 has, run
 * on the host processor (the oracle) and in the guest (-cpu pentium4,
 * CR4.OSFXSR and OSXMMEXCPT set) on the engine under test, from the same
 * generated state.
 *
 * Each case: FXRSTOR an image (x87/MMX registers, XMM0-7, MXCSR), run the
 * instruction, FXSAVE; on the host in a small generated 64-bit function
 * (the instruction bytes mean the same there: a memory operand is ModRM
 * mod=01 rm=110, [rsi+disp8] / [esi+disp8], MASKMOVQ/MASKMOVDQU store to
 * [rdi] / [edi], both at the memory area; GPR operands are EAX..EBX), in
 * the guest as 32-bit flat protected-mode code. Compared: FCW, FSW, the
 * abridged tags, the eight x87/MMX registers, XMM0-7 and MXCSR of the
 * saved image, the 1 KiB memory area (prefilled at random, so stray or
 * missing stores show), EAX..EBX, EFLAGS' arithmetic flags, and the
 * exception taken (#XM, #UD, #GP, #MF: the vector, and that it is raised
 * at the instruction; the state compared is then the one at the fault).
 *
 * The forms are every encoding Zydis accepts in the SIMD parts of the 0F
 * map under each mandatory prefix, register and memory forms, group
 * opcodes with every ModRM.reg; those of later extensions (SSE3, SSE4A,
 * POPCNT...) the host runs but a Pentium 4 lacks: the guest must raise
 * #UD. Operands: zeros of both signs, denormals, infinities, QNaN/SNaN
 * with payloads, the indefinite, the largest and smallest normals, ties,
 * integer-conversion edges (2^31, 2^63 and neighbours), integer lane
 * boundaries; MXCSR with every rounding mode, random and all-clear
 * exception masks, sticky flags, FTZ and DAZ; misaligned memory operands;
 * pending x87 exceptions for MMX. RINGVM_LONG=1 runs 2,000,000 cases;
 * RINGVM_SSE_CASES=n, RINGVM_SSE_SEED=s, RINGVM_SSE_VERBOSE=1. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <Zydis/Zydis.h>

#include "cpu/block.h"
#include "cpu/cpumodel.h"
#include "harness.h"

/* The host oracle's code page; set while probing encodings Zydis rejects. */
static uint8_t *jit;
static volatile int probing;

/* ---- the generator ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}
static uint32_t rn(uint32_t n) { return (uint32_t)(rnd() % n); }
static int chance(int pct) { return rn(100) < (uint32_t)pct; }

static uint32_t gen32f(void)
{
	uint32_t s = chance(50) ? 0x80000000u : 0, r = (uint32_t)rnd();
	switch (rn(16)) {
	case 0: return s;                                            /* zero */
	case 1: return s | 0x7f800000u;                              /* infinity */
	case 2: return s | 0x7fc00000u | (r & 0x3fffff);             /* QNaN */
	case 3: return s | 0x7f800000u | ((r & 0x3fffff) | 1);       /* SNaN */
	case 4: return s | (r & 0x7fffff);                           /* denormal */
	case 5: return s | 0x3f800000u;                              /* 1 */
	case 6: return s | ((126u + rn(4)) << 23) | (r & 0x7fffff);  /* near 1 */
	case 7: return s | (rn(2) ? 0x7f7fffffu : 0x00800000u);      /* max, min normal */
	case 8: return 0xffc00000u;                                  /* indefinite */
	case 9: return s | ((157u + rn(3)) << 23) | (rn(2) ? 0 : r & 0x7fffff); /* ~2^31 */
	case 10: return s | ((189u + rn(3)) << 23) | (rn(2) ? 0 : r & 0x7fffff); /* ~2^63 */
	case 11: return s | ((127u + rn(24)) << 23) | (r & 0x7fffff & ~((1u << rn(23)) - 1)); /* integers, halves */
	case 12: return s | ((1u + rn(3)) << 23) | (r & 0x7fffff);   /* just above the denormals */
	case 13: return s | ((250u + rn(5)) << 23) | (r & 0x7fffff); /* near overflow */
	default: return r;
	}
}

static uint64_t gen64f(void)
{
	uint64_t s = chance(50) ? 1ull << 63 : 0, r = rnd();
	const uint64_t M = 0xfffffffffffffull;
	switch (rn(16)) {
	case 0: return s;
	case 1: return s | 0x7ff0000000000000ull;
	case 2: return s | 0x7ff8000000000000ull | (r & 0x7ffffffffffffull);
	case 3: return s | 0x7ff0000000000000ull | ((r & 0x7ffffffffffffull) | 1);
	case 4: return s | (r & M);
	case 5: return s | 0x3ff0000000000000ull;
	case 6: return s | ((uint64_t)(1022 + rn(4)) << 52) | (r & M);
	case 7: return s | (rn(2) ? 0x7fefffffffffffffull : 0x0010000000000000ull);
	case 8: return 0xfff8000000000000ull;
	case 9: return s | ((uint64_t)(1053 + rn(3)) << 52) | (rn(2) ? 0 : r & M);
	case 10: return s | ((uint64_t)(1085 + rn(3)) << 52) | (rn(2) ? 0 : r & M);
	case 11: return s | ((uint64_t)(1023 + rn(53)) << 52) | (r & M & ~((1ull << rn(52)) - 1));
	case 12: /* float range edges: CVTSD2SS overflow/underflow/denormal */
		return s | ((uint64_t)(1023 + (rn(2) ? 127 : -126) + (int)rn(30) - 15) << 52) | (r & M);
	case 13: return s | ((uint64_t)(2040 + rn(7)) << 52) | (r & M);
	default: return r;
	}
}

static uint64_t genint(int bits)
{
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1, min = 1ull << (bits - 1);
	switch (rn(8)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return mask;
	case 3: return min;
	case 4: return min - 1;
	case 5: return (rnd() >> rn(64)) & mask;
	default: return rnd() & mask;
	}
}

/* 16 bytes in one of the interpretations the instructions take. */
static void gen_vec(uint8_t *p)
{
	switch (rn(6)) {
	case 0: case 1:
		for (int i = 0; i < 4; i++) { uint32_t v = gen32f(); memcpy(p + 4 * i, &v, 4); }
		break;
	case 2: case 3:
		for (int i = 0; i < 2; i++) { uint64_t v = gen64f(); memcpy(p + 8 * i, &v, 8); }
		break;
	case 4: {
		int bits = 8 << rn(4);
		for (int i = 0; i < 16; i += bits / 8) { uint64_t v = genint(bits); memcpy(p + i, &v, (size_t)bits / 8); }
		break;
	}
	default:
		for (int i = 0; i < 16; i += 8) { uint64_t v = rnd(); memcpy(p + i, &v, 8); }
		break;
	}
}

static uint32_t gen_mxcsr(void)
{
	uint32_t m = (uint32_t)rn(4) << 13; /* rounding */
	switch (rn(4)) {
	case 0: case 1: m |= MXCSR_MASKS; break;  /* all masked */
	case 2: m |= (uint32_t)rn(64) << 7; break; /* some unmasked */
	default: break;                            /* all unmasked */
	}
	if (chance(30))
		m |= (uint32_t)rn(64); /* sticky flags */
	if (chance(25))
		m |= MXCSR_FTZ;
	if (chance(25))
		m |= MXCSR_DAZ;
	return m;
}

#define IMG 512
#define MEMSZ 1024

struct run {
	_Alignas(16) uint8_t img[IMG];
	_Alignas(16) uint8_t mem[MEMSZ];
	uint32_t r[4], eflags;
	int vec;       /* exception taken, -1 none */
	int at_insn;   /* ... and it was raised at the instruction */
};

static void gen_state(struct run *s, int pending_x87)
{
	memset(s->img, 0, IMG);
	uint16_t fcw = 0x037f, fsw = (uint16_t)(rn(8) << 11);
	if (pending_x87) { /* an unmasked x87 exception pending: MMX takes #MF */
		fcw = (uint16_t)(0x0340 | rn(64));
		fsw |= (uint16_t)((0x3f & ~fcw) | 0x80);
		if (!(fsw & 0x3f))
			fsw &= (uint16_t)~0x80;
	}
	memcpy(s->img + 0, &fcw, 2);
	memcpy(s->img + 2, &fsw, 2);
	s->img[4] = (uint8_t)(chance(50) ? 0 : rnd());
	uint32_t mx = gen_mxcsr();
	memcpy(s->img + 24, &mx, 4);
	for (int i = 0; i < 8; i++) {
		uint8_t v[16];
		gen_vec(v);
		memcpy(s->img + 32 + 16 * i, v, 10);
	}
	for (int i = 0; i < 8; i++)
		gen_vec(s->img + 160 + 16 * i);
	if (chance(20)) /* related registers: equal or negated */
		memcpy(s->img + 160 + 16 * rn(8), s->img + 160 + 16 * rn(8), 16);
	for (int i = 0; i < MEMSZ; i += 16)
		gen_vec(s->mem + i);
	for (int i = 0; i < 4; i++)
		s->r[i] = (uint32_t)genint(32);
	s->eflags = (uint32_t)rnd() & FL_ARITH;
}

/* ---- the forms ---- */

struct form {
	uint8_t b[8], n;     /* bytes; ModRM at b[modrm_at] */
	uint8_t modrm_at;
	uint8_t mem;         /* a memory form (mod=01 rm=110 disp8) */
	uint8_t reg_gpr, rm_gpr; /* ModRM.reg / .rm name a GPR: keep to EAX..EBX */
	uint8_t imm;         /* has an imm8 (the last byte) */
	uint8_t fxarea;      /* FXSAVE/FXRSTOR: 512-byte area */
	uint8_t expect_ud;   /* not on a Pentium 4: the guest must raise #UD */
	uint8_t fam;
	uint16_t mnem;
};

enum { F_MMX, F_MMXEXT, F_SSE, F_SSE2, F_SSE2MMX, F_STATE, F_NOT_P4, F_INVALID, F_LOCKED, F_NFAM };
static const char *const fam_name[F_NFAM] = {
	"MMX", "SSE on MMX", "SSE", "SSE2", "SSE2 on MMX", "MXCSR/FXSR/cache", "not on a P4 (#UD)",
	"invalid encodings", "LOCK prefix"};

#define MAXFORMS 8192
static struct form forms[MAXFORMS];
static int nforms;

static ZydisDecoder zdec;

static int zydis_gpr(ZydisRegister r) { return r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI; }

static int is_mmxext(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_PAVGB: case ZYDIS_MNEMONIC_PAVGW: case ZYDIS_MNEMONIC_PEXTRW: case ZYDIS_MNEMONIC_PINSRW:
	case ZYDIS_MNEMONIC_PMAXSW: case ZYDIS_MNEMONIC_PMAXUB: case ZYDIS_MNEMONIC_PMINSW: case ZYDIS_MNEMONIC_PMINUB:
	case ZYDIS_MNEMONIC_PMOVMSKB: case ZYDIS_MNEMONIC_PMULHUW: case ZYDIS_MNEMONIC_PSADBW: case ZYDIS_MNEMONIC_PSHUFW:
	case ZYDIS_MNEMONIC_MASKMOVQ: case ZYDIS_MNEMONIC_MOVNTQ:
		return 1;
	default:
		return 0;
	}
}

/* Add the form [pfx] 0F op modrm [imm8] if Zydis decodes it. */
static void try_form(uint8_t pfx, uint8_t op, uint8_t modrm)
{
	uint8_t b[8];
	int n = 0;
	if (pfx)
		b[n++] = pfx;
	b[n++] = 0x0f;
	b[n++] = op;
	int at = n;
	b[n++] = modrm;
	int mem = (modrm >> 6) != 3;
	if (mem)
		b[n++] = 0; /* disp8, chosen per case */
	b[n++] = 0;     /* a possible imm8 */
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zdec, b, (ZyanUSize)n, &zi, zo))) {
		/* A candidate for the #UD sweep: kept if the host agrees. Not
		 * F3 0F AE register forms: WRFSBASE and friends in 64-bit mode. */
		if (nforms < MAXFORMS && !(op == 0xae && pfx && !mem)) {
			struct form *f = &forms[nforms++];
			memset(f, 0, sizeof(*f));
			memcpy(f->b, b, 8);
			f->n = (uint8_t)(n - 1);
			f->modrm_at = (uint8_t)at;
			f->mem = (uint8_t)mem;
			f->fam = F_INVALID;
		}
		return;
	}
	if (zi.length != n && zi.length != n - 1)
		return;
	if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return;
	struct form f;
	memset(&f, 0, sizeof(f));
	memcpy(f.b, b, 8);
	f.n = (uint8_t)zi.length;
	f.imm = zi.length == n;
	f.modrm_at = (uint8_t)at;
	f.mem = (uint8_t)mem;
	f.mnem = (uint16_t)zi.mnemonic;
	for (int i = 0; i < zi.operand_count_visible; i++) {
		if (zo[i].type != ZYDIS_OPERAND_TYPE_REGISTER || !zydis_gpr(zo[i].reg.value))
			continue;
		if (zo[i].encoding == ZYDIS_OPERAND_ENCODING_MODRM_REG)
			f.reg_gpr = 1;
		if (zo[i].encoding == ZYDIS_OPERAND_ENCODING_MODRM_RM)
			f.rm_gpr = 1;
	}
	switch (zi.meta.isa_set) {
	case ZYDIS_ISA_SET_PENTIUMMMX: f.fam = is_mmxext(zi.mnemonic) ? F_MMXEXT : F_MMX; break;
	case ZYDIS_ISA_SET_SSE: f.fam = F_SSE; break;
	case ZYDIS_ISA_SET_SSE2: f.fam = F_SSE2; break;
	case ZYDIS_ISA_SET_SSE2MMX: f.fam = F_SSE2MMX; break;
	case ZYDIS_ISA_SET_SSEMXCSR: case ZYDIS_ISA_SET_FXSAVE: case ZYDIS_ISA_SET_CLFSH:
	case ZYDIS_ISA_SET_SSE_PREFETCH:
		f.fam = F_STATE;
		break;
	case ZYDIS_ISA_SET_SSE3: case ZYDIS_ISA_SET_SSE4A: case ZYDIS_ISA_SET_SSSE3: case ZYDIS_ISA_SET_SSE4:
	case ZYDIS_ISA_SET_SSE42:
		f.fam = F_NOT_P4;
		f.expect_ud = 1;
		break;
	default:
		return; /* not SIMD (NOPs, VMX, POPCNT...): other tests' business */
	}
	f.fxarea = zi.mnemonic == ZYDIS_MNEMONIC_FXSAVE || zi.mnemonic == ZYDIS_MNEMONIC_FXRSTOR;
	if (nforms < MAXFORMS)
		forms[nforms++] = f;
	if (nforms < MAXFORMS && !f.expect_ud) { /* LOCK: #UD for every SIMD form */
		struct form l = f;
		l.b[0] = 0xf0;
		memcpy(l.b + 1, f.b, 7);
		l.n++;
		l.modrm_at++;
		l.fam = F_LOCKED;
		forms[nforms++] = l;
	}
}

static void host_run(const struct form *f, const uint8_t *insn, struct run *r);

/* Keep the encodings Zydis rejects only where the host raises #UD at
 * them too (a few are AMD's own, which a Pentium 4 lacks: not compared). */
static void probe_invalid(void)
{
	static struct run r;
	int k = 0;
	probing = 1;
	for (int i = 0; i < nforms; i++) {
		if (forms[i].fam == F_INVALID) {
			/* NOPs after it, in case the host reads it as longer */
			struct form padded = forms[i];
			memset(padded.b + padded.n, 0x90, 8u - padded.n);
			padded.n = 8;
			gen_state(&r, 0);
			host_run(&padded, padded.b, &r);
			if (r.vec != EXC_UD || !r.at_insn)
				continue;
		}
		forms[k++] = forms[i];
	}
	probing = 0;
	nforms = k;
}

static void build_forms(void)
{
	ZydisDecoderInit(&zdec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	static const uint8_t pfx[4] = {0, 0x66, 0xf3, 0xf2};
	for (int p = 0; p < 4; p++) {
		for (int op = 0x10; op < 0x100; op++) {
			int simd = (op >= 0x10 && op <= 0x18) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
				   op == 0xae || (op >= 0xc2 && op <= 0xc6) || op >= 0xd0;
			if (!simd || op == 0xff)
				continue;
			int group = op == 0x18 || op == 0x71 || op == 0x72 || op == 0x73 || op == 0xae;
			for (int reg = 0; reg < (group ? 8 : 1); reg++) {
				try_form(pfx[p], (uint8_t)op, (uint8_t)(0xc0 | reg << 3 | 1)); /* register */
				try_form(pfx[p], (uint8_t)op, (uint8_t)(0x40 | reg << 3 | 6)); /* [esi+disp8] */
			}
		}
	}
}

/* ---- the host side ---- */

static int jit_insn, jit_post;
static volatile int host_vec, host_at;
static struct sigaction prev_fpe;

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	if ((rip >= (uintptr_t)jit + (uintptr_t)jit_insn && rip < (uintptr_t)jit + (uintptr_t)jit_post) ||
	    (probing && rip >= (uintptr_t)jit && rip < (uintptr_t)jit + 4096)) {
		host_vec = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
		host_at = rip == (uintptr_t)jit + (uintptr_t)jit_insn;
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)(jit + jit_post);
		return;
	}
	/* Not the oracle: ringvm's own SSE stubs (guest side). */
	if (sig == SIGFPE && (prev_fpe.sa_flags & SA_SIGINFO)) {
		prev_fpe.sa_sigaction(sig, si, ucv);
		return;
	}
	if (getenv("RINGVM_SSE_DEBUG"))
		fprintf(stderr, "signal %d at %p (trap %d)\n", sig, (void *)rip, (int)uc->uc_mcontext.gregs[REG_TRAPNO]);
	signal(sig, SIG_DFL);
}

static void host_run(const struct form *f, const uint8_t *insn, struct run *r)
{
	static const uint8_t pre[] = {
		0x53, 0x49, 0x89, 0xd0, 0x49, 0x89, 0xf9, 0x48, 0x89, 0xf7, /* push rbx; r8=regs; r9=img; rdi=mem */
		0x41, 0x8b, 0x00, 0x41, 0x8b, 0x48, 0x04, 0x41, 0x8b, 0x50, 0x08, 0x41, 0x8b, 0x58, 0x0c,
		0x41, 0xff, 0x70, 0x10, 0x9d,                               /* push [r8+16]; popfq */
		0x41, 0x0f, 0xae, 0x09};                                    /* fxrstor [r9] */
	static const uint8_t post[] = {
		0x41, 0x0f, 0xae, 0x01,                                     /* fxsave [r9] */
		0x9c, 0x41, 0x8f, 0x40, 0x10,                               /* pushfq; pop [r8+16] */
		0x41, 0x89, 0x00, 0x41, 0x89, 0x48, 0x04, 0x41, 0x89, 0x50, 0x08, 0x41, 0x89, 0x58, 0x0c,
		0xdb, 0xe3,                                                 /* fninit */
		0x68, 0x80, 0x1f, 0x00, 0x00, 0x0f, 0xae, 0x14, 0x24, 0x58, /* ldmxcsr 0x1f80 */
		0x5b, 0xc3};
	uint8_t *p = jit;
	memcpy(p, pre, sizeof(pre));
	p += sizeof(pre);
	jit_insn = (int)(p - jit);
	memcpy(p, insn, f->n);
	p += f->n;
	jit_post = (int)(p - jit);
	memcpy(p, post, sizeof(post));
	uint64_t regs[3];
	uint32_t *r32 = (uint32_t *)regs;
	memcpy(r32, r->r, 16);
	regs[2] = 0x202 | (r->eflags & FL_ARITH);
	host_vec = -1;
	host_at = 0;
	void (*fn)(void *, void *, void *) = (void (*)(void *, void *, void *))(uintptr_t)jit;
	fn(r->img, r->mem, regs);
	memcpy(r->r, r32, 16);
	r->eflags = (uint32_t)regs[2];
	r->vec = host_vec;
	r->at_insn = host_at;
}

/* ---- the guest side ---- */

#define G_CODE 0x1000
#define G_HANDLER 0x2000
#define G_IMG 0x4000
#define G_OUT 0x4400
#define G_REGS 0x4800
#define G_MEM 0x5000

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void guest_setup(struct harness *h)
{
	uint8_t gdt[32] = {0};
	static const uint8_t code[8] = {0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0};
	static const uint8_t data[8] = {0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0};
	memcpy(gdt + 16, code, 8);
	memcpy(gdt + 24, data, 8);
	h_load(h, 0x500, gdt, sizeof(gdt));
	for (int v = 0; v < 32; v++) {
		uint32_t hoff = G_HANDLER + (uint32_t)v * 32;
		uint8_t gate[8] = {(uint8_t)hoff, (uint8_t)(hoff >> 8), 0x10, 0, 0, 0x8e, 0, 0};
		h_load(h, 0x600 + (uint32_t)v * 8, gate, 8);
		/* fxsave [G_OUT]; the pushed EIP (or error code, EIP) to
		 * G_REGS+20/24; report the vector through port 0xf4 */
		uint8_t s[32] = {0x0f, 0xae, 0x05, 0, 0, 0, 0, 0x8b, 0x04, 0x24, 0xa3, 0, 0, 0, 0,
				 0x8b, 0x44, 0x24, 0x04, 0xa3, 0, 0, 0, 0, 0xb0, (uint8_t)(0x80 | v), 0xe6, 0xf4, 0xf4};
		put32(s + 3, G_OUT);
		put32(s + 11, G_REGS + 20);
		put32(s + 20, G_REGS + 24);
		h_load(h, hoff, s, sizeof(s));
	}
}

static void guest_run(struct harness *h, const struct form *f, const uint8_t *insn, struct run *r)
{
	uint8_t code[96];
	int k = 0;
	code[k++] = 0x0f; code[k++] = 0xae; code[k++] = 0x0d; put32(code + k, G_IMG); k += 4; /* fxrstor */
	int at = k;
	memcpy(code + k, insn, f->n);
	k += f->n;
	code[k++] = 0x0f; code[k++] = 0xae; code[k++] = 0x05; put32(code + k, G_OUT); k += 4; /* fxsave */
	code[k++] = 0xa3; put32(code + k, G_REGS); k += 4;
	code[k++] = 0x89; code[k++] = 0x0d; put32(code + k, G_REGS + 4); k += 4;
	code[k++] = 0x89; code[k++] = 0x15; put32(code + k, G_REGS + 8); k += 4;
	code[k++] = 0x89; code[k++] = 0x1d; put32(code + k, G_REGS + 12); k += 4;
	code[k++] = 0x9c;
	code[k++] = 0x8f; code[k++] = 0x05; put32(code + k, G_REGS + 16); k += 4;
	code[k++] = 0xb0; code[k++] = 0x00; code[k++] = 0xe6; code[k++] = 0xf4; code[k++] = 0xf4;
	h_load(h, G_CODE, code, (size_t)k);
	h_load(h, G_IMG, r->img, IMG);
	h_load(h, G_MEM, r->mem, MEMSZ);
	struct cpu *c = &h->cpu;
	c->eip = G_CODE;
	for (int i = 0; i < 4; i++)
		c->r[i] = r->r[i];
	c->r[R_ESI] = c->r[R_EDI] = G_MEM;
	c->r[R_ESP] = 0x8000;
	c->eflags = FL_1 | (r->eflags & FL_ARITH);
	c->cr0 = (c->cr0 & ~(CR0_TS | CR0_EM)) | CR0_NE | CR0_MP;
	c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	c->gdtr = (struct dtr){0x500, 31};
	c->idtr = (struct dtr){0x600, 32 * 8 - 1};
	c->shutdown = 0;
	c->halted = 0;
	h->exit_value = -1;
	enum cpu_stop why = h_run(h, 64);
	r->vec = -1;
	r->at_insn = 0;
	if (why == CPU_STOP_REQUEST && h->exit_value >= 0x80) {
		r->vec = h->exit_value & 0x1f;
		uint32_t fr[2];
		cpu_phys_read(c, G_REGS + 20, fr, 8);
		int err = r->vec == EXC_GP || r->vec == EXC_SS || r->vec == EXC_PF || r->vec == EXC_AC;
		r->at_insn = fr[err] == G_CODE + (uint32_t)at;
	} else if (why != CPU_STOP_REQUEST || h->exit_value != 0) {
		r->vec = 99;
		fprintf(stderr, "guest stopped: why=%d exit=%#x\n", why, h->exit_value);
	}
	cpu_phys_read(c, G_OUT, r->img, IMG);
	cpu_phys_read(c, G_MEM, r->mem, MEMSZ);
	uint32_t v[5];
	cpu_phys_read(c, G_REGS, v, sizeof(v));
	if (r->vec < 0) {
		memcpy(r->r, v, 16);
		r->eflags = v[4];
	}
}

/* The parts of the FXSAVE image compared: FCW, FSW, abridged tags,
 * MXCSR, the x87/MMX registers (10 bytes each), XMM0-7. Not FOP/FIP/FDP
 * (host addresses) nor MXCSR_MASK (the host's has AMD's MM bit). */
static int img_compared(int i)
{
	if (i < 5 || (i >= 24 && i < 28) || (i >= 160 && i < 288))
		return 1;
	return i >= 32 && i < 160 && (i - 32) % 16 < 10;
}

static void dump(const char *who, const struct run *r)
{
	uint32_t mx;
	memcpy(&mx, r->img + 24, 4);
	fprintf(stderr, "  %s: vec=%d at=%d eax=%08x ecx=%08x edx=%08x ebx=%08x fl=%03x mxcsr=%08x fsw=%02x%02x tags=%02x\n",
		who, r->vec, r->at_insn, r->r[0], r->r[1], r->r[2], r->r[3], r->eflags & FL_ARITH, mx, r->img[3], r->img[2],
		r->img[4]);
	for (int i = 0; i < 8; i++) {
		const uint8_t *x = r->img + 160 + 16 * i, *m = r->img + 32 + 16 * i;
		fprintf(stderr, "    xmm%d ", i);
		for (int j = 15; j >= 0; j--)
			fprintf(stderr, "%02x", x[j]);
		fprintf(stderr, "  mm%d ", i);
		for (int j = 9; j >= 0; j--)
			fprintf(stderr, "%02x", m[j]);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "    mem ");
	for (int i = 0; i < 32; i++)
		fprintf(stderr, "%02x", r->mem[i]);
	fprintf(stderr, "\n");
}

int main(void)
{
	long ncases = getenv("RINGVM_LONG") ? 2000000 : 40000;
	if (getenv("RINGVM_SSE_CASES"))
		ncases = atol(getenv("RINGVM_SSE_CASES"));
	if (getenv("RINGVM_SSE_SEED"))
		rng_state = strtoull(getenv("RINGVM_SSE_SEED"), NULL, 0) | 1;
	int verbose = getenv("RINGVM_SSE_VERBOSE") != NULL;
	jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (jit == MAP_FAILED) {
		printf("cannot map an executable page for the host oracle\n");
		return 77;
	}
	/* ringvm's handler first, so ours can pass its signals on. */
	sse_host_install();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, &prev_fpe);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	build_forms();
	probe_invalid();
	static struct harness h;
	h_init(&h, 1 << 20);
	cpu_set_model(&h.cpu, cpumodel_find("pentium4"));
	cpu_set_flat32(&h.cpu);
	guest_setup(&h);

	long count[F_NFAM] = {0}, bad[F_NFAM] = {0}, mismatches = 0, vecs[32] = {0}, raised[6] = {0};
	long rc_inexact[4] = {0}, ftz_daz = 0;
	static struct run in, host, guest;
	static int work[MAXFORMS];
	int nwork = 0;
	for (int i = 0; i < nforms; i++)
		if (forms[i].fam < F_NOT_P4)
			work[nwork++] = i;
	long nsweep = (long)nforms * 4;
	ncases += nsweep;
	for (long c = 0; c < ncases; c++) {
		/* after the sweep, the #UD-only forms (LOCK, invalid, later
		 * extensions) come up in 1 case of 20 */
		const struct form *f = &forms[c < nsweep ? c / 4 : chance(95) ? work[rn((uint32_t)nwork)] : (long)rn((uint32_t)nforms)];
		uint8_t insn[8];
		memcpy(insn, f->b, 8);
		uint8_t *modrm = &insn[f->modrm_at];
		uint8_t op = f->b[f->modrm_at - 1];
		int group = op == 0x18 || op == 0x71 || op == 0x72 || op == 0x73 || op == 0xae;
		if (f->fam == F_INVALID) /* exactly the bytes the host rejected */
			;
		else if (!group)
			*modrm = (uint8_t)((*modrm & 0xc7) | rn(f->reg_gpr ? 4 : 8) << 3);
		if (f->fam == F_INVALID)
			;
		else if (f->mem) /* [esi+disp8]: mostly aligned; sometimes off by a scalar's size or 1..15 */
			insn[f->modrm_at + 1] = (uint8_t)(16 * rn(f->fxarea ? 1 : 7) +
							  (chance(85) ? 0 : chance(50) ? 4 * rn(4) : rn(16)));
		else
			*modrm = (uint8_t)((*modrm & 0xf8) | rn(f->rm_gpr ? 4 : 8));
		if (f->imm)
			insn[f->n - 1] = (uint8_t)(chance(50) ? rn(8) : chance(50) ? rn(32) : rnd());
		gen_state(&in, chance(5));
		if (f->fxarea) { /* a loadable FXSAVE area: MXCSR without reserved bits */
			uint32_t mx = gen_mxcsr();
			uint8_t *a = in.mem + insn[f->modrm_at + 1];
			memcpy(a, in.img, 32);
			memcpy(a + 24, &mx, 4);
		}
		host = in;
		guest = in;
		host_run(f, insn, &host);
		guest_run(&h, f, insn, &guest);
		count[f->fam]++;
		if (host.vec >= 0 && host.vec < 32)
			vecs[host.vec]++;
		if (host.vec < 0) {
			uint32_t mx0, mx1;
			memcpy(&mx0, in.img + 24, 4);
			memcpy(&mx1, host.img + 24, 4);
			uint32_t fresh = mx1 & ~mx0 & 0x3f;
			for (int b = 0; b < 6; b++)
				raised[b] += (fresh >> b) & 1;
			rc_inexact[(mx0 >> 13) & 3] += (fresh & MXCSR_PE) != 0;
			ftz_daz += (mx0 & (MXCSR_FTZ | MXCSR_DAZ)) && fresh;
		}
		int diff = 0;
		if (f->expect_ud) {
			if (guest.vec != EXC_UD || !guest.at_insn)
				diff = 6;
		} else if (host.vec != guest.vec || host.at_insn != guest.at_insn) {
			diff = 1;
		} else {
			for (int i = 0; i < 288 && !diff; i++)
				if (img_compared(i) && host.img[i] != guest.img[i])
					diff = 2;
			for (int i = 0; i < MEMSZ && !diff; i++) {
				int fx = f->fxarea && f->b[f->modrm_at] >> 3 == (0x40 >> 3) &&
					 i >= insn[f->modrm_at + 1] && i < insn[f->modrm_at + 1] + 512;
				int off = i - insn[f->modrm_at + 1];
				if (fx && (off >= 288 || (off >= 6 && off < 24) || (off >= 28 && off < 32)))
					continue; /* host pointers, MXCSR_MASK, XMM8-15 */
				if (host.mem[i] != guest.mem[i])
					diff = 3;
			}
			if (!diff && host.vec < 0 &&
			    (memcmp(host.r, guest.r, 16) || (host.eflags & FL_ARITH) != (guest.eflags & FL_ARITH)))
				diff = 4;
		}
		if (diff) {
			bad[f->fam]++;
			if (mismatches++ < 20 || verbose) {
				char text[96];
				decode_format(insn, f->n, 1, 0, text, sizeof(text));
				fprintf(stderr, "MISMATCH(%d) case %ld [%s] %s:", diff, c, fam_name[f->fam], text);
				for (int i = 0; i < f->n; i++)
					fprintf(stderr, " %02x", insn[i]);
				fprintf(stderr, "\n");
				dump("input", &in);
				dump("host ", &host);
				dump("guest", &guest);
			}
		}
	}
	for (int i = 0; i < F_NFAM; i++)
		printf("%-20s %8ld cases %6ld mismatches\n", fam_name[i], count[i], bad[i]);
	static const char *const exc[6] = {"invalid", "denormal", "zero-divide", "overflow", "underflow", "precision"};
	for (int b = 0; b < 6; b++)
		printf("raised %-11s %8ld times\n", exc[b], raised[b]);
	printf("inexact by rounding mode (nearest, down, up, zero): %ld %ld %ld %ld; with FTZ/DAZ: %ld\n",
	       rc_inexact[0], rc_inexact[1], rc_inexact[2], rc_inexact[3], ftz_daz);
	printf("host exceptions: #XM %ld, #UD %ld, #GP %ld, #MF %ld\n", vecs[EXC_XM], vecs[EXC_UD], vecs[EXC_GP],
	       vecs[EXC_MF]);
	printf("total %ld cases (%d forms, every one %d times first), %ld mismatches\n", ncases, nforms, 4, mismatches);
	h_free(&h);
	return mismatches ? 1 : 0;
}
