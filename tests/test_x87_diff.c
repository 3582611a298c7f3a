/* Differential test of the x87 FPU: every x87 instruction form, run on the
 * host processor (the oracle) and in the guest through the interpreter,
 * from the same generated FPU state, memory operand, EAX and EFLAGS.
 *
 * Each case: FRSTOR an image, run the instruction, FNSAVE the result; on
 * the host in a small generated function (the instruction bytes are the
 * same in 64-bit mode: a memory operand is ModRM mod=00 rm=110, which is
 * (%rsi) there and [esi] in the guest), in the guest as 32-bit code in flat
 * protected mode. Compared: the saved image (control, status, tags, the
 * eight registers; not the instruction/data pointers, which are host
 * addresses on the host), the memory operand, EAX, EFLAGS' arithmetic
 * flags, and whether the instruction took #MF (SIGFPE on the host).
 *
 * Operands are chosen to hit zeros of both signs, denormals and
 * pseudo-denormals, unnormals, infinities, quiet and signalling NaNs,
 * rounding ties at 24/53/64 bits under each rounding mode and precision,
 * overflow and underflow at each format's range, integer and BCD range
 * edges, empty and full stacks, and unmasked exceptions (pending ones
 * included). RINGVM_LONG=1 runs 2,000,000 cases instead of 60,000;
 * RINGVM_X87_SEED sets the seed; RINGVM_X87_VERBOSE=1 prints mismatches
 * in full. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

#include "harness.h"

/* ---- the case generator ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
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

struct f80 {
	uint64_t m;
	uint16_t se; /* sign and exponent */
};

static void put80(uint8_t *p, struct f80 v)
{
	memcpy(p, &v.m, 8);
	memcpy(p + 8, &v.se, 2);
}

static uint64_t tie_bits(uint64_t m, int keep)
{
	/* Make the bits below the top `keep` significand bits a tie (100..0),
	 * just below (011..1) or just above (100..01) it. */
	if (keep >= 64)
		return m;
	int drop = 64 - keep;
	uint64_t low = (1ull << drop) - 1, half = 1ull << (drop - 1);
	m &= ~low;
	switch (rn(3)) {
	case 0: return m | half;
	case 1: return m | (half - 1);
	default: return m | half | 1;
	}
}

static struct f80 gen80(void)
{
	struct f80 v;
	uint16_t s = chance(50) ? 0x8000 : 0;
	uint64_t J = 1ull << 63, r = rnd();
	static const int exps[] = {0x3fff, 0x3fff + 127, 0x3fff - 126, 0x3fff + 128, 0x3fff - 149,
				   0x3fff - 150, 0x3fff + 1023, 0x3fff - 1022, 0x3fff + 1024,
				   0x3fff - 1074, 0x3fff - 1075, 0x7ffe, 0x0001, 0x3fff + 15,
				   0x3fff + 31, 0x3fff + 63, 0x3fff + 16, 0x3fff + 32, 0x3fff - 1,
				   0x3fff - 127, 0x3fff + 62, 0x3fff - 1023, 0x3fff + 64};
	switch (rn(24)) {
	case 0: v.se = s; v.m = 0; break;                               /* zero */
	case 1: v.se = s | 0x7fff; v.m = J; break;                      /* infinity */
	case 2: v.se = s | 0x7fff; v.m = J | (1ull << 62) | (r >> 2 & (chance(50) ? 0 : ~0ull)); break; /* QNaN */
	case 3: v.se = s | 0x7fff; v.m = J | ((r >> 2) | 1); break;      /* SNaN */
	case 4: v.se = s; v.m = r >> 1 >> rn(63); if (!v.m) v.m = 1; break; /* denormal */
	case 5: v.se = s; v.m = J | (r >> 1); break;                    /* pseudo-denormal */
	case 6: v.se = s | (uint16_t)(1 + rn(0x7ffe)); v.m = r >> 1; break; /* unnormal */
	case 7: v.se = s | 0x7fff; v.m = r >> 1; break;                 /* pseudo-NaN/inf */
	case 8: case 9: case 10: /* near one: cancellation, ties, integers */
		v.se = s | (uint16_t)(0x3fff + rn(5) - 2);
		v.m = tie_bits(J | (r >> 1), (int[]){24, 53, 64, 63, 2}[rn(5)]);
		break;
	case 11: case 12: /* exponent at a format's edge */
		v.se = s | (uint16_t)(exps[rn(sizeof(exps) / sizeof(exps[0]))] + (int)rn(3) - 1);
		v.m = chance(50) ? tie_bits(J | (r >> 1), chance(50) ? 24 : 53) : J | (r >> 1);
		break;
	case 13: { /* small integers and halves */
		int64_t k = (int64_t)rn(64) - 32;
		long double d = (long double)k / (chance(50) ? 2 : 1);
		if (d == 0) d = 1;
		uint8_t b[16] = {0};
		memcpy(b, &d, 10);
		memcpy(&v.m, b, 8);
		memcpy(&v.se, b + 8, 2);
		break;
	}
	case 14: v.se = s | 0x3fff; v.m = J; break;                     /* +-1 */
	case 15: v.se = s | (uint16_t)(0x3fff + rn(70)); v.m = J | (chance(50) ? 0 : r >> rn(64) >> 1); break;
	case 16: v.se = s | 0x7ffe; v.m = ~0ull; break;                 /* max */
	case 17: v.se = s | 1; v.m = J | (chance(50) ? 0 : r >> 1); break; /* min normal */
	case 18: v.se = 0xffff; v.m = 0xc000000000000000ull; break;     /* indefinite */
	case 19: v.se = s | (uint16_t)(0x3fff + rn(4) - 1); v.m = 0xc90fdaa22168c234ull ^ (rnd() & 7); break; /* ~pi */
	default: v.se = s | (uint16_t)(0x3fff + (int)rn(80) - 40); v.m = J | (r >> 1); break;
	}
	return v;
}

static uint32_t gen32f(void)
{
	uint32_t s = chance(50) ? 0x80000000u : 0, r = (uint32_t)rnd();
	switch (rn(10)) {
	case 0: return s;
	case 1: return s | 0x7f800000u;
	case 2: return s | 0x7fc00000u | (r & 0x3fffff);
	case 3: return s | 0x7f800000u | ((r & 0x3fffff) | 1);
	case 4: return s | (r & 0x7fffff);
	case 5: return s | 0x3f800000u;
	case 6: return s | ((126u + rn(4)) << 23) | (r & 0x7fffff);
	case 7: return s | (rn(2) ? 0x7f7fffffu : 0x00800000u);
	default: return r;
	}
}

static uint64_t gen64f(void)
{
	uint64_t s = chance(50) ? 1ull << 63 : 0, r = rnd();
	switch (rn(10)) {
	case 0: return s;
	case 1: return s | 0x7ff0000000000000ull;
	case 2: return s | 0x7ff8000000000000ull | (r & 0x7ffffffffffffull);
	case 3: return s | 0x7ff0000000000000ull | ((r & 0x7ffffffffffffull) | 1);
	case 4: return s | (r & 0xfffffffffffffull);
	case 5: return s | 0x3ff0000000000000ull;
	case 6: return s | ((uint64_t)(1022 + rn(4)) << 52) | (r & 0xfffffffffffffull);
	case 7: return s | (rn(2) ? 0x7fefffffffffffffull : 0x0010000000000000ull);
	default: return r;
	}
}

static uint64_t genint(int bytes)
{
	int bits = bytes * 8;
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t min = 1ull << (bits - 1);
	switch (rn(8)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return mask; /* -1 */
	case 3: return min;
	case 4: return min - 1;
	case 5: return (rnd() >> rn(64)) & mask;
	default: return rnd() & mask;
	}
}

static void genbcd(uint8_t *p)
{
	for (int i = 0; i < 9; i++) {
		int lo = (int)rn(10), hi = (int)rn(10);
		if (chance(3)) lo = 10 + (int)rn(6);
		if (chance(3)) hi = 10 + (int)rn(6);
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	if (chance(30)) {
		uint32_t k = rn(9);
		memset(p + k, 0, 9 - k);
	}
	p[9] = (uint8_t)((chance(50) ? 0x80 : 0) | (chance(10) ? rn(128) : 0));
}

/* A 108-byte FNSAVE image (32-bit protected-mode layout). */
static void gen_state(uint8_t *img, int allow_pending)
{
	memset(img, 0, 108);
	uint16_t fcw = 0x0040 | 0x3f;
	fcw |= (uint16_t)(rn(4) << 8);
	fcw |= (uint16_t)(rn(4) << 10);
	if (chance(30))
		fcw = (uint16_t)((fcw & ~0x3f) | rn(64));
	if (chance(5))
		fcw = (uint16_t)rnd();
	uint16_t fsw = (uint16_t)(rn(8) << 11) | (uint16_t)(rnd() & 0x4700);
	if (chance(20)) {
		fsw |= (uint16_t)(rnd() & 0x7f);
		if (!allow_pending)
			fsw &= ~(fsw & ~fcw & 0x3f);
	}
	int pe = (int[]){0, 0, 0, 0, 0, 5, 20, 50, 90, 100}[rn(10)];
	uint16_t ftw = 0;
	for (int i = 0; i < 8; i++)
		if (chance(pe))
			ftw |= (uint16_t)(3u << (2 * i));
		else if (chance(10))
			ftw |= (uint16_t)(rn(3) << (2 * i));
	uint32_t w[7] = {0xffff0000u | fcw, 0xffff0000u | fsw, 0xffff0000u | ftw,
			 (uint32_t)rnd(), (uint32_t)rnd() & 0x07ffffffu, (uint32_t)rnd(), 0xffff0000u | (uint32_t)rn(65536)};
	memcpy(img, w, 28);
	struct f80 first = gen80();
	for (int i = 0; i < 8; i++) {
		struct f80 v = gen80();
		if (i > 0 && chance(15)) { /* related to ST(0) */
			v = first;
			if (chance(50)) v.se ^= 0x8000;
			if (chance(50)) v.m ^= 1ull << rn(12);
		}
		if (i == 0) first = v;
		put80(img + 28 + 10 * i, v);
	}
}

/* ---- instruction forms ---- */

enum fam {
	F_ARITH_REG, F_ARITH_M32FP, F_ARITH_M64FP, F_ARITH_M16I, F_ARITH_M32I, F_LOADSTORE, F_BCD, F_UNARY,
	F_TRANS, F_CONST, F_COMPARE, F_FCMOV, F_CONTROL, F_ENV, F_SWEEP, F_NFAM
};
static const char *const fam_name[F_NFAM] = {
	"arith st(i)", "arith m32fp", "arith m64fp", "arith m16int", "arith m32int", "load/store",
	"bcd", "unary/stack", "transcendental", "constants", "compare", "fcmov", "control", "env/save",
	"every encoding"};

/* Memory operand kinds. */
enum mk { M_NONE, M_F32, M_F64, M_F80, M_I16, M_I32, M_I64, M_BCD, M_CW, M_ST16, M_ST32, M_ST64,
	  M_ST80, M_STBCD, M_ENV28, M_ENV14, M_SAVE108, M_SAVE94, M_FX, M_STENV28, M_STENV14,
	  M_STSAVE108, M_STSAVE94, M_STFX, M_STW };

struct form {
	uint8_t fam;
	uint8_t mk;
	uint8_t b[4]; /* bytes; for reg forms b[n-1] is a base + 0..7 */
	uint8_t n;
	uint8_t regs; /* 8: ModRM low 3 bits random */
};

#define MAXFORMS 256
static struct form forms[MAXFORMS];
static int nforms;
static struct form *sweep_forms;
static int nsweep;

static void add(int fam, int mk, int n, uint8_t b0, uint8_t b1, uint8_t b2, int regs)
{
	struct form *f = &forms[nforms++];
	f->fam = (uint8_t)fam;
	f->mk = (uint8_t)mk;
	f->b[0] = b0;
	f->b[1] = b1;
	f->b[2] = b2;
	f->n = (uint8_t)n;
	f->regs = (uint8_t)regs;
}
#define MEM(r) (uint8_t)(((r) << 3) | 6)

static void build_forms(void)
{
	for (int r = 0; r < 8; r++) {
		add(F_ARITH_REG, M_NONE, 2, 0xd8, (uint8_t)(0xc0 + 8 * r), 0, 8);
		add(F_ARITH_REG, M_NONE, 2, 0xdc, (uint8_t)(0xc0 + 8 * r), 0, 8);
		if (r != 3) /* DE D8+i: only D9 (FCOMPP) exists */
			add(F_ARITH_REG, M_NONE, 2, 0xde, (uint8_t)(0xc0 + 8 * r), 0, 8);
		add(F_ARITH_M32FP, M_F32, 2, 0xd8, MEM(r), 0, 0);
		add(F_ARITH_M64FP, M_F64, 2, 0xdc, MEM(r), 0, 0);
		add(F_ARITH_M16I, M_I16, 2, 0xde, MEM(r), 0, 0);
		add(F_ARITH_M32I, M_I32, 2, 0xda, MEM(r), 0, 0);
	}
	/* loads and stores */
	add(F_LOADSTORE, M_F32, 2, 0xd9, MEM(0), 0, 0);
	add(F_LOADSTORE, M_ST32, 2, 0xd9, MEM(2), 0, 0);
	add(F_LOADSTORE, M_ST32, 2, 0xd9, MEM(3), 0, 0);
	add(F_LOADSTORE, M_F64, 2, 0xdd, MEM(0), 0, 0);
	add(F_LOADSTORE, M_ST64, 2, 0xdd, MEM(2), 0, 0);
	add(F_LOADSTORE, M_ST64, 2, 0xdd, MEM(3), 0, 0);
	add(F_LOADSTORE, M_I32, 2, 0xdb, MEM(0), 0, 0);
	add(F_LOADSTORE, M_ST32, 2, 0xdb, MEM(2), 0, 0);
	add(F_LOADSTORE, M_ST32, 2, 0xdb, MEM(3), 0, 0);
	add(F_LOADSTORE, M_F80, 2, 0xdb, MEM(5), 0, 0);
	add(F_LOADSTORE, M_ST80, 2, 0xdb, MEM(7), 0, 0);
	add(F_LOADSTORE, M_I16, 2, 0xdf, MEM(0), 0, 0);
	add(F_LOADSTORE, M_ST16, 2, 0xdf, MEM(2), 0, 0);
	add(F_LOADSTORE, M_ST16, 2, 0xdf, MEM(3), 0, 0);
	add(F_LOADSTORE, M_I64, 2, 0xdf, MEM(5), 0, 0);
	add(F_LOADSTORE, M_ST64, 2, 0xdf, MEM(7), 0, 0);
	add(F_LOADSTORE, M_NONE, 2, 0xd9, 0xc0, 0, 8); /* FLD st(i) */
	add(F_LOADSTORE, M_NONE, 2, 0xd9, 0xc8, 0, 8); /* FXCH */
	add(F_LOADSTORE, M_NONE, 2, 0xdd, 0xd0, 0, 8); /* FST st(i) */
	add(F_LOADSTORE, M_NONE, 2, 0xdd, 0xd8, 0, 8); /* FSTP st(i) */
	add(F_LOADSTORE, M_NONE, 2, 0xdd, 0xc8, 0, 8); /* FXCH alias */
	add(F_LOADSTORE, M_NONE, 2, 0xd9, 0xd8, 0, 8); /* FSTP alias */
	add(F_LOADSTORE, M_NONE, 2, 0xdf, 0xd0, 0, 8); /* FSTP alias */
	add(F_LOADSTORE, M_NONE, 2, 0xdf, 0xd8, 0, 8); /* FSTP alias */
	add(F_BCD, M_BCD, 2, 0xdf, MEM(4), 0, 0);
	add(F_BCD, M_STBCD, 2, 0xdf, MEM(6), 0, 0);
	add(F_BCD, M_STBCD, 2, 0xdf, MEM(6), 0, 0);
	/* D9 E0..FF */
	static const uint8_t unary[] = {0xe0, 0xe1, 0xe4, 0xe5, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xfa, 0xfc, 0xfd};
	for (size_t i = 0; i < sizeof(unary); i++)
		add(F_UNARY, M_NONE, 2, 0xd9, unary[i], 0, 0);
	static const uint8_t trans[] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf9, 0xfb, 0xfe, 0xff};
	for (size_t i = 0; i < sizeof(trans); i++)
		add(F_TRANS, M_NONE, 2, 0xd9, trans[i], 0, 0);
	for (int i = 0xe8; i <= 0xee; i++)
		add(F_CONST, M_NONE, 2, 0xd9, (uint8_t)i, 0, 0);
	/* comparisons (D8 D0/D8 are in the arithmetic rows) */
	add(F_COMPARE, M_NONE, 2, 0xde, 0xd9, 0, 0); /* FCOMPP */
	add(F_COMPARE, M_NONE, 2, 0xda, 0xe9, 0, 0); /* FUCOMPP */
	add(F_COMPARE, M_NONE, 2, 0xdd, 0xe0, 0, 8); /* FUCOM */
	add(F_COMPARE, M_NONE, 2, 0xdd, 0xe8, 0, 8); /* FUCOMP */
	add(F_COMPARE, M_NONE, 2, 0xdb, 0xe8, 0, 8); /* FUCOMI */
	add(F_COMPARE, M_NONE, 2, 0xdb, 0xf0, 0, 8); /* FCOMI */
	add(F_COMPARE, M_NONE, 2, 0xdf, 0xe8, 0, 8); /* FUCOMIP */
	add(F_COMPARE, M_NONE, 2, 0xdf, 0xf0, 0, 8); /* FCOMIP */
	add(F_COMPARE, M_NONE, 2, 0xdc, 0xd0, 0, 8); /* FCOM alias */
	add(F_COMPARE, M_NONE, 2, 0xdc, 0xd8, 0, 8); /* FCOMP alias */
	add(F_COMPARE, M_NONE, 2, 0xde, 0xd0, 0, 8); /* FCOMP alias */
	for (int r = 0; r < 4; r++) {
		add(F_FCMOV, M_NONE, 2, 0xda, (uint8_t)(0xc0 + 8 * r), 0, 8);
		add(F_FCMOV, M_NONE, 2, 0xdb, (uint8_t)(0xc0 + 8 * r), 0, 8);
	}
	/* control */
	add(F_CONTROL, M_CW, 2, 0xd9, MEM(5), 0, 0);   /* FLDCW */
	add(F_CONTROL, M_STW, 2, 0xd9, MEM(7), 0, 0);  /* FNSTCW */
	add(F_CONTROL, M_STW, 2, 0xdd, MEM(7), 0, 0);  /* FNSTSW m16 */
	add(F_CONTROL, M_NONE, 2, 0xdf, 0xe0, 0, 0);   /* FNSTSW AX */
	add(F_CONTROL, M_NONE, 2, 0xdb, 0xe2, 0, 0);   /* FNCLEX */
	add(F_CONTROL, M_NONE, 2, 0xdb, 0xe3, 0, 0);   /* FNINIT */
	add(F_CONTROL, M_NONE, 2, 0xdd, 0xc0, 0, 8);   /* FFREE */
	add(F_CONTROL, M_NONE, 2, 0xdf, 0xc0, 0, 8);   /* FFREEP */
	add(F_CONTROL, M_NONE, 2, 0xd9, 0xd0, 0, 0);   /* FNOP */
	add(F_CONTROL, M_NONE, 1, 0x9b, 0, 0, 0);      /* FWAIT */
	add(F_CONTROL, M_NONE, 2, 0xdb, 0xe0, 0, 0);   /* FNENI */
	add(F_CONTROL, M_NONE, 2, 0xdb, 0xe1, 0, 0);   /* FNDISI */
	add(F_CONTROL, M_NONE, 2, 0xdb, 0xe4, 0, 0);   /* FNSETPM */
	/* environment and state */
	add(F_ENV, M_STENV28, 2, 0xd9, MEM(6), 0, 0);
	add(F_ENV, M_STENV14, 3, 0x66, 0xd9, MEM(6), 0);
	add(F_ENV, M_ENV28, 2, 0xd9, MEM(4), 0, 0);
	add(F_ENV, M_ENV14, 3, 0x66, 0xd9, MEM(4), 0);
	add(F_ENV, M_STSAVE108, 2, 0xdd, MEM(6), 0, 0);
	add(F_ENV, M_STSAVE94, 3, 0x66, 0xdd, MEM(6), 0);
	add(F_ENV, M_SAVE108, 2, 0xdd, MEM(4), 0, 0);
	add(F_ENV, M_SAVE94, 3, 0x66, 0xdd, MEM(4), 0);
	add(F_ENV, M_STFX, 3, 0x0f, 0xae, MEM(0), 0);
	add(F_ENV, M_FX, 3, 0x0f, 0xae, MEM(1), 0);
}

/* Every encoding of the escape opcodes: all register forms and every
 * ModRM.reg memory form (the host raising #UD must match the guest). */
static void build_sweep(void)
{
	static struct form all[8 * 72 + 1];
	int n = 0;
	for (int e = 0; e < 8; e++) {
		for (int m = 0; m < 72; m++) {
			struct form *f = &all[n++];
			memset(f, 0, sizeof(*f));
			f->fam = F_SWEEP;
			f->n = 2;
			f->b[0] = (uint8_t)(0xd8 + e);
			f->b[1] = m < 64 ? (uint8_t)(0xc0 + m) : MEM(m - 64);
			/* FISTTP (DB/DD/DF /1) is SSE3: a P6 has it not, the
			 * host does. The guest's #UD is checked apart. */
			if (m == 64 + 1 && (e == 3 || e == 5 || e == 7))
				f->b[1] = 0xd0; /* FST ST(0) in its place */
			f->mk = m < 64 ? M_NONE : (e == 1 && m == 64 + 6) ? M_STENV28
				: (e == 5 && m == 64 + 6) ? M_STSAVE108 : M_ST80;
		}
	}
	all[n].fam = F_SWEEP;
	all[n].n = 1;
	all[n].b[0] = 0x9b;
	n++;
	sweep_forms = all;
	nsweep = n;
}

/* ---- one case ---- */

#define MEMSZ 512
struct run {
	uint8_t img[108];  /* state in, FNSAVE image out */
	_Alignas(16) uint8_t mem[MEMSZ];
	uint32_t eax, eflags;
	int trapped;
};

static void gen_mem(int mk, uint8_t *m)
{
	for (int i = 0; i < MEMSZ; i++)
		m[i] = (uint8_t)rnd();
	switch (mk) {
	case M_F32: { uint32_t v = gen32f(); memcpy(m, &v, 4); break; }
	case M_F64: { uint64_t v = gen64f(); memcpy(m, &v, 8); break; }
	case M_F80: put80(m, gen80()); break;
	case M_I16: { uint64_t v = genint(2); memcpy(m, &v, 2); break; }
	case M_I32: { uint64_t v = genint(4); memcpy(m, &v, 4); break; }
	case M_I64: { uint64_t v = genint(8); memcpy(m, &v, 8); break; }
	case M_BCD: genbcd(m); break;
	case M_CW: { uint16_t v = (uint16_t)(0x40 | rn(4) << 8 | rn(4) << 10 | (chance(50) ? 0x3f : rn(64)));
		if (chance(5)) v = (uint16_t)rnd();
		memcpy(m, &v, 2); break; }
	case M_ENV28: case M_SAVE108: {
		uint8_t img[108];
		gen_state(img, 1);
		memcpy(m, img, 108);
		break;
	}
	case M_ENV14: case M_SAVE94: {
		uint8_t img[108];
		gen_state(img, 1);
		uint16_t h[7] = {0};
		memcpy(&h[0], img + 0, 2);
		memcpy(&h[1], img + 4, 2);
		memcpy(&h[2], img + 8, 2);
		memcpy(m, h, 14);
		memcpy(m + 14, img + 28, 80);
		break;
	}
	case M_FX: {
		uint8_t img[108];
		gen_state(img, 1);
		memset(m, 0, 32);
		memcpy(m + 0, img + 0, 2);
		memcpy(m + 2, img + 4, 2);
		m[4] = (uint8_t)rnd();
		uint32_t mx = 0x1f80;
		memcpy(m + 24, &mx, 4);
		for (int i = 0; i < 8; i++) {
			memcpy(m + 32 + 16 * i, img + 28 + 10 * i, 10);
			memset(m + 42 + 16 * i, 0, 6);
		}
		break;
	}
	default: break;
	}
}

/* The host side. */
static uint8_t *jit;
static sigjmp_buf fpe_jb;
static volatile sig_atomic_t in_jit;

static void on_fpe(int sig, siginfo_t *si, void *uc)
{
	(void)si; (void)uc;
	if (!in_jit)
		abort();
	in_jit = 0;
	siglongjmp(fpe_jb, sig == SIGILL ? 2 : 1);
}

static void host_run(const uint8_t *insn, int n, struct run *r)
{
	static const uint8_t pre[] = {0x48, 0x89, 0xd1, 0x8b, 0x01, 0xff, 0x71, 0x08, 0x9d, 0xdd, 0x27};
	static const uint8_t post[] = {0xdd, 0x37, 0x89, 0x01, 0x9c, 0x8f, 0x41, 0x08, 0xc3};
	uint8_t *p = jit;
	memcpy(p, pre, sizeof(pre));
	p += sizeof(pre);
	memcpy(p, insn, (size_t)n);
	p += n;
	memcpy(p, post, sizeof(post));
	uint64_t regs[2] = {r->eax, 0x202 | (r->eflags & FL_ARITH)};
	void (*fn)(void *, void *, void *) = (void (*)(void *, void *, void *))(uintptr_t)jit;
	r->trapped = 0;
	int why = sigsetjmp(fpe_jb, 1);
	if (why == 0) {
		in_jit = 1;
		fn(r->img, r->mem, regs);
		in_jit = 0;
	} else {
		r->trapped = why; /* 1: #MF (SIGFPE), 2: #UD (SIGILL) */
		__asm__ volatile("fninit");
	}
	r->eax = (uint32_t)regs[0];
	r->eflags = (uint32_t)regs[1];
}

/* The guest side: code at 0x1000, state image at 0x2000 (EDI), memory
 * operand at 0x3000 (ESI), result image at 0x4000 (EBP). */
#define G_CODE 0x1000
#define G_IMG 0x2000
#define G_MEM 0x3000
#define G_OUT 0x4000
#define G_HANDLER 0x1800

static void guest_setup(struct harness *h)
{
	/* GDT (0x10 code, 0x18 data) and an IDT whose every gate goes to a
	 * handler that reports its vector through port 0xf4. */
	uint8_t gdt[32] = {0};
	static const uint8_t code[8] = {0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0};
	static const uint8_t data[8] = {0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0};
	memcpy(gdt + 16, code, 8);
	memcpy(gdt + 24, data, 8);
	h_load(h, 0x500, gdt, sizeof(gdt));
	for (int v = 0; v < 32; v++) {
		uint32_t hoff = G_HANDLER + (uint32_t)v * 8;
		uint8_t gate[8] = {(uint8_t)hoff, (uint8_t)(hoff >> 8), 0x10, 0, 0, 0x8e, (uint8_t)(hoff >> 16), (uint8_t)(hoff >> 24)};
		h_load(h, 0x600 + (uint32_t)v * 8, gate, 8);
		uint8_t stub[8] = {0xb0, (uint8_t)(0x80 | v), 0xe6, 0xf4, 0xf4, 0x90, 0x90, 0x90};
		h_load(h, hoff, stub, 8);
	}
}

static void guest_run(struct harness *h, const uint8_t *insn, int n, struct run *r)
{
	uint8_t code[64];
	int k = 0;
	code[k++] = 0xdd; code[k++] = 0x27;                  /* frstor [edi] */
	memcpy(code + k, insn, (size_t)n); k += n;
	code[k++] = 0xdd; code[k++] = 0x75; code[k++] = 0x00; /* fnsave [ebp] */
	code[k++] = 0x89; code[k++] = 0x45; code[k++] = 0x70; /* mov [ebp+0x70], eax */
	code[k++] = 0x9c;                                     /* pushfd */
	code[k++] = 0x8f; code[k++] = 0x45; code[k++] = 0x74; /* pop dword [ebp+0x74] */
	code[k++] = 0xb0; code[k++] = 0x00;                   /* mov al, 0 */
	code[k++] = 0xe6; code[k++] = 0xf4;                   /* out 0xf4, al */
	code[k++] = 0xf4;                                     /* hlt */
	h_load(h, G_CODE, code, (size_t)k);
	h_load(h, G_IMG, r->img, 108);
	h_load(h, G_MEM, r->mem, MEMSZ);
	struct cpu *c = &h->cpu;
	c->eip = G_CODE;
	c->r[R_EAX] = r->eax;
	c->r[R_ESI] = G_MEM;
	c->r[R_EDI] = G_IMG;
	c->r[R_EBP] = G_OUT;
	c->r[R_ESP] = 0x8000;
	c->eflags = FL_1 | (r->eflags & FL_ARITH);
	c->cr0 = (c->cr0 & ~(CR0_TS | CR0_EM)) | CR0_NE | CR0_MP;
	c->gdtr = (struct dtr){0x500, 31};
	c->idtr = (struct dtr){0x600, 32 * 8 - 1};
	c->shutdown = 0;
	c->halted = 0;
	c->exc_vector = -1;
	h->exit_value = -1;
	enum cpu_stop why = h_run(h, 64);
	r->trapped = 0;
	if ((why == CPU_STOP_SHUTDOWN && c->exc_vector == EXC_MF) || h->exit_value == (0x80 | EXC_MF)) {
		r->trapped = 1;
	} else if ((why == CPU_STOP_SHUTDOWN && c->exc_vector == EXC_UD) || h->exit_value == (0x80 | EXC_UD)) {
		r->trapped = 2;
	} else if (why != CPU_STOP_REQUEST || h->exit_value != 0) {
		r->trapped = -1; /* something else went wrong */
		fprintf(stderr, "guest stopped: why=%d exit=%#x exc=%d\n", why, h->exit_value, c->exc_vector);
	}
	cpu_phys_read(c, G_OUT, r->img, 108);
	cpu_phys_read(c, G_MEM, r->mem, MEMSZ);
	uint32_t v[2];
	cpu_phys_read(c, G_OUT + 0x70, v, 8);
	r->eax = v[0];
	r->eflags = v[1];
	/* A trapped guest never reached its FNSAVE: save its state here. */
	if (r->trapped >= 1) {
		x87_to_img(&c->fpu, r->img);
		uint16_t fsw = c->fpu.fsw;
		memcpy(r->img + 4, &fsw, 2);
		cpu_reset(c);
		cpu_set_flat32(c);
	}
}

/* Which bytes of the memory area to compare (the pointer fields hold host
 * addresses on the host; FXSAVE's XMM area is the host's). */
static int mem_cmp_len(int mk) { return mk == M_STFX ? 160 : MEMSZ; }
static int mem_ignored(int mk, int i)
{
	switch (mk) {
	case M_STENV28: case M_STSAVE108: return i >= 12 && i < 28;
	case M_STENV14: case M_STSAVE94: return i >= 6 && i < 14;
	case M_STFX: return (i >= 6 && i < 24) || (i >= 28 && i < 32);
	default: return 0;
	}
}

static void dump(const char *who, const struct run *r, int mk)
{
	fprintf(stderr, "  %s: trapped=%d eax=%08x fl=%03x cw=%04x sw=%04x tw=%04x\n", who, r->trapped, r->eax,
		r->eflags & FL_ARITH, r->img[0] | r->img[1] << 8, r->img[4] | r->img[5] << 8, r->img[8] | r->img[9] << 8);
	for (int i = 0; i < 8; i++) {
		const uint8_t *p = r->img + 28 + 10 * i;
		fprintf(stderr, "    st%d %02x%02x %02x%02x%02x%02x%02x%02x%02x%02x\n", i, p[9], p[8], p[7], p[6], p[5],
			p[4], p[3], p[2], p[1], p[0]);
	}
	if (mk != M_NONE) {
		fprintf(stderr, "    mem");
		for (int i = 0; i < 16; i++)
			fprintf(stderr, " %02x", r->mem[i]);
		fprintf(stderr, "\n");
	}
}

int main(void)
{
	long ncases = getenv("RINGVM_LONG") ? 2000000 : 60000;
	if (getenv("RINGVM_X87_CASES"))
		ncases = atol(getenv("RINGVM_X87_CASES"));
	if (getenv("RINGVM_X87_SEED"))
		rng_state = strtoull(getenv("RINGVM_X87_SEED"), NULL, 0) | 1;
	int verbose = getenv("RINGVM_X87_VERBOSE") != NULL;
	jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (jit == MAP_FAILED) {
		printf("cannot map an executable page for the host oracle\n");
		return 77;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fpe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);

	build_forms();
	build_sweep();
	static struct harness h;
	h_init(&h, 1 << 20);
	h_flat32(&h, G_CODE, 0x8000);
	guest_setup(&h);

	long count[F_NFAM] = {0}, bad[F_NFAM] = {0}, traps = 0, uds = 0, mismatches = 0;
	long raised[6] = {0}, unmasked[6] = {0}, stackfault[2] = {0}, rounding[16] = {0};
	static struct run in, host, guest;
	long nsweep_cases = (long)nsweep * 8;
	ncases += nsweep_cases;
	for (long c = 0; c < ncases; c++) {
		const struct form *f = c < nsweep_cases ? &sweep_forms[c / 8] : &forms[rn((uint32_t)nforms)];
		uint8_t insn[4];
		memcpy(insn, f->b, 4);
		if (f->regs)
			insn[f->n - 1] = (uint8_t)(insn[f->n - 1] + rn(8));
		gen_state(in.img, chance(15));
		gen_mem(f->mk, in.mem);
		in.eax = (uint32_t)rnd();
		in.eflags = (uint32_t)rnd() & FL_ARITH;
		host = in;
		guest = in;
		host_run(insn, f->n, &host);
		guest_run(&h, insn, f->n, &guest);
		count[f->fam]++;
		traps += host.trapped == 1;
		uds += host.trapped == 2;
		if (!host.trapped) { /* what the case exercised, by the host's word */
			uint16_t cw0 = (uint16_t)(in.img[0] | in.img[1] << 8);
			uint16_t sw0 = (uint16_t)(in.img[4] | in.img[5] << 8);
			uint16_t sw1 = (uint16_t)(host.img[4] | host.img[5] << 8);
			uint16_t cw1 = (uint16_t)(host.img[0] | host.img[1] << 8);
			uint16_t fresh = sw1 & ~sw0 & 0x7f;
			for (int b = 0; b < 6; b++) {
				if (fresh & (1u << b)) {
					raised[b]++;
					unmasked[b] += !(cw1 & (1u << b));
				}
			}
			if (fresh & 0x40)
				stackfault[(sw1 >> 9) & 1]++;
			if (f->mk == M_NONE || f->mk == M_F32 || f->mk == M_F64 || f->mk == M_I16 || f->mk == M_I32)
				rounding[(cw0 >> 8) & 15] += (fresh & 0x20) != 0;
		}
		int diff = host.trapped != guest.trapped;
		if (!diff && !host.trapped) {
			for (int i = 0; i < 108 && !diff; i++)
				if (!(i >= 12 && i < 28) && host.img[i] != guest.img[i])
					diff = 1;
			for (int i = 0; i < mem_cmp_len(f->mk) && !diff; i++)
				if (!mem_ignored(f->mk, i) && host.mem[i] != guest.mem[i])
					diff = 2;
			if (host.eax != guest.eax || (host.eflags & FL_ARITH) != (guest.eflags & FL_ARITH))
				diff = 3;
		} else if (!diff && host.trapped == 2) {
			if (memcmp(host.mem, guest.mem, MEMSZ))
				diff = 5;
		} else if (!diff) {
			/* #MF before the instruction: the state is what FRSTOR
			 * loaded (on the host: FRSTOR then FNSAVE alone). */
			static struct run loaded;
			loaded = in;
			host_run(insn, 0, &loaded);
			for (int i = 0; i < 108 && !diff; i++)
				if (!(i >= 12 && i < 28) && loaded.img[i] != guest.img[i])
					diff = 4;
			if (memcmp(host.mem, guest.mem, MEMSZ))
				diff = 4;
			if (diff)
				host = loaded;
		}
		if (diff) {
			bad[f->fam]++;
			if (mismatches++ < 20 || verbose) {
				fprintf(stderr, "MISMATCH(%d) case %ld [%s] bytes", diff, c, fam_name[f->fam]);
				for (int i = 0; i < f->n; i++)
					fprintf(stderr, " %02x", insn[i]);
				fprintf(stderr, "\n");
				dump("input", &in, f->mk);
				dump("host ", &host, f->mk);
				dump("guest", &guest, f->mk);
			}
		}
	}
	for (int i = 0; i < F_NFAM; i++)
		printf("%-16s %8ld cases %6ld mismatches\n", fam_name[i], count[i], bad[i]);
	static const char *const exc[6] = {"invalid", "denormal", "zero-divide", "overflow", "underflow", "precision"};
	for (int b = 0; b < 6; b++)
		printf("raised %-11s %8ld times, %7ld of them unmasked\n", exc[b], raised[b], unmasked[b]);
	printf("stack underflow %ld, stack overflow %ld\n", stackfault[0], stackfault[1]);
	printf("inexact results by precision/rounding control (PC,RC):");
	for (int i = 0; i < 16; i++)
		printf(" %d%d:%ld", i & 3, i >> 2, rounding[i]);
	printf("\n");
	printf("total %ld cases (%ld took #MF, %ld #UD), %ld mismatches\n", ncases, traps, uds, mismatches);
	h_free(&h);
	return mismatches ? 1 : 0;
}
