/* The conformance suite: every protection rule ringos can provoke, one
 * numbered line per check, then "N passed, M failed" and debug-exit. */
#include "conf.h"

struct frame in;
static int n_pass, n_fail, n_skip;
extern const char *vec_name(int v);
extern u32 probe_vec;

void prep(int ring, const void *snip) { probe_frame(&in, ring, (u32)snip); }
int go(void) { return probe_exec(&in); }
int probe_vec_is(int v) { return (int)probe_vec == v; }

static int has_err(int v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

static void fmt_exc(char *b, u32 n, int vec, int err)
{
	if (has_err(vec) && err == 0)
		ksnprintf(b, n, "%s(0)", vec_name(vec));
	else if (has_err(vec) && err != NOERR)
		ksnprintf(b, n, "%s(0x%x)", vec_name(vec), (u32)err);
	else
		ksnprintf(b, n, "%s", vec_name(vec));
}

static int result(const char *name, int ok, const char *want, const char *got)
{
	int no = n_pass + n_fail + n_skip + 1;
	if (ok) {
		n_pass++;
		kprintf("ok %d %s\n", no, name);
	} else {
		n_fail++;
		kprintf("FAIL %d %s: expected %s, got %s\n", no, name, want, got);
	}
	return ok;
}

int check(const char *name, int ok, u32 want, u32 got)
{
	char w[16], g[16];
	ksnprintf(w, sizeof w, "0x%x", want);
	ksnprintf(g, sizeof g, "0x%x", got);
	return result(name, ok, w, g);
}

int expect(const char *name, int vec, int err, u32 eip)
{
	char w[48], g[80];
	int gv = (int)probe_vec;
	int ok = gv == vec;
	if (ok && has_err(vec) && err != NOERR && (int)probe_out.f.err != err)
		ok = 0;
	if (ok && eip != ANYEIP && probe_out.f.eip != eip)
		ok = 0;
	fmt_exc(w, sizeof w, vec, err);
	fmt_exc(g, sizeof g, gv, (int)probe_out.f.err);
	if (eip != ANYEIP) {
		u32 l = strlen(w);
		ksnprintf(w + l, sizeof w - l, " at %x", eip);
		l = strlen(g);
		ksnprintf(g + l, sizeof g - l, " at %x", probe_out.f.eip);
	}
	return result(name, ok, w, g);
}

int expect_pf(const char *name, int err, u32 cr2, u32 eip)
{
	char w[48], g[80];
	int gv = (int)probe_vec;
	int ok = gv == 14 && (int)probe_out.f.err == err && probe_out.cr2 == cr2 &&
		 (eip == ANYEIP || probe_out.f.eip == eip);
	ksnprintf(w, sizeof w, "#PF(0x%x) CR2=%x", (u32)err, cr2);
	if (gv == 14)
		ksnprintf(g, sizeof g, "#PF(0x%x) CR2=%x at %x", probe_out.f.err, probe_out.cr2,
			  probe_out.f.eip);
	else
		fmt_exc(g, sizeof g, gv, (int)probe_out.f.err);
	return result(name, ok, w, g);
}

/* A family of checks this processor model cannot run is one named,
 * numbered result, so a skip is counted and seen, never silent: the host
 * test decides which skips the CPU model in use may have. */
void conf_skip(const char *name, const char *why)
{
	n_skip++;
	kprintf("SKIP %d %s: %s\n", n_pass + n_fail + n_skip, name, why);
}

/* The model the counts belong to: the host test knows how many checks
 * each model runs. */
static void print_model(void)
{
	u32 a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	kprintf("cpu: CPUID.1 EAX=0x%x EDX=0x%x\n", a, d);
}

void conformance(void)
{
	kprintf("ringos conformance: protection checks at CPL 0-3 (SDM Vol. 3)\n");
	print_model();
	conf_priv();
	conf_seg();
	conf_gates();
	conf_io();
	conf_paging();
	conf_tasks();
	conf_exc();
	conf_precise();
	conf_v86();
	conf_pae();
	conf_nmi();
	conf_sens();
	kprintf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	debug_exit(n_fail ? 1 : 0); /* skips: the host test decides */
}
