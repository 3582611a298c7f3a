/* Differential test against the host processor: every integer instruction
 * form we can enumerate, with operands at carry/overflow/zero/sign edges,
 * shift counts 0/1/31/32+, division faults, REP string ops with short
 * counts and both directions, stack and flag instructions, and branch
 * outcomes, run natively (tests/diff/runner, a 32-bit process fed over a
 * pipe) and in interp (flat 32-bit, CPL 3, the same linear addresses), then
 * compared: registers, EFLAGS, the data window, and for a fault the whole
 * fault: vector, EIP, error code (vectors that have one) and CR2 (#PF).
 * Coverage is enforced, not only printed: every form must run to the end
 * changing state, and every form with a memory operand must fault with
 * #PF, error code and CR2 compared (see check_coverage).
 *
 * docs/difftest.md describes the method and the flag masks.
 * RINGVM_LONG=1 multiplies the case count by 30; RINGVM_DIFF_SEED sets the
 * seed; RINGVM_DIFF_ONLY=substr runs only forms whose name contains it;
 * RINGVM_DIFF_VERBOSE=n prints the first n mismatches (default 8).
 *
 * Beyond flat 32-bit code, cases also run with a read-only data page,
 * across the data page's end (guard pages), through an FS segment based at
 * the data window (LDT natively) with 16- and 32-bit addressing and limit
 * faults, with string ops in window segments, and in a 16-bit code segment.
 *
 * Exceptions in interp are caught before delivery: the test is linked with
 * -Wl,--wrap=cpu_handle_exception (tests/tests.mk), so the engine's fault
 * path stops the run with the raw vector and the state as at the fault. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpu/block.h"
#include "diff/diffcase.h"
#include "harness.h"

/* ---- catching interp's exceptions ---- */

static int caught_vector = -1;
static uint32_t caught_err;

void __wrap_cpu_handle_exception(struct cpu *cpu);
void __wrap_cpu_handle_exception(struct cpu *cpu)
{
	caught_vector = cpu->exc_vector;
	caught_err = (uint32_t)cpu->exc_error;
	cpu->shutdown = 1; /* interp_run returns CPU_STOP_SHUTDOWN */
}

/* ---- random values ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint32_t rn(uint32_t n) { return (uint32_t)(rnd() % n); }
static int chance(int pct) { return rn(100) < (uint32_t)pct; }

/* A value of size bytes (in the low bits) at an interesting edge, or
 * random; the bits above are random. */
static uint32_t edge(int size)
{
	static const uint32_t e32[] = {0, 1, 2, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff,
				       0xfffffffe, 0x7ffffffe, 0x00010000, 0x0000ffff, 0x00008000};
	static const uint16_t e16[] = {0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xffff, 0xfffe, 0x00ff, 0x0100, 0x0080};
	static const uint8_t e8[] = {0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x0f, 0x10, 0x09, 0x0a,
				     0x99, 0x9a, 0x90, 0x06, 0x60, 0x66, 0xf9};
	uint32_t hi = (uint32_t)rnd();
	uint32_t m = size_mask(size);
	uint32_t v;
	switch (rn(6)) {
	case 0:
	case 1:
		if (size == 1)
			v = e8[rn(sizeof(e8))];
		else if (size == 2)
			v = e16[rn(sizeof(e16) / 2)];
		else
			v = e32[rn(sizeof(e32) / 4)];
		break;
	case 2: v = rn(16); break;                       /* small */
	case 3: v = (uint32_t)-(int32_t)rn(16); break;   /* small negative */
	case 4: v = (m >> 1) + rn(5) - 2; break;         /* around the sign edge */
	default: v = (uint32_t)rnd(); break;
	}
	return (hi & ~m) | (v & m);
}

/* ---- instruction forms ---- */

enum rmk { RM_NONE, RM_REG, RM_MEM };
enum kind {
	K_PLAIN, K_SHIFT, K_DIV, K_BTREG, K_BSF, K_BCD, K_AAM, K_CMPXCHG, K_CMPXCHG8B,
	K_STRING, K_STACK, K_POPF, K_ENTER, K_LEAVE, K_POPA, K_BRANCH, K_LOOP, K_XLAT,
	K_SAHF, K_LEA, K_BOUND,
};

struct form {
	char name[48];
	const char *fam;
	uint8_t pfx[3], npfx;
	uint8_t map;     /* 1: 0F */
	uint8_t op;
	int8_t ext;      /* ModRM.reg extension, -1: a register operand, -2: no ModRM */
	uint8_t rm;      /* enum rmk */
	uint8_t imm;     /* immediate bytes; 3 = ENTER's iw+ib */
	int8_t opreg;    /* -1, or: the register is in the opcode's low 3 bits */
	uint8_t size;    /* operand size */
	uint8_t kind;
	uint16_t implicit; /* registers the form uses implicitly (bit per reg) */
	uint32_t undef;  /* flags the SDM leaves undefined (documentation, masks) */
};

#define MAXFORMS 1400
static struct form forms[MAXFORMS];
static int nforms;

static struct form *add_form(const char *fam, const char *name, int size)
{
	if (nforms >= MAXFORMS) {
		fprintf(stderr, "too many forms\n");
		exit(1);
	}
	struct form *f = &forms[nforms++];
	memset(f, 0, sizeof(*f));
	f->fam = fam;
	if (size == 2 && !strchr(name, '/'))
		snprintf(f->name, sizeof(f->name), "%s/16", name);
	else
		snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = (uint8_t)size;
	f->ext = -2;
	f->opreg = -1;
	if (size == 2)
		f->pfx[f->npfx++] = 0x66;
	return f;
}

#define BIT(r) (1u << (r))
#define F_ALL FL_ARITH
#define F_SZAPC_OF (FL_OF | FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

static const char *sz_name(int s) { return s == 1 ? "8" : s == 2 ? "16" : "32"; }

/* r/m forms: one register, one memory variant. */
static void add_rm(const char *fam, const char *base, int size, int map, int op, int ext, int imm, int kind,
		   uint16_t implicit, uint32_t undef, int allow_reg, int allow_mem)
{
	for (int m = 0; m < 2; m++) {
		if ((m == 0 && !allow_reg) || (m == 1 && !allow_mem))
			continue;
		char name[48];
		snprintf(name, sizeof(name), "%s/%s %s", base, sz_name(size), m ? "mem" : "reg");
		struct form *f = add_form(fam, name, size);
		f->map = (uint8_t)map;
		f->op = (uint8_t)op;
		f->ext = (int8_t)ext;
		f->rm = m ? RM_MEM : RM_REG;
		f->imm = (uint8_t)imm;
		f->kind = (uint8_t)kind;
		f->implicit = implicit;
		f->undef = undef;
	}
}

static struct form *add_simple(const char *fam, const char *name, int size, int map, int op, int imm, int kind,
			       uint16_t implicit, uint32_t undef)
{
	struct form *f = add_form(fam, name, size);
	f->map = (uint8_t)map;
	f->op = (uint8_t)op;
	f->imm = (uint8_t)imm;
	f->kind = (uint8_t)kind;
	f->implicit = implicit;
	f->undef = undef;
	return f;
}

static void build_forms(void)
{
	static const char *const alu[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
	for (int k = 0; k < 8; k++) {
		uint32_t u = (k == 1 || k == 4 || k == 6) ? FL_AF : 0;
		char n[40];
		snprintf(n, sizeof(n), "%s rm,r", alu[k]);
		add_rm("alu", n, 1, 0, k * 8 + 0, -1, 0, K_PLAIN, 0, u, 1, 1);
		add_rm("alu", n, 2, 0, k * 8 + 1, -1, 0, K_PLAIN, 0, u, 1, 1);
		add_rm("alu", n, 4, 0, k * 8 + 1, -1, 0, K_PLAIN, 0, u, 1, 1);
		snprintf(n, sizeof(n), "%s r,rm", alu[k]);
		add_rm("alu", n, 1, 0, k * 8 + 2, -1, 0, K_PLAIN, 0, u, 1, 1);
		add_rm("alu", n, 2, 0, k * 8 + 3, -1, 0, K_PLAIN, 0, u, 1, 1);
		add_rm("alu", n, 4, 0, k * 8 + 3, -1, 0, K_PLAIN, 0, u, 1, 1);
		snprintf(n, sizeof(n), "%s al,imm8", alu[k]);
		add_simple("alu", n, 1, 0, k * 8 + 4, 1, K_PLAIN, 0, u);
		snprintf(n, sizeof(n), "%s ax,imm16", alu[k]);
		add_simple("alu", n, 2, 0, k * 8 + 5, 2, K_PLAIN, 0, u);
		snprintf(n, sizeof(n), "%s eax,imm32", alu[k]);
		add_simple("alu", n, 4, 0, k * 8 + 5, 4, K_PLAIN, 0, u);
		snprintf(n, sizeof(n), "%s rm,imm (80)", alu[k]);
		add_rm("alu", n, 1, 0, 0x80, k, 1, K_PLAIN, 0, u, 1, 1);
		snprintf(n, sizeof(n), "%s rm,imm (82)", alu[k]);
		add_rm("alu", n, 1, 0, 0x82, k, 1, K_PLAIN, 0, u, 1, 1);
		snprintf(n, sizeof(n), "%s rm,imm (81)", alu[k]);
		add_rm("alu", n, 2, 0, 0x81, k, 2, K_PLAIN, 0, u, 1, 1);
		add_rm("alu", n, 4, 0, 0x81, k, 4, K_PLAIN, 0, u, 1, 1);
		snprintf(n, sizeof(n), "%s rm,simm8 (83)", alu[k]);
		add_rm("alu", n, 2, 0, 0x83, k, 1, K_PLAIN, 0, u, 1, 1);
		add_rm("alu", n, 4, 0, 0x83, k, 1, K_PLAIN, 0, u, 1, 1);
		if (k != 7) { /* LOCK on the memory forms (CMP is not lockable) */
			snprintf(n, sizeof(n), "lock %s rm,r", alu[k]);
			for (int s = 1; s <= 4; s *= 2) {
				add_rm("alu", n, s, 0, k * 8 + (s == 1 ? 0 : 1), -1, 0, K_PLAIN, 0, u, 0, 1);
				struct form *f = &forms[nforms - 1];
				f->pfx[f->npfx++] = 0xf0;
			}
		}
	}
	int sizes[3] = {1, 2, 4};
	for (int i = 0; i < 3; i++) {
		int s = sizes[i];
		int w = s == 1 ? 0 : 1;
		add_rm("alu", "test rm,r", s, 0, 0x84 + w, -1, 0, K_PLAIN, 0, FL_AF, 1, 1);
		add_rm("alu", "test rm,imm", s, 0, 0xf6 + w, 0, s, K_PLAIN, 0, FL_AF, 1, 1);
		add_rm("alu", "test rm,imm (/1)", s, 0, 0xf6 + w, 1, s, K_PLAIN, 0, FL_AF, 1, 0);
		add_simple("alu", s == 1 ? "test al,imm" : s == 2 ? "test ax,imm" : "test eax,imm", s, 0, 0xa8 + w, s,
			   K_PLAIN, 0, FL_AF);
		add_rm("alu", "not", s, 0, 0xf6 + w, 2, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("alu", "neg", s, 0, 0xf6 + w, 3, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("alu", "inc rm", s, 0, 0xfe + w, 0, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("alu", "dec rm", s, 0, 0xfe + w, 1, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("alu", "lock neg", s, 0, 0xf6 + w, 3, 0, K_PLAIN, 0, 0, 0, 1);
		forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
		add_rm("alu", "lock inc", s, 0, 0xfe + w, 0, 0, K_PLAIN, 0, 0, 0, 1);
		forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
		add_rm("alu", "lock add (reg: #UD)", s, 0, 0x00 + w, -1, 0, K_PLAIN, 0, 0, 1, 0);
		forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
		if (s != 1) {
			struct form *f = add_simple("alu", "inc r (40+r)", s, 0, 0x40, 0, K_PLAIN, 0, 0);
			f->opreg = 0;
			f = add_simple("alu", "dec r (48+r)", s, 0, 0x48, 0, K_PLAIN, 0, 0);
			f->opreg = 0;
		}
	}

	/* shifts and rotates (SDM: OF undefined unless count 1, AF undefined
	 * for nonzero counts of SHL/SHR/SAR, CF undefined for SHL/SHR counts
	 * >= the operand width) */
	static const char *const sh[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal(/6)", "sar"};
	for (int k = 0; k < 8; k++) {
		uint32_t u = FL_OF | (k >= 4 ? FL_AF | FL_CF : 0);
		for (int i = 0; i < 3; i++) {
			int s = sizes[i], w = s == 1 ? 0 : 1;
			char n[40];
			snprintf(n, sizeof(n), "%s rm,imm8", sh[k]);
			add_rm("shift", n, s, 0, 0xc0 + w, k, 1, K_SHIFT, 0, u, 1, 1);
			snprintf(n, sizeof(n), "%s rm,1", sh[k]);
			add_rm("shift", n, s, 0, 0xd0 + w, k, 0, K_SHIFT, 0, u, 1, 1);
			snprintf(n, sizeof(n), "%s rm,cl", sh[k]);
			add_rm("shift", n, s, 0, 0xd2 + w, k, 0, K_SHIFT, BIT(R_ECX), u, 1, 1);
		}
	}
	for (int s = 2; s <= 4; s += 2) {
		uint32_t u = FL_OF | FL_AF | FL_CF;
		add_rm("shift", "shld rm,r,imm8", s, 1, 0xa4, -1, 1, K_SHIFT, 0, u, 1, 1);
		add_rm("shift", "shld rm,r,cl", s, 1, 0xa5, -1, 0, K_SHIFT, BIT(R_ECX), u, 1, 1);
		add_rm("shift", "shrd rm,r,imm8", s, 1, 0xac, -1, 1, K_SHIFT, 0, u, 1, 1);
		add_rm("shift", "shrd rm,r,cl", s, 1, 0xad, -1, 0, K_SHIFT, BIT(R_ECX), u, 1, 1);
	}

	/* multiply and divide */
	static const char *const md[4] = {"mul", "imul", "div", "idiv"};
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < 3; i++) {
			int s = sizes[i], w = s == 1 ? 0 : 1;
			uint32_t u = k < 2 ? (FL_SF | FL_ZF | FL_AF | FL_PF) : F_ALL;
			add_rm("muldiv", md[k], s, 0, 0xf6 + w, 4 + k, 0, k < 2 ? K_PLAIN : K_DIV,
			       BIT(R_EAX) | BIT(R_EDX), u, 1, 1);
		}
	}
	for (int s = 2; s <= 4; s += 2) {
		uint32_t u = FL_SF | FL_ZF | FL_AF | FL_PF;
		add_rm("muldiv", "imul r,rm", s, 1, 0xaf, -1, 0, K_PLAIN, 0, u, 1, 1);
		add_rm("muldiv", "imul r,rm,imm", s, 0, 0x69, -1, s, K_PLAIN, 0, u, 1, 1);
		add_rm("muldiv", "imul r,rm,simm8", s, 0, 0x6b, -1, 1, K_PLAIN, 0, u, 1, 1);
	}

	/* decimal adjust */
	add_simple("bcd", "daa", 4, 0, 0x27, 0, K_BCD, BIT(R_EAX), FL_OF);
	add_simple("bcd", "das", 4, 0, 0x2f, 0, K_BCD, BIT(R_EAX), FL_OF);
	add_simple("bcd", "aaa", 4, 0, 0x37, 0, K_BCD, BIT(R_EAX), FL_OF | FL_SF | FL_ZF | FL_PF);
	add_simple("bcd", "aas", 4, 0, 0x3f, 0, K_BCD, BIT(R_EAX), FL_OF | FL_SF | FL_ZF | FL_PF);
	add_simple("bcd", "aam imm8", 4, 0, 0xd4, 1, K_AAM, BIT(R_EAX), FL_OF | FL_AF | FL_CF);
	add_simple("bcd", "aad imm8", 4, 0, 0xd5, 1, K_AAM, BIT(R_EAX), FL_OF | FL_AF | FL_CF);

	/* bit test and scan */
	static const char *const bt[4] = {"bt", "bts", "btr", "btc"};
	for (int k = 0; k < 4; k++) {
		for (int s = 2; s <= 4; s += 2) {
			uint32_t u = FL_OF | FL_SF | FL_AF | FL_PF;
			char n[40];
			snprintf(n, sizeof(n), "%s rm,r", bt[k]);
			add_rm("bit", n, s, 1, 0xa3 + k * 8, -1, 0, K_BTREG, 0, u, 1, 1);
			snprintf(n, sizeof(n), "%s rm,imm8", bt[k]);
			add_rm("bit", n, s, 1, 0xba, 4 + k, 1, K_PLAIN, 0, u, 1, 1);
			if (k) {
				snprintf(n, sizeof(n), "lock %s m,r", bt[k]);
				add_rm("bit", n, s, 1, 0xa3 + k * 8, -1, 0, K_BTREG, 0, u, 0, 1);
				forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
			}
		}
	}
	for (int s = 2; s <= 4; s += 2) {
		uint32_t u = FL_CF | FL_OF | FL_SF | FL_AF | FL_PF;
		add_rm("bit", "bsf", s, 1, 0xbc, -1, 0, K_BSF, 0, u, 1, 1);
		add_rm("bit", "bsr", s, 1, 0xbd, -1, 0, K_BSF, 0, u, 1, 1);
	}

	/* data movement */
	for (int i = 0; i < 3; i++) {
		int s = sizes[i], w = s == 1 ? 0 : 1;
		add_rm("move", "mov rm,r", s, 0, 0x88 + w, -1, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("move", "mov r,rm", s, 0, 0x8a + w, -1, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("move", "mov rm,imm", s, 0, 0xc6 + w, 0, s, K_PLAIN, 0, 0, 1, 1);
		struct form *f = add_simple("move", "mov r,imm (b0/b8+r)", s, 0, s == 1 ? 0xb0 : 0xb8, s, K_PLAIN, 0, 0);
		f->opreg = 0;
		f = add_simple("move", "mov acc,moffs", s, 0, 0xa0 + w, 4, K_PLAIN, BIT(R_EAX), 0);
		f->imm = 5; /* moffs32: an address in the window */
		f = add_simple("move", "mov moffs,acc", s, 0, 0xa2 + w, 4, K_PLAIN, BIT(R_EAX), 0);
		f->imm = 5;
		add_rm("move", "xchg rm,r", s, 0, 0x86 + w, -1, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("move", "cmpxchg rm,r", s, 1, 0xb0 + w, -1, 0, K_CMPXCHG, BIT(R_EAX), 0, 1, 1);
		add_rm("move", "lock cmpxchg m,r", s, 1, 0xb0 + w, -1, 0, K_CMPXCHG, BIT(R_EAX), 0, 0, 1);
		forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
		add_rm("move", "xadd rm,r", s, 1, 0xc0 + w, -1, 0, K_PLAIN, 0, 0, 1, 1);
		add_rm("move", "lock xadd m,r", s, 1, 0xc0 + w, -1, 0, K_PLAIN, 0, 0, 0, 1);
		forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
		if (s != 1) {
			f = add_simple("move", "xchg eax,r (90+r)", s, 0, 0x90, 0, K_PLAIN, BIT(R_EAX), 0);
			f->opreg = 0;
			add_rm("move", "movzx r,rm8", s, 1, 0xb6, -1, 0, K_PLAIN, 0, 0, 1, 1);
			add_rm("move", "movsx r,rm8", s, 1, 0xbe, -1, 0, K_PLAIN, 0, 0, 1, 1);
			add_rm("move", "lea r,m", s, 0, 0x8d, -1, 0, K_LEA, 0, 0, 0, 1);
			for (int cc = 0; cc < 16; cc++) {
				char n[40];
				snprintf(n, sizeof(n), "cmov%x r,rm", cc);
				add_rm("move", n, s, 1, 0x40 + cc, -1, 0, K_PLAIN, 0, 0, 1, 1);
			}
		}
	}
	add_rm("move", "movzx r32,rm16", 4, 1, 0xb7, -1, 0, K_PLAIN, 0, 0, 1, 1);
	add_rm("move", "movsx r32,rm16", 4, 1, 0xbf, -1, 0, K_PLAIN, 0, 0, 1, 1);
	add_rm("move", "cmpxchg8b m64", 4, 1, 0xc7, 1, 0, K_CMPXCHG8B,
	       BIT(R_EAX) | BIT(R_EDX) | BIT(R_ECX) | BIT(R_EBX), 0, 0, 1);
	add_rm("move", "lock cmpxchg8b m64", 4, 1, 0xc7, 1, 0, K_CMPXCHG8B,
	       BIT(R_EAX) | BIT(R_EDX) | BIT(R_ECX) | BIT(R_EBX), 0, 0, 1);
	forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
	struct form *f = add_simple("move", "bswap r32", 4, 1, 0xc8, 0, K_PLAIN, 0, 0);
	f->opreg = 0;
	for (int cc = 0; cc < 16; cc++) {
		char n[40];
		snprintf(n, sizeof(n), "set%x rm8", cc);
		add_rm("move", n, 1, 1, 0x90 + cc, 0, 0, K_PLAIN, 0, 0, 1, 1);
	}
	add_simple("move", "xlat", 1, 0, 0xd7, 0, K_XLAT, BIT(R_EAX) | BIT(R_EBX), 0);
	add_simple("move", "cwde", 4, 0, 0x98, 0, K_PLAIN, BIT(R_EAX), 0);
	add_simple("move", "cbw", 2, 0, 0x98, 0, K_PLAIN, BIT(R_EAX), 0);
	add_simple("move", "cdq", 4, 0, 0x99, 0, K_PLAIN, BIT(R_EAX) | BIT(R_EDX), 0);
	add_simple("move", "cwd", 2, 0, 0x99, 0, K_PLAIN, BIT(R_EAX) | BIT(R_EDX), 0);
	add_simple("move", "nop", 4, 0, 0x90, 0, K_PLAIN, 0, 0);
	add_rm("move", "nop rm (0f 1f /0)", 4, 1, 0x1f, 0, 0, K_PLAIN, 0, 0, 1, 1);
	add_rm("move", "nop rm (0f 1f /0)", 2, 1, 0x1f, 0, 0, K_PLAIN, 0, 0, 1, 1);

	/* LOCK where it is not allowed: #UD (SDM Vol. 2, LOCK) */
	static const struct { const char *n; uint8_t map, op; int8_t ext; } nolock[] = {
		{"lock mov m,r (#UD)", 0, 0x89, -1}, {"lock cmp m,r (#UD)", 0, 0x39, -1},
		{"lock test m,r (#UD)", 0, 0x85, -1}, {"lock bt m,r (#UD)", 1, 0xa3, -1},
		{"lock bsf r,m (#UD)", 1, 0xbc, -1}, {"lock imul r,m (#UD)", 1, 0xaf, -1},
		{"lock shl m,1 (#UD)", 0, 0xd1, 4}, {"lock mul m (#UD)", 0, 0xf7, 4},
	};
	for (size_t k = 0; k < sizeof(nolock) / sizeof(nolock[0]); k++) {
		add_rm("move", nolock[k].n, 4, nolock[k].map, nolock[k].op, nolock[k].ext, 0, K_PLAIN, 0, 0, 0, 1);
		forms[nforms - 1].pfx[forms[nforms - 1].npfx++] = 0xf0;
	}

	add_simple("move", "ud2 (#UD)", 4, 1, 0x0b, 0, K_PLAIN, 0, 0);
	add_rm("move", "cmpxchg8b reg (#UD)", 4, 1, 0xc7, 1, 0, K_PLAIN, 0, 0, 1, 0);

	/* BOUND: #BR when the index is outside the bounds */
	add_rm("move", "bound r,m", 2, 0, 0x62, -1, 0, K_BOUND, 0, 0, 0, 1);
	add_rm("move", "bound r,m", 4, 0, 0x62, -1, 0, K_BOUND, 0, 0, 0, 1);

	/* flags */
	add_simple("flags", "lahf", 4, 0, 0x9f, 0, K_PLAIN, BIT(R_EAX), 0);
	add_simple("flags", "sahf", 4, 0, 0x9e, 0, K_SAHF, BIT(R_EAX), 0);
	add_simple("flags", "clc", 4, 0, 0xf8, 0, K_PLAIN, 0, 0);
	add_simple("flags", "stc", 4, 0, 0xf9, 0, K_PLAIN, 0, 0);
	add_simple("flags", "cmc", 4, 0, 0xf5, 0, K_PLAIN, 0, 0);
	add_simple("flags", "cld", 4, 0, 0xfc, 0, K_PLAIN, 0, 0);
	add_simple("flags", "std", 4, 0, 0xfd, 0, K_PLAIN, 0, 0);

	/* stack */
	for (int s = 2; s <= 4; s += 2) {
		uint16_t sp = BIT(R_ESP);
		f = add_simple("stack", "push r (50+r)", s, 0, 0x50, 0, K_STACK, sp, 0);
		f->opreg = 0;
		f = add_simple("stack", "pop r (58+r)", s, 0, 0x58, 0, K_STACK, sp, 0);
		f->opreg = 0;
		add_simple("stack", "push imm", s, 0, 0x68, s, K_STACK, sp, 0);
		add_simple("stack", "push simm8", s, 0, 0x6a, 1, K_STACK, sp, 0);
		add_rm("stack", "push rm", s, 0, 0xff, 6, 0, K_STACK, sp, 0, 1, 1);
		add_rm("stack", "pop rm", s, 0, 0x8f, 0, 0, K_STACK, sp, 0, 1, 1);
		add_simple("stack", "pushf", s, 0, 0x9c, 0, K_STACK, sp, 0);
		add_simple("stack", "popf", s, 0, 0x9d, 0, K_POPF, sp, 0);
		add_simple("stack", "pusha", s, 0, 0x60, 0, K_STACK, sp, 0);
		add_simple("stack", "popa", s, 0, 0x61, 0, K_POPA, sp, 0);
		add_simple("stack", "enter", s, 0, 0xc8, 3, K_ENTER, sp | BIT(R_EBP), 0);
		add_simple("stack", "leave", s, 0, 0xc9, 0, K_LEAVE, sp | BIT(R_EBP), 0);
	}

	/* string instructions, DF both ways, with and without REP */
	static const struct { const char *n; uint8_t op; uint8_t reps; uint16_t regs; } str[] = {
		{"movs", 0xa4, 1, BIT(R_ESI) | BIT(R_EDI)}, {"cmps", 0xa6, 2, BIT(R_ESI) | BIT(R_EDI)},
		{"stos", 0xaa, 1, BIT(R_EDI) | BIT(R_EAX)}, {"lods", 0xac, 1, BIT(R_ESI) | BIT(R_EAX)},
		{"scas", 0xae, 2, BIT(R_EDI) | BIT(R_EAX)},
	};
	for (size_t k = 0; k < sizeof(str) / sizeof(str[0]); k++) {
		for (int i = 0; i < 3; i++) {
			int s = sizes[i], w = s == 1 ? 0 : 1;
			for (int rep = 0; rep <= str[k].reps; rep++) {
				char n[40];
				snprintf(n, sizeof(n), "%s%s", rep == 0 ? "" : rep == 1 ? "rep " : "repne ", str[k].n);
				f = add_simple("string", n, s, 0, str[k].op + w, 0, K_STRING, str[k].regs | BIT(R_ECX),
					       0);
				if (rep)
					f->pfx[f->npfx++] = rep == 1 ? 0xf3 : 0xf2;
			}
		}
	}

	/* branches: outcome visible in EBX (a MOV after the branch) */
	for (int cc = 0; cc < 16; cc++) {
		char n[40];
		snprintf(n, sizeof(n), "j%x rel8", cc);
		add_simple("branch", n, 4, 0, 0x70 + cc, 1, K_BRANCH, BIT(R_EBX), 0);
		snprintf(n, sizeof(n), "j%x rel32", cc);
		add_simple("branch", n, 4, 1, 0x80 + cc, 4, K_BRANCH, BIT(R_EBX), 0);
	}
	static const char *const lp[4] = {"loopne", "loope", "loop", "jecxz"};
	for (int k = 0; k < 4; k++) {
		add_simple("branch", lp[k], 4, 0, 0xe0 + k, 1, K_LOOP, BIT(R_EBX) | BIT(R_ECX), 0);
		char n[40];
		snprintf(n, sizeof(n), "%s (cx, 67)", lp[k]);
		f = add_simple("branch", n, 4, 0, 0xe0 + k, 1, K_LOOP, BIT(R_EBX) | BIT(R_ECX), 0);
		f->pfx[f->npfx++] = 0x67;
	}
}

/* ---- building one case ---- */

#define WIN_LO (DIFF_DATA_ADDR + 0x20)
#define STACK_TOP (DIFF_DATA_ADDR + 0x100)

struct emit {
	struct diff_case *c;
	uint32_t n;
};
static void put8(struct emit *e, uint32_t b) { e->c->code[e->n++] = (uint8_t)b; }
static void put(struct emit *e, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		put8(e, v >> (8 * i));
}

static void poke(struct diff_case *c, uint32_t addr, uint32_t v, int size)
{
	uint32_t off = addr - DIFF_DATA_ADDR;
	for (int i = 0; i < size && off + (uint32_t)i < DIFF_DATA_SIZE; i++)
		c->data[off + (uint32_t)i] = (uint8_t)(v >> (8 * i));
}

/* Bytes of the initial data window (0 outside it: the rest of the page). */
static uint32_t peek(const struct diff_case *c, uint32_t addr, int size)
{
	uint32_t v = 0, off = addr - DIFF_DATA_ADDR;
	for (int i = 0; i < size; i++)
		if (off + (uint32_t)i < DIFF_DATA_SIZE)
			v |= (uint32_t)c->data[off + (uint32_t)i] << (8 * i);
	return v;
}

/* The 32-bit register a ModRM.reg field names for this operand size. */
static int reg_of(int field, int size) { return size == 1 ? (field & 3) : field; }

/* A memory operand: ModRM (with mod/rm), SIB, displacement. Returns the
 * address; picks base/index registers outside `avoid` and sets them. */
static uint32_t emit_mem(struct emit *e, int regfield, uint16_t avoid, uint32_t lo, uint32_t hi, uint32_t segbase)
{
	struct diff_case *c = e->c;
	uint32_t addr = lo + rn(hi - lo);
	uint32_t off = addr - segbase; /* what the addressing must produce */
	int mode = (int)rn(10);
	int base = -1, index = -1;
	if (mode >= 4) {
		for (int tries = 0; tries < 8 && base < 0; tries++) {
			int r = (int)rn(8);
			if (!(avoid & BIT(r)))
				base = r;
		}
	}
	if (base < 0 || mode < 4) {
		/* [disp32] */
		put8(e, (uint32_t)(regfield << 3) | 5);
		put(e, off, 4);
		return addr;
	}
	if (mode >= 8) {
		for (int tries = 0; tries < 8 && index < 0; tries++) {
			int r = (int)rn(8);
			if (r != R_ESP && r != base && !(avoid & BIT(r)))
				index = r;
		}
	}
	int32_t disp = (int32_t)rn(256) - 128;
	uint32_t scale = rn(4);
	uint32_t idxval = rn(16);
	uint32_t basev = off - (uint32_t)disp - (index >= 0 ? idxval << scale : 0);
	if (base == R_ESP) {
		/* keep ESP: pick the displacement instead */
		basev = c->r[R_ESP];
		disp = (int32_t)(off - basev - (index >= 0 ? idxval << scale : 0));
	}
	int d8 = disp >= -128 && disp <= 127;
	int mod = d8 ? 1 : 2;
	if (index >= 0 || base == R_ESP) {
		put8(e, (uint32_t)(mod << 6) | (uint32_t)(regfield << 3) | 4);
		put8(e, (scale << 6) | (uint32_t)((index >= 0 ? index : 4) << 3) | (uint32_t)base);
	} else {
		put8(e, (uint32_t)(mod << 6) | (uint32_t)(regfield << 3) | (uint32_t)base);
	}
	put(e, (uint32_t)disp, d8 ? 1 : 4);
	if (index >= 0)
		c->r[index] = idxval;
	c->r[base] = basev;
	return addr;
}

/* A 16-bit-addressing memory operand (0x67) in the FS segment, whose base
 * is the data window: ModRM rm 0-7 = [bx+si] [bx+di] [bp+si] [bp+di] [si]
 * [di] [bp]/disp16 [bx]. The registers' high halves stay random: 16-bit
 * addressing must ignore them. Returns the linear address. */
static uint32_t emit_mem16(struct emit *e, int regfield, uint16_t avoid, uint32_t off)
{
	static const int8_t r1[8] = {R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX};
	static const int8_t r2[8] = {R_ESI, R_EDI, R_ESI, R_EDI, -1, -1, -1, -1};
	struct diff_case *c = e->c;
	int rm = (int)rn(8), mod = (int)rn(3);
	if ((avoid & BIT(r1[rm])) || (r2[rm] >= 0 && (avoid & BIT(r2[rm]))) || chance(15)) {
		put8(e, (uint32_t)(regfield << 3) | 6); /* [disp16] */
		put(e, off, 2);
		return DIFF_DATA_ADDR + (off & 0xffff);
	}
	if (mod == 0 && rm == 6)
		mod = 1;
	uint32_t disp = mod == 0 ? 0 : mod == 1 ? (uint32_t)(int32_t)(int8_t)rn(256) : (uint32_t)rnd();
	uint32_t a = r2[rm] >= 0 ? (uint32_t)rnd() : 0;
	uint32_t b = off - disp - a;
	c->r[r1[rm]] = (c->r[r1[rm]] & 0xffff0000u) | (b & 0xffff);
	if (r2[rm] >= 0)
		c->r[r2[rm]] = (c->r[r2[rm]] & 0xffff0000u) | (a & 0xffff);
	put8(e, (uint32_t)(mod << 6) | (uint32_t)(regfield << 3) | (uint32_t)rm);
	put(e, disp, mod == 1 ? 1 : mod == 2 ? 2 : 0);
	return DIFF_DATA_ADDR + (off & 0xffff);
}

static uint32_t shift_count(int size)
{
	static const uint8_t edges[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 0xff, 0xe1};
	(void)size;
	return chance(70) ? edges[rn(sizeof(edges))] : rn(256);
}

/* Read or write the register a ModRM.rm field (mod 3) names. */
static uint32_t rm_reg_get(const struct diff_case *c, int rm, int size)
{
	if (size == 1)
		return rm < 4 ? c->r[rm] & 0xff : (c->r[rm - 4] >> 8) & 0xff;
	return c->r[rm] & size_mask(size);
}

static void rm_reg_set(struct diff_case *c, int rm, int size, uint32_t v)
{
	if (size == 1) {
		if (rm < 4)
			c->r[rm] = (c->r[rm] & ~0xffu) | (v & 0xff);
		else
			c->r[rm - 4] = (c->r[rm - 4] & ~0xff00u) | ((v & 0xff) << 8);
	} else {
		c->r[rm] = (c->r[rm] & ~size_mask(size)) | (v & size_mask(size));
	}
}

/* Fill the case for form f. */
static void make_case(const struct form *f, struct diff_case *c)
{
	memset(c, 0, sizeof(*c));
	for (int r = 0; r < 8; r++)
		c->r[r] = edge(chance(50) ? 4 : chance(50) ? 2 : 1);
	c->r[R_ESP] = STACK_TOP - (chance(80) ? 0 : 4 * rn(8));
	c->eflags = (uint32_t)rnd() & (FL_ARITH | FL_DF);
	for (uint32_t i = 0; i < DIFF_DATA_SIZE; i += 4)
		poke(c, DIFF_DATA_ADDR + i, edge(4), 4);

	struct emit em = {c, 0};
	struct emit *e = &em;
	/* a segment override now and then: CS (read-only: writes #GP), SS,
	 * DS, ES; all flat */
	/* or FS: a segment based at the data window with the window's size as
	 * its limit (LDT natively), sometimes with 16-bit addressing (0x67),
	 * sometimes beyond the limit (#GP) */
	int fsmode = f->rm == RM_MEM && chance(15);
	int a16 = fsmode && f->kind != K_BTREG && chance(50);
	/* string ops and XLAT in the window segments: source FS, destination
	 * ES (DIFF_ES_WIN), with 16-bit SI/DI/CX half of the time */
	int strwin = (f->kind == K_STRING || f->kind == K_XLAT) && chance(30);
	int stra16 = strwin && chance(50);
	/* 16-bit code now and then: the same instruction with 0x66 and 0x67
	 * toggled, so operand and address sizes stay what they were */
	int code16 = chance(15);
	int addr16 = a16 || stra16;
	if (code16)
		c->flags |= DIFF_CODE16;
	if (strwin) {
		put8(e, 0x64);
		c->flags |= DIFF_ES_WIN;
	} else if (fsmode) {
		put8(e, 0x64);
	} else if ((f->rm == RM_MEM || f->kind == K_STRING || f->kind == K_XLAT || f->imm == 5) && chance(12)) {
		static const uint8_t segp[4] = {0x2e, 0x36, 0x3e, 0x26};
		put8(e, segp[rn(4)]);
	}
	if (chance(4))
		c->flags |= DIFF_RO;
	for (int i = 0; i < f->npfx; i++) {
		if (f->pfx[i] == 0x67)
			addr16 = 1;
		else if (f->pfx[i] != 0x66)
			put8(e, f->pfx[i]);
	}
	if (f->size != 1 && (f->size == 2) != code16)
		put8(e, 0x66);
	if (addr16 != code16)
		put8(e, 0x67);
	if (f->map)
		put8(e, 0x0f);
	uint32_t op = f->op;
	int opr = -1;
	if (f->opreg >= 0) {
		opr = (int)rn(8);
		op += (uint32_t)opr;
	}
	put8(e, op);

	int regfield = f->ext >= 0 ? f->ext : (int)rn(8);
	uint16_t avoid = f->implicit;
	if (f->ext == -1)
		avoid |= (uint16_t)BIT(reg_of(regfield, f->size));
	uint32_t addr = 0;
	int size = f->size;

	/* kind-specific register setup that addressing must not disturb */
	switch (f->kind) {
	case K_SHIFT:
		c->r[R_ECX] = (c->r[R_ECX] & ~0xffu) | shift_count(size);
		break;
	case K_DIV: {
		/* dividend high half small enough to often not overflow */
		if (chance(60))
			c->r[R_EDX] = size == 1 ? c->r[R_EDX] : (size == 2 ? (c->r[R_EDX] & ~0xffffu) | rn(4) : rn(4));
		if (size == 1 && chance(60))
			c->r[R_EAX] = (c->r[R_EAX] & ~0xff00u) | (rn(4) << 8);
		break;
	}
	case K_BCD:
		if (chance(50))
			c->r[R_EAX] = (c->r[R_EAX] & ~0xffu) | rn(256);
		break;
	case K_STRING: {
		int rep = f->npfx && (f->pfx[f->npfx - 1] == 0xf3 || f->pfx[f->npfx - 1] == 0xf2);
		uint32_t so = 0x60 + rn(0x40), dof = 0x140 + rn(0x40);
		if (chance(50))
			c->eflags |= FL_DF;
		uint32_t cnt = chance(10) ? 0 : rn(9);
		if (strwin) {
			/* run into the ES limit, or below offset 0 */
			if (chance(15))
				dof = 0x1f0 + rn(16);
			else if (chance(10)) {
				dof = rn(8);
				c->eflags |= FL_DF;
			}
			uint32_t hs = stra16 ? (uint32_t)rnd() & 0xffff0000u : 0;
			uint32_t hd = stra16 ? (uint32_t)rnd() & 0xffff0000u : 0;
			uint32_t hc = stra16 ? (uint32_t)rnd() & 0xffff0000u : 0;
			c->r[R_ESI] = hs | so;
			c->r[R_EDI] = hd | dof;
			c->r[R_ECX] = rep ? hc | cnt : c->r[R_ECX];
		} else {
			c->r[R_ESI] = DIFF_DATA_ADDR + so;
			c->r[R_EDI] = DIFF_DATA_ADDR + dof;
			c->r[R_ECX] = rep ? cnt : c->r[R_ECX];
		}
		/* make compares and scans run a while */
		if (chance(60)) {
			uint8_t b = (uint8_t)rnd();
			for (int i = -0x40; i < 0x40; i++) {
				uint32_t a1 = so + (uint32_t)i, a2 = dof + (uint32_t)i;
				if (a1 < DIFF_DATA_SIZE)
					c->data[a1] = b;
				if (a2 < DIFF_DATA_SIZE)
					c->data[a2] = b;
			}
			c->r[R_EAX] = (c->r[R_EAX] & ~0xffffu) | (uint32_t)b * 0x101u;
			if (size == 4 && chance(70))
				c->r[R_EAX] = (uint32_t)b * 0x01010101u;
			uint32_t flip = dof + (uint32_t)(int)(rn(24) - 12);
			if (chance(50) && flip < DIFF_DATA_SIZE)
				c->data[flip] ^= 1;
		}
		break;
	}
	case K_LEAVE:
		c->r[R_EBP] = STACK_TOP + 4 * rn(8);
		break;
	case K_ENTER:
		c->r[R_EBP] = STACK_TOP + 4 * rn(16);
		break;
	case K_XLAT:
		if (strwin)
			c->r[R_EBX] = (stra16 ? (uint32_t)rnd() & 0xffff0000u : 0) | rn(0x100);
		else
			c->r[R_EBX] = DIFF_DATA_ADDR + rn(0x100);
		break;
	case K_LOOP: {
		static const uint32_t cx[] = {0, 1, 2, 0x10000, 0x10001, 0xffffffff, 0xffff0000};
		c->r[R_ECX] = chance(70) ? cx[rn(7)] : (uint32_t)rnd();
		break;
	}
	case K_POPF: {
		/* user-mode rules: IF and IOPL are not changed at CPL 3 with
		 * IOPL 0, AC and ID are; TF and NT would trap or change later
		 * code, so they stay clear */
		uint32_t v = ((uint32_t)rnd() & (FL_ARITH | FL_DF | FL_IF | FL_IOPL | FL_AC | FL_ID)) | FL_1;
		poke(c, c->r[R_ESP], v | ((uint32_t)rnd() & 0xffc00000u), size);
		break;
	}
	default:
		break;
	}

	/* ModRM and the memory operand */
	if (f->ext != -2) {
		if (f->rm == RM_REG) {
			put8(e, 0xc0u | (uint32_t)(regfield << 3) | rn(8));
		} else if (f->rm == RM_MEM) {
			uint32_t lo = WIN_LO, hi = DIFF_DATA_ADDR + DIFF_DATA_SIZE - 0x20;
			if (f->kind == K_BTREG) {
				lo = DIFF_DATA_ADDR + 0xc0;
				hi = DIFF_DATA_ADDR + 0x140;
			}
			if (fsmode && chance(10)) { /* at and beyond the FS limit */
				lo = DIFF_DATA_ADDR + DIFF_DATA_SIZE - 8;
				hi = DIFF_DATA_ADDR + DIFF_DATA_SIZE + 8;
			}
			int osz0 = f->kind == K_CMPXCHG8B ? 8 : f->kind == K_BOUND ? 2 * size : size;
			if (!fsmode && f->kind != K_BTREG && chance(8)) {
				/* across the end of the data page: #PF on the guard page
				 * (often enough that every memory form gets some: the
				 * coverage check requires it) */
				lo = DIFF_DATA_ADDR + 4096 - (uint32_t)osz0 + 1;
				hi = DIFF_DATA_ADDR + 4096 + 1;
			}
			if (a16)
				addr = emit_mem16(e, regfield, avoid, lo + rn(hi - lo) - DIFF_DATA_ADDR);
			else
				addr = emit_mem(e, regfield, avoid, lo, hi, fsmode ? DIFF_DATA_ADDR : 0);
			int osz = f->kind == K_CMPXCHG8B ? 8 : size;
			if (osz == 8) {
				poke(c, addr, edge(4), 4);
				poke(c, addr + 4, edge(4), 4);
			} else {
				poke(c, addr, edge(osz), osz);
			}
		}
	}

	/* immediates */
	switch (f->imm) {
	case 1:
		put(e, f->kind == K_SHIFT ? shift_count(size) : (f->kind == K_BRANCH || f->kind == K_LOOP) ? 5u + (uint32_t)code16 : edge(1), 1);
		break;
	case 2: put(e, edge(2), 2); break;
	case 4: put(e, f->kind == K_BRANCH ? 5u + (uint32_t)code16 : edge(4), 4); break;
	case 3: /* ENTER iw, ib */
		put(e, 4 * rn(8) + (chance(10) ? 1 : 0), 2);
		put(e, chance(80) ? rn(4) : chance(50) ? rn(32) : rn(256), 1);
		break;
	case 5: /* moffs32 */
		addr = WIN_LO + rn(0x1c0);
		put(e, addr, 4);
		break;
	default: break;
	}
	if (f->kind == K_AAM) {
		/* patch the immediate: base 10 mostly, 0 (AAM: #DE) sometimes */
		uint32_t b = chance(50) ? 10 : chance(20) ? 0 : rn(256);
		c->code[e->n - 1] = (uint8_t)b;
	}

	/* kind-specific values that depend on the operand */
	switch (f->kind) {
	case K_DIV:
		if (chance(10)) { /* divide by zero */
			if (f->rm == RM_MEM)
				poke(c, addr, 0, size);
			else
				rm_reg_set(c, c->code[e->n - 1] & 7, size, 0);
		}
		break;
	case K_BTREG:
		if (f->rm == RM_MEM) {
			int r = reg_of(regfield, size);
			int32_t off = (int32_t)rn(1024) - 512;
			c->r[r] = size == 2 ? (c->r[r] & 0xffff0000u) | ((uint32_t)off & 0xffff) : (uint32_t)off;
		}
		break;
	case K_BSF:
		if (chance(20)) {
			if (f->rm == RM_MEM)
				poke(c, addr, 0, size);
			else
				rm_reg_set(c, c->code[e->n - 1] & 7, size, 0);
		}
		break;
	case K_CMPXCHG:
		if (chance(50)) {
			uint32_t v;
			if (f->rm == RM_MEM)
				v = peek(c, addr, 4);
			else
				v = rm_reg_get(c, c->code[e->n - 1] & 7, size);
			c->r[R_EAX] = (c->r[R_EAX] & ~size_mask(size)) | (v & size_mask(size));
		}
		break;
	case K_BOUND: {
		/* bounds around the index's value, sometimes just excluding it */
		int r = reg_of(regfield, size);
		int32_t v = size == 2 ? (int16_t)c->r[r] : (int32_t)c->r[r];
		uint32_t lo = (uint32_t)v - rn(3) + (chance(20) ? 2u : 0u);
		uint32_t hi = (uint32_t)v + rn(3) - (chance(20) ? 2u : 0u);
		if (chance(20)) {
			lo = edge(size);
			hi = edge(size);
		}
		poke(c, addr, lo, size);
		poke(c, addr + (uint32_t)size, hi, size);
		break;
	}
	case K_CMPXCHG8B:
		if (chance(50)) {
			c->r[R_EAX] = peek(c, addr, 4);
			c->r[R_EDX] = peek(c, addr + 4, 4);
		}
		break;
	default:
		break;
	}

	if (f->kind == K_BRANCH || f->kind == K_LOOP) {
		if (code16)
			put8(e, 0x66);
		put8(e, 0xbb); /* mov ebx, 0x11111111 when the branch falls through */
		put(e, 0x11111111u, 4);
	}
	c->len = e->n;
}

/* ---- the native runner ---- */

static pid_t runner_pid = -1;
static int to_runner = -1, from_runner = -1;
#define BATCH_MAX 512
static int batch_max = 64;

static int start_runner(const char *path)
{
	int in[2], out[2];
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	runner_pid = fork();
	if (runner_pid < 0)
		return -1;
	if (runner_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_runner = in[1];
	from_runner = out[0];
	signal(SIGPIPE, SIG_IGN);
	/* The runner answers while we are still writing: the answers to a
	 * whole batch must fit in the pipe. */
	int cap = fcntl(from_runner, F_SETPIPE_SZ, 1 << 20);
	if (cap < 0)
		cap = fcntl(from_runner, F_GETPIPE_SZ);
	if (cap > 0)
		batch_max = cap / (int)sizeof(struct diff_result) - 1;
	if (batch_max > BATCH_MAX)
		batch_max = BATCH_MAX;
	if (batch_max < 1)
		batch_max = 1;
	return 0;
}

static int xfer(int fd, void *p, size_t n, int wr)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = wr ? write(fd, (char *)p + done, n - done) : read(fd, (char *)p + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static int run_native(struct diff_case *cs, struct diff_result *rs, int n)
{
	if (xfer(to_runner, cs, sizeof(*cs) * (size_t)n, 1) != 0)
		return -1;
	return xfer(from_runner, rs, sizeof(*rs) * (size_t)n, 0);
}

/* ---- running a case in interp ---- */

/* Vectors that push an error code (SDM Vol. 3, 6.13). */
static int exc_has_err(int v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

/* Paging in the guest: the data and code pages identity-mapped, user
 * read/write (a DIFF_RO case makes the data page read-only); nothing else
 * is present, as nothing else is mapped at those addresses natively. */
#define PD_ADDR 0x00380000u
#define PT_ADDR 0x00381000u

static void setup_paging(struct harness *h)
{
	uint32_t pde = PT_ADDR | 0x7u;
	memcpy(h->ram + PD_ADDR, &pde, 4);
	for (uint32_t i = 0; i < 1024; i++) {
		/* only what the runner maps, so a stray access faults on both
		 * sides: the data page and the code page */
		uint32_t pte = 0;
		if (i == DIFF_DATA_ADDR >> 12 || i == DIFF_CODE_ADDR >> 12)
			pte = (i << 12) | 0x7u;
		memcpy(h->ram + PT_ADDR + i * 4, &pte, 4);
	}
	h->cpu.cr3 = PD_ADDR;
	h->cpu.cr0 |= CR0_PG;
	tlb_flush_all(&h->cpu, 0);
}

#define EFL_CMP (FL_ARITH | FL_DF | FL_IF | FL_IOPL | FL_TF | FL_NT | FL_AC | FL_ID)
#define VEC_NOSTOP (-2)

static void run_interp(struct harness *h, const struct diff_case *c, struct diff_result *res)
{
	struct cpu *cpu = &h->cpu;
	uint8_t code[DIFF_CODE_MAX + 1];
	memcpy(code, c->code, c->len);
	code[c->len] = 0xf4; /* HLT: #GP at CPL 3, which ends the case */
	h_load(h, DIFF_CODE_ADDR, code, c->len + 1);
	h_load(h, DIFF_DATA_ADDR, c->data, DIFF_DATA_SIZE);
	memset(h->ram + DIFF_DATA_ADDR + DIFF_DATA_SIZE, 0, 4096 - DIFF_DATA_SIZE);
	if (c->flags & DIFF_ES_WIN)
		seg_set_cache(&cpu->seg[S_ES], DIFF_FS_SEL, DIFF_DATA_ADDR, DIFF_DATA_SIZE - 1, 0x40f3);
	else
		seg_set_cache(&cpu->seg[S_ES], 0x23, 0, 0xffffffffu, 0xc0f3);
	uint32_t pte = DIFF_DATA_ADDR | ((c->flags & DIFF_RO) ? 0x5u : 0x7u);
	memcpy(h->ram + PT_ADDR + (DIFF_DATA_ADDR >> 12) * 4, &pte, 4);
	tlb_flush_page(cpu, DIFF_DATA_ADDR);
	memcpy(cpu->r, c->r, sizeof(c->r));
	cpu->eflags = (c->eflags & 0x00000ed5u) | 0x202u;
	uint32_t cs_base = (c->flags & DIFF_CODE16) ? DIFF_CODE_ADDR : 0;
	if (c->flags & DIFF_CODE16)
		seg_set_cache(&cpu->seg[S_CS], DIFF_CS16_SEL, DIFF_CODE_ADDR, 0xffff, 0x00fb);
	else
		seg_set_cache(&cpu->seg[S_CS], 0x1b, 0, 0xffffffffu, 0xc0fb);
	cpu_update_mode(cpu);
	cpu->eip = DIFF_CODE_ADDR - cs_base;
	cpu->halted = 0;
	cpu->shutdown = 0;
	cpu->inhibit_irq = 0;
	cpu->first_exc = -1;
	cpu->in_exception = 0;
	caught_vector = -1;
	caught_err = 0;
	cpu->cr2 = 0;
	enum cpu_stop st = h_run(h, 64);
	res->eip = cpu->eip;
	res->err = res->cr2 = 0;
	if (st != CPU_STOP_SHUTDOWN || caught_vector < 0) {
		res->vector = VEC_NOSTOP;
	} else if (cpu->eip == DIFF_CODE_ADDR - cs_base + c->len) {
		res->vector = -1; /* reached the HLT */
	} else {
		res->vector = caught_vector;
		if (exc_has_err(caught_vector))
			res->err = caught_err;
		if (caught_vector == EXC_PF)
			res->cr2 = cpu->cr2;
	}
	memcpy(res->r, cpu->r, sizeof(res->r));
	res->eflags = cpu->eflags;
	cpu_phys_read(cpu, DIFF_DATA_ADDR, res->data, DIFF_DATA_SIZE);
	cpu_phys_read(cpu, DIFF_DATA_ADDR + 4096 - DIFF_TAIL, res->tail, DIFF_TAIL);
	memset(h->ram + DIFF_DATA_ADDR + 4096 - DIFF_TAIL, 0, DIFF_TAIL);
}

/* ---- comparing ---- */

static int host_is_amd;

/* Flags not compared for a form: only SDM-undefined flags, and only where
 * interp cannot show the host's behaviour (docs/difftest.md). interp runs
 * the host's own instruction for everything but BCD, whose undefined flags
 * were measured on AMD: on other hosts they are masked. */
static uint32_t flag_mask(const struct form *f)
{
	if ((f->kind == K_BCD || f->kind == K_AAM) && !host_is_amd)
		return f->undef;
	return 0;
}

static int results_differ(const struct form *f, const struct diff_result *n, const struct diff_result *i)
{
	if (n->vector != i->vector || n->eip != i->eip || n->err != i->err || n->cr2 != i->cr2)
		return 1;
	if (memcmp(n->r, i->r, sizeof(n->r)) != 0)
		return 1;
	uint32_t m = EFL_CMP & ~flag_mask(f);
	if ((n->eflags & m) != (i->eflags & m))
		return 1;
	return memcmp(n->data, i->data, DIFF_DATA_SIZE) != 0 || memcmp(n->tail, i->tail, DIFF_TAIL) != 0;
}

static const char *const rname[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

static void print_regs(const char *tag, const uint32_t *r, uint32_t fl, int vec, uint32_t eip, uint32_t err,
		       uint32_t cr2)
{
	fprintf(stderr, "  %-6s", tag);
	for (int i = 0; i < 8; i++)
		fprintf(stderr, " %s=%08x", rname[i], r[i]);
	fprintf(stderr, " fl=%08x", fl);
	if (vec == VEC_NOSTOP)
		fprintf(stderr, " (did not stop, eip=%08x)", eip);
	else if (vec >= 0)
		fprintf(stderr, " vector %d error %#x cr2 %08x at %08x", vec, err, cr2, eip);
	fprintf(stderr, "\n");
}

static void print_mismatch(const struct form *f, const struct diff_case *c, const struct diff_result *n,
			   const struct diff_result *i)
{
	char dis[128];
	int c16 = (c->flags & DIFF_CODE16) != 0;
	decode_format(c->code, (int)c->len, !c16, c16 ? 0 : DIFF_CODE_ADDR, dis, sizeof(dis));
	fprintf(stderr, "MISMATCH [%s] %s%s: ", f->fam, f->name, c16 ? " (in 16-bit code)" : "");
	for (uint32_t k = 0; k < c->len; k++)
		fprintf(stderr, "%02x ", c->code[k]);
	fprintf(stderr, " %s\n", dis);
	print_regs("in", c->r, (c->eflags & 0xed5u) | 0x202u, -1, 0, 0, 0);
	print_regs("native", n->r, n->eflags, n->vector, n->eip, n->err, n->cr2);
	print_regs("interp", i->r, i->eflags, i->vector, i->eip, i->err, i->cr2);
	fprintf(stderr, "  differ:");
	if (n->vector != i->vector)
		fprintf(stderr, " vector(%d/%d)", n->vector, i->vector);
	if (n->eip != i->eip)
		fprintf(stderr, " eip(%08x/%08x)", n->eip, i->eip);
	if (n->err != i->err)
		fprintf(stderr, " error-code(%#x/%#x)", n->err, i->err);
	if (n->cr2 != i->cr2)
		fprintf(stderr, " cr2(%08x/%08x)", n->cr2, i->cr2);
	for (int k = 0; k < 8; k++)
		if (n->r[k] != i->r[k])
			fprintf(stderr, " %s", rname[k]);
	uint32_t d = (n->eflags ^ i->eflags) & EFL_CMP & ~flag_mask(f);
	static const struct { uint32_t b; const char *n; } fl[] = {
		{FL_CF, "CF"}, {FL_PF, "PF"}, {FL_AF, "AF"}, {FL_ZF, "ZF"}, {FL_SF, "SF"}, {FL_TF, "TF"},
		{FL_IF, "IF"}, {FL_DF, "DF"}, {FL_OF, "OF"}, {FL_IOPL, "IOPL"}, {FL_NT, "NT"}, {FL_AC, "AC"},
		{FL_ID, "ID"},
	};
	for (size_t k = 0; k < sizeof(fl) / sizeof(fl[0]); k++)
		if (d & fl[k].b)
			fprintf(stderr, " %s%s", fl[k].n, (f->undef & fl[k].b) ? "(undefined)" : "");
	for (uint32_t k = 0; k < DIFF_DATA_SIZE; k++) {
		if (n->data[k] != i->data[k]) {
			fprintf(stderr, " mem[%08x]=%02x/%02x", DIFF_DATA_ADDR + k, n->data[k], i->data[k]);
			break;
		}
	}
	for (uint32_t k = 0; k < DIFF_TAIL; k++) {
		if (n->tail[k] != i->tail[k]) {
			fprintf(stderr, " mem[%08x]=%02x/%02x", DIFF_DATA_ADDR + 4096 - DIFF_TAIL + k, n->tail[k],
				i->tail[k]);
			break;
		}
	}
	fprintf(stderr, "\n");
}

/* ---- coverage ---- */

/* What the native runs of a form reached (bits of form_seen[]). */
#define SEEN_CHANGED 1u /* ran to the end and changed a register, flag or memory */
#define SEEN_PF 2u      /* #PF: vector, EIP, error code and CR2 compared */
#define SEEN_GP 4u      /* #GP: vector, EIP and error code compared */
#define SEEN_UD 8u
#define SEEN_DONE 16u   /* ran to the end */
#define SEEN_BR 32u     /* #BR (BOUND) */

static unsigned seen_of(const struct diff_case *c, const struct diff_result *n)
{
	if (n->vector == EXC_PF)
		return SEEN_PF;
	if (n->vector == EXC_GP)
		return SEEN_GP;
	if (n->vector == EXC_UD)
		return SEEN_UD;
	if (n->vector == EXC_BR)
		return SEEN_BR;
	if (n->vector != -1)
		return 0;
	if (memcmp(c->r, n->r, sizeof(c->r)) != 0 || memcmp(c->data, n->data, DIFF_DATA_SIZE) != 0)
		return SEEN_DONE | SEEN_CHANGED;
	return (((c->eflags & 0xed5u) | 0x202u) & EFL_CMP) != (n->eflags & EFL_CMP) ? SEEN_DONE | SEEN_CHANGED
										   : SEEN_DONE;
}

/* What each form must reach, from what it is: a #UD form (its name says
 * so) must give #UD; every other form must run to the end changing state
 * (the NOPs change nothing but EIP: they must run to the end; BOUND must
 * run to the end and raise #BR); a form with a memory operand that can
 * cross the data page's end (not LEA, the NOPs, or BT* with a register
 * bit offset, whose operand stays inside) must fault with #PF there, so
 * its error code and CR2 are compared. */
static unsigned form_needs(const struct form *f)
{
	if (strstr(f->name, "#UD"))
		return SEEN_UD;
	if (!strncmp(f->name, "nop", 3))
		return SEEN_DONE;
	unsigned need = f->kind == K_BOUND ? SEEN_DONE | SEEN_BR : SEEN_DONE | SEEN_CHANGED;
	if (f->rm == RM_MEM && f->kind != K_LEA && f->kind != K_BTREG)
		need |= SEEN_PF;
	return need;
}

/* Prints, per family, how many forms reached each kind; returns how many
 * forms missed something they must reach (each is named on stderr). */
static int check_coverage(const unsigned *seen, const long *ran, const char *only)
{
	int missing = 0;
	for (int k = 0; k < nforms; k++) {
		if (only && !strstr(forms[k].name, only))
			continue;
		unsigned need = form_needs(&forms[k]);
		if (ran[k] == 0 || (seen[k] & need) != need) {
			if (missing++ < 40)
				fprintf(stderr, "  coverage: [%s] %s ran %ld cases, reached %#x, needs %#x "
					"(1 changed, 2 #PF, 4 #GP, 8 #UD, 16 end, 32 #BR)\n",
					forms[k].fam, forms[k].name, ran[k], seen[k], need);
		}
	}
	return missing;
}

/* ---- main ---- */

struct fam_stat {
	const char *fam;
	long cases, bad, forms_bad, changed;
};

/* Did the native run change anything (a register, a flag, memory, or
 * fault)? A family whose cases never change anything tests nothing. */
static int native_changed(const struct diff_case *c, const struct diff_result *n)
{
	if (n->vector != -1 || memcmp(c->r, n->r, sizeof(c->r)) != 0)
		return 1;
	if ((((c->eflags & 0xed5u) | 0x202u) & EFL_CMP) != (n->eflags & EFL_CMP))
		return 1;
	return memcmp(c->data, n->data, DIFF_DATA_SIZE) != 0;
}

static int host_vendor_amd(void)
{
	uint32_t a = 0, b, c, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return b == 0x68747541u; /* "Auth"enticAMD */
}

int main(int argc, char **argv)
{
	(void)argc;
	char path[4096];
	const char *rp = getenv("RINGVM_DIFF_RUNNER");
	if (rp) {
		snprintf(path, sizeof(path), "%s", rp);
	} else {
		/* $BUILD/test/bin/test_diff -> $BUILD/test/diff/runner */
		snprintf(path, sizeof(path), "%s", argv[0]);
		char *slash = strrchr(path, '/');
		if (slash)
			snprintf(slash, sizeof(path) - (size_t)(slash - path), "/../diff/runner");
		else
			snprintf(path, sizeof(path), "../diff/runner");
	}
	if (access(path, X_OK) != 0) {
		printf("skip: no native runner at %s (needs gcc -m32: gcc-multilib)\n", path);
		return 77;
	}
	if (start_runner(path) != 0) {
		printf("skip: cannot start the native runner\n");
		return 77;
	}
	host_is_amd = host_vendor_amd();
	const char *seed = getenv("RINGVM_DIFF_SEED");
	rng_state = seed ? strtoull(seed, NULL, 0) : 0x5eed0001ull;
	const char *only = getenv("RINGVM_DIFF_ONLY");
	const char *vb = getenv("RINGVM_DIFF_VERBOSE");
	int verbose = vb ? atoi(vb) : 8;
	int longmode = getenv("RINGVM_LONG") && atoi(getenv("RINGVM_LONG")) > 0;

	build_forms();
	int active = 0;
	for (int k = 0; k < nforms; k++)
		if (!only || strstr(forms[k].name, only))
			active++;
	if (active == 0) {
		printf("no form matches RINGVM_DIFF_ONLY\n");
		return 1;
	}
	long total_target = longmode ? 3000000 : 200000;
	long per_form = (total_target + active - 1) / active;
	if (per_form < 20)
		per_form = 20;

	static struct harness h;
	h_init(&h, 4 << 20);
	h_flat32(&h, DIFF_CODE_ADDR, STACK_TOP);
	/* CPL 3 in flat segments: user-mode rules (POPF), HLT ends the case */
	seg_set_cache(&h.cpu.seg[S_CS], 0x1b, 0, 0xffffffffu, 0xc0fb);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_set_cache(&h.cpu.seg[s], 0x23, 0, 0xffffffffu, 0xc0f3);
	/* FS: the runner's LDT segment (diffcase.h) */
	seg_set_cache(&h.cpu.seg[S_FS], DIFF_FS_SEL, DIFF_DATA_ADDR, DIFF_DATA_SIZE - 1, 0x40f3);
	cpu_update_mode(&h.cpu);
	setup_paging(&h);

	static struct diff_case cs[BATCH_MAX];
	static struct diff_result nr[BATCH_MAX];
	static int cf[BATCH_MAX];
	static long form_bad[MAXFORMS], form_ran[MAXFORMS];
	static unsigned form_seen[MAXFORMS];
	long fault_cases = 0, err_cases = 0, cr2_cases = 0;
	struct fam_stat fams[16];
	int nfam = 0;
	long total = 0, bad = 0;
	int printed = 0;
	long vec_count[33] = {0};

	int nb = 0;
	for (int k = 0; k <= nforms; k++) {
		const struct form *f = k < nforms ? &forms[k] : NULL;
		long count = f && (!only || strstr(f->name, only)) ? per_form : 0;
		for (long j = 0; j < count || (k == nforms && nb > 0 && j == 0); j++) {
			if (f) {
				make_case(f, &cs[nb]);
				cf[nb++] = k;
			}
			if (nb < batch_max && f)
				continue;
			if (run_native(cs, nr, nb) != 0) {
				int wst = 0;
				close(to_runner);
				waitpid(runner_pid, &wst, 0);
				if (total == 0 && WIFEXITED(wst) && WEXITSTATUS(wst) == 127) {
					printf("skip: cannot execute the 32-bit runner %s\n", path);
					return 77;
				}
				if (total == 0 && WIFEXITED(wst) && WEXITSTATUS(wst) == 3) {
					printf("skip: the native runner cannot set up its address space or LDT here\n");
					return 77;
				}
				fprintf(stderr, "native runner failed (status %#x)\n", wst);
				return 1;
			}
			for (int b = 0; b < nb; b++) {
				const struct form *g = &forms[cf[b]];
				struct diff_result ir;
				run_interp(&h, &cs[b], &ir);
				int fi;
				for (fi = 0; fi < nfam && strcmp(fams[fi].fam, g->fam) != 0; fi++)
					;
				if (fi == nfam)
					fams[nfam++] = (struct fam_stat){g->fam, 0, 0, 0, 0};
				fams[fi].cases++;
				fams[fi].changed += native_changed(&cs[b], &nr[b]);
				total++;
				vec_count[nr[b].vector < 0 ? 32 : nr[b].vector & 31]++;
				form_ran[cf[b]]++;
				form_seen[cf[b]] |= seen_of(&cs[b], &nr[b]);
				if (nr[b].vector >= 0) {
					fault_cases++;
					err_cases += exc_has_err(nr[b].vector);
					cr2_cases += nr[b].vector == EXC_PF;
				}
				if (results_differ(g, &nr[b], &ir)) {
					bad++;
					fams[fi].bad++;
					if (form_bad[cf[b]]++ == 0)
						fams[fi].forms_bad++;
					if (printed < verbose) {
						print_mismatch(g, &cs[b], &nr[b], &ir);
						printed++;
					}
				}
			}
			nb = 0;
			if (!f)
				break;
		}
	}

	close(to_runner);
	int st;
	waitpid(runner_pid, &st, 0);

	/* forms with mismatches, most first is not needed: table order */
	int listed = 0;
	for (int k = 0; k < nforms; k++) {
		if (!form_bad[k])
			continue;
		if (listed++ < 60)
			fprintf(stderr, "  mismatching form: [%s] %s: %ld of %ld\n", forms[k].fam, forms[k].name,
				form_bad[k], per_form);
	}
	if (listed > 60)
		fprintf(stderr, "  ... and %d more forms\n", listed - 60);
	for (int fi = 0; fi < nfam; fi++)
		printf("%-8s %8ld cases (%3ld%% changed state) %7ld mismatches (%ld forms)\n", fams[fi].fam,
		       fams[fi].cases, fams[fi].changed * 100 / fams[fi].cases, fams[fi].bad, fams[fi].forms_bad);
	printf("native outcomes: %ld completed", vec_count[32]);
	for (int v = 0; v < 32; v++)
		if (vec_count[v])
			printf(", %ld vector %d", vec_count[v], v);
	printf("\n");
	printf("faults compared: %ld (vector and EIP), %ld with their error code, %ld #PF with CR2\n", fault_cases,
	       err_cases, cr2_cases);
	int uncovered = check_coverage(form_seen, form_ran, only);
	printf("diff: %d forms, %ld cases, %ld mismatches, %d forms short of their coverage (seed %#llx%s)\n",
	       active, total, bad, uncovered, (unsigned long long)(seed ? strtoull(seed, NULL, 0) : 0x5eed0001ull),
	       longmode ? ", long" : "");
	h_free(&h);
	return bad || uncovered ? 1 : 0;
}
