/* The randomized block test: generated sequences of 5-40 user-mode
 * instructions (tests/blocks_gen.h) run natively by a 32-bit runner
 * (tests/diff/block_runner.c) and in the engine named by $RINGVM_ENGINE,
 * then compared: EAX..EDI, EFLAGS, where the sequence stopped (its end, or
 * the faulting instruction with vector, error code and CR2), the data and
 * stack buffers, and the pages around them. This is the test a binary
 * translator must pass: one sequence is one or a few blocks, with flags
 * produced and consumed across instructions, branches inside, and faults
 * that must be precise.
 *
 * The guest runs at CPL 3 with the same addresses as the runner
 * (identity-mapped pages; in 20% of sequences paging is off), and a fault
 * is delivered through a real IDT to a ring-0 stub that halts, so the
 * engine's own delivery path is what reports it. The sequence ends in HLT,
 * a #GP at CPL 3 at the sequence's end.
 *
 *   RINGVM_SEED=n          another seed (printed; the default is fixed)
 *   RINGVM_BLOCK_SEQ=i     run only sequence i of that seed, and print it
 *   RINGVM_BLOCK_COUNT=n   number of sequences (default 100,000; RINGVM_LONG=1: 3,000,000)
 *   RINGVM_BLOCK_VERBOSE=n print the first n mismatches in full (default 5)
 *
 * docs/difftest.md ("The block test") describes it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blocks_gen.h"
#include "cpu/block.h"
#include "test_protect_util.h"

#define PD_ADDR 0x00180000u
#define PT_ADDR 0x00181000u
#define RING0_TOP 0x80000u /* ring_stack[0] */
#define EFL_CMP (FL_ARITH | FL_DF | FL_IF | FL_IOPL | FL_TF | FL_NT | FL_AC | FL_ID)
#define VEC_NOSTOP (-2)

static uint8_t ro_want[4096], zero_page[4096];

/* ---- the native runner (a pipe each way, batches that fit in them) ---- */

struct runner {
	pid_t pid;
	int to, from;
	int batch;
};

static int runner_start(struct runner *rn_, const char *path)
{
	int in[2], out[2];
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	rn_->pid = fork();
	if (rn_->pid < 0)
		return -1;
	if (rn_->pid == 0) {
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
	rn_->to = in[1];
	rn_->from = out[0];
	signal(SIGPIPE, SIG_IGN);
	/* the runner answers while we write: a batch's answers must fit */
	int cap = fcntl(rn_->from, F_SETPIPE_SZ, 1 << 20);
	if (cap < 0)
		cap = fcntl(rn_->from, F_GETPIPE_SZ);
	rn_->batch = cap > 0 ? cap / (int)sizeof(struct blk_result) - 1 : 1;
	if (rn_->batch > 256)
		rn_->batch = 256;
	if (rn_->batch < 1)
		rn_->batch = 1;
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

/* ---- the guest side ---- */

static void guest_setup(void)
{
	h_init(&H, 4 << 20);
	pm_setup();
	/* stubs that only halt (IF is 0 in an interrupt gate): the registers
	 * stay as the fault left them, the frame is on the ring-0 stack */
	for (int v = 0; v < 32; v++)
		H.ram[STUBS + 16 * (uint32_t)v] = 0xf4;
	set_idt(EXC_BP, mkgate(K_CS, STUBS + 16 * EXC_BP, 0xe, 3, 1, 0)); /* INT3 from CPL 3 */
	/* page tables: the first MiB (tables, stubs, ring-0 stack) for the
	 * supervisor, the blockcase.h pages for the user, nothing else */
	uint32_t pde = PT_ADDR | 7;
	memcpy(H.ram + PD_ADDR, &pde, 4);
	for (uint32_t i = 0; i < 256; i++)
		wr32(PT_ADDR + 4 * i, (i << 12) | 3);
	wr32(PT_ADDR + 4 * (BLK_DATA_PAGE >> 12), BLK_DATA_PAGE | 7);
	wr32(PT_ADDR + 4 * (BLK_RO_PAGE >> 12), BLK_RO_PAGE | 5);
	wr32(PT_ADDR + 4 * (BLK_STACK_PAGE >> 12), BLK_STACK_PAGE | 7);
	for (uint32_t p = 0; p < BLK_CODE_PAGES; p++)
		wr32(PT_ADDR + 4 * ((BLK_CODE_ADDR >> 12) + p), (BLK_CODE_ADDR + 4096 * p) | 7);
	H.cpu.cr3 = PD_ADDR;
	for (uint32_t i = 0; i < 4096; i++)
		ro_want[i] = blk_ro_byte(i);
	h_load(&H, BLK_RO_PAGE, ro_want, 4096);
}

static void guest_paging(int on)
{
	uint32_t cr0 = on ? H.cpu.cr0 | CR0_PG : H.cpu.cr0 & ~CR0_PG;
	if (cr0 != H.cpu.cr0) {
		H.cpu.cr0 = cr0;
		tlb_flush_all(&H.cpu, 0);
	}
}

static void run_guest(const struct blk_case *c, struct blk_result *res)
{
	struct cpu *cpu = &H.cpu;
	static const uint8_t hlt = 0xf4;
	memset(res, 0, sizeof(*res));
	res->seq = c->seq;
	h_load(&H, c->code_addr, c->code, c->len);
	h_load(&H, c->code_addr + c->len, &hlt, 1);
	h_load(&H, BLK_DATA_ADDR, c->data, BLK_DATA_SIZE);
	h_load(&H, BLK_STACK_ADDR, c->stack, BLK_STACK_SIZE);
	guest_paging(!(c->flags & BLK_NOPAGING));
	pm_ring(3, c->code_addr, c->r[R_ESP]);
	memcpy(cpu->r, c->r, sizeof(cpu->r));
	cpu->eflags = (c->eflags & 0xcd5u) | 0x202u;
	cpu->halted = 0;
	cpu->shutdown = 0;
	cpu->inhibit_irq = 0;
	if (H.eng->ops->sync_in)
		H.eng->ops->sync_in(H.eng);
	enum cpu_stop st = h_run(&H, 4096);
	if (H.eng->ops->sync_out)
		H.eng->ops->sync_out(H.eng);

	memcpy(res->r, cpu->r, sizeof(res->r));
	res->eflags = cpu->eflags;
	res->eip = cpu->eip;
	res->vector = VEC_NOSTOP;
	uint32_t stub = cpu->eip - 1 - STUBS, fsz = RING0_TOP - cpu->r[R_ESP];
	if (st == CPU_STOP_HALT && cpu->cpl == 0 && stub < 32 * 16 && stub % 16 == 0 && (fsz == 20 || fsz == 24)) {
		uint32_t f = cpu->r[R_ESP];
		res->vector = (int)(stub / 16);
		if (fsz == 24) {
			res->err = rd32(f);
			f += 4;
		}
		res->eip = rd32(f);
		res->eflags = rd32(f + 8);
		res->r[R_ESP] = rd32(f + 12);
		if (rd16(f + 4) != U_CS || rd16(f + 16) != U_DS)
			res->vector = VEC_NOSTOP; /* not a fault of the sequence */
		if (res->vector == EXC_PF)
			res->cr2 = cpu->cr2;
		if (res->vector == EXC_GP && res->err == 0 && res->eip == c->code_addr + c->len)
			res->vector = -1; /* the HLT at the end */
	}
	cpu_phys_read(cpu, BLK_DATA_ADDR, res->data, BLK_DATA_SIZE);
	cpu_phys_read(cpu, BLK_STACK_ADDR, res->stack, BLK_STACK_SIZE);
	uint8_t *dp = H.ram + BLK_DATA_PAGE, *sp = H.ram + BLK_STACK_PAGE;
	res->stray = blk_stray(dp, H.ram + BLK_RO_PAGE, ro_want, sp, zero_page);
	if (res->stray) {
		h_load(&H, BLK_DATA_PAGE, zero_page, BLK_DATA_ADDR - BLK_DATA_PAGE);
		h_load(&H, BLK_STACK_PAGE, zero_page, BLK_STACK_ADDR - BLK_STACK_PAGE);
		h_load(&H, BLK_RO_PAGE, ro_want, 4096);
	}
}

/* ---- comparing and reporting ---- */

static int has_error_code(int v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

static int differ(const struct blk_result *n, const struct blk_result *e)
{
	if (n->vector != e->vector || n->eip != e->eip || memcmp(n->r, e->r, sizeof(n->r)) != 0)
		return 1;
	if ((n->eflags ^ e->eflags) & EFL_CMP)
		return 1;
	if (has_error_code(n->vector) && n->err != e->err)
		return 1;
	if (n->vector == EXC_PF && n->cr2 != e->cr2)
		return 1;
	return n->stray != e->stray || memcmp(n->data, e->data, BLK_DATA_SIZE) != 0 ||
	       memcmp(n->stack, e->stack, BLK_STACK_SIZE) != 0;
}

static const char *const rname[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

static void print_state(const char *tag, const uint32_t *r, uint32_t fl, const struct blk_result *res)
{
	fprintf(stderr, "  %-7s", tag);
	for (int i = 0; i < 8; i++)
		fprintf(stderr, " %s=%08x", rname[i], r[i]);
	fprintf(stderr, " fl=%08x", fl);
	if (res && res->vector == VEC_NOSTOP)
		fprintf(stderr, " (did not stop in a fault stub: eip=%08x)", res->eip);
	else if (res && res->vector >= 0)
		fprintf(stderr, " vector %d at %08x err %#x cr2 %08x", res->vector, res->eip, res->err, res->cr2);
	else if (res)
		fprintf(stderr, " ran to the end (%08x)", res->eip);
	if (res && res->stray)
		fprintf(stderr, " stray %08x", res->stray);
	fprintf(stderr, "\n");
}

static void print_code(const struct gen *g, const struct blk_case *c, uint32_t stop)
{
	int n = g->nins < (int)(sizeof(g->ins) / sizeof(g->ins[0])) ? g->nins : (int)(sizeof(g->ins) / sizeof(g->ins[0]));
	for (int i = 0; i < n; i++) {
		uint32_t off = g->ins[i].off, end = i + 1 < n ? g->ins[i + 1].off : c->len;
		char dis[96], hex[48] = "";
		decode_format(c->code + off, (int)(c->len - off), 1, c->code_addr + off, dis, sizeof(dis));
		for (uint32_t k = off; k < end && k < off + 14; k++)
			snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%02x ", c->code[k]);
		fprintf(stderr, "  %c%c %08x  %-42s %s\n", c->code_addr + off == stop ? '>' : ' ',
			g->ins[i].shadow ? '?' : ' ', c->code_addr + off, hex, dis);
	}
	fprintf(stderr, "     %08x  (end)\n", c->code_addr + c->len);
}

static void print_mismatch(const struct gen *g, const struct blk_case *c, const struct blk_result *n,
			   const struct blk_result *e, uint64_t seed)
{
	fprintf(stderr, "MISMATCH sequence %u (RINGVM_SEED=%#llx RINGVM_BLOCK_SEQ=%u), paging %s, planned fault: %s",
		c->seq, (unsigned long long)seed, c->seq, (c->flags & BLK_NOPAGING) ? "off" : "on",
		fault_name[g->fault_done ? g->fault_kind : F_NONE]);
	if (g->fault_done)
		fprintf(stderr, " at %08x", g->base + g->fault_off);
	fprintf(stderr, "\n  ('>' where the native run stopped, '?' a branch may skip it)\n");
	print_code(g, c, n->vector == EXC_BP ? n->eip - 1 : n->eip);
	print_state("in", c->r, (c->eflags & 0xcd5u) | 0x202u, NULL);
	print_state("native", n->r, n->eflags, n);
	print_state("engine", e->r, e->eflags, e);
	fprintf(stderr, "  differ:");
	if (n->vector != e->vector || n->eip != e->eip)
		fprintf(stderr, " stop");
	for (int k = 0; k < 8; k++)
		if (n->r[k] != e->r[k])
			fprintf(stderr, " %s", rname[k]);
	static const struct { uint32_t b; const char *n; } fl[] = {
		{FL_CF, "CF"}, {FL_PF, "PF"}, {FL_AF, "AF"}, {FL_ZF, "ZF"}, {FL_SF, "SF"}, {FL_TF, "TF"}, {FL_IF, "IF"},
		{FL_DF, "DF"}, {FL_OF, "OF"}, {FL_IOPL, "IOPL"}, {FL_NT, "NT"}, {FL_AC, "AC"}, {FL_ID, "ID"},
	};
	for (size_t k = 0; k < sizeof(fl) / sizeof(fl[0]); k++)
		if ((n->eflags ^ e->eflags) & EFL_CMP & fl[k].b)
			fprintf(stderr, " %s", fl[k].n);
	if (has_error_code(n->vector) && n->err != e->err)
		fprintf(stderr, " error-code");
	if (n->vector == EXC_PF && n->cr2 != e->cr2)
		fprintf(stderr, " cr2");
	if (n->stray != e->stray)
		fprintf(stderr, " memory-outside-the-buffers");
	int shown = 0;
	for (uint32_t k = 0; k < BLK_DATA_SIZE && shown < 8; k++)
		if (n->data[k] != e->data[k] && ++shown)
			fprintf(stderr, " [%08x]=%02x/%02x", BLK_DATA_ADDR + k, n->data[k], e->data[k]);
	for (uint32_t k = 0; k < BLK_STACK_SIZE && shown < 8; k++)
		if (n->stack[k] != e->stack[k] && ++shown)
			fprintf(stderr, " [%08x]=%02x/%02x", BLK_STACK_ADDR + k, n->stack[k], e->stack[k]);
	fprintf(stderr, "\n");
}

/* ---- coverage: what ran and what faulted, read from the native run ---- */

struct coverage {
	long ran[T_NTAGS], faulted[F_NKINDS], planned[F_NKINDS];
	long nopaging, straddle, gen_errors;
};

/* Where the native run stopped: an instruction before it that no branch
 * could skip surely ran. */
static uint32_t stop_of(const struct blk_result *n)
{
	return n->vector == EXC_BP ? n->eip - 1 : n->eip;
}

static int account(struct coverage *cv, const struct gen *g, const struct blk_case *c, const struct blk_result *n)
{
	uint32_t stop = stop_of(n);
	int ni = g->nins < (int)(sizeof(g->ins) / sizeof(g->ins[0])) ? g->nins : (int)(sizeof(g->ins) / sizeof(g->ins[0]));
	for (int i = 0; i < ni; i++) {
		const struct gen_ins *in = &g->ins[i];
		if (in->shadow || in->nocount || c->code_addr + in->off >= stop)
			continue;
		for (int t = 0; t < T_NTAGS; t++)
			if (in->tags & TG(t))
				cv->ran[t]++;
	}
	if (c->flags & BLK_NOPAGING)
		cv->nopaging++;
	if (c->code_addr < BLK_CODE_ADDR + 4096 && stop > BLK_CODE_ADDR + 4096)
		cv->straddle++;
	if (g->fault_done)
		cv->planned[g->fault_kind]++;
	int expected = g->fault_done && n->vector == fault_vector[g->fault_kind] && stop == g->base + g->fault_off;
	if (expected)
		cv->faulted[g->fault_kind]++;
	/* any other native fault means the generator broke its rules */
	if (g->bad || (n->vector >= 0 && !expected)) {
		cv->gen_errors++;
		return 1;
	}
	return 0;
}

static int coverage_holes(const struct coverage *cv)
{
	int holes = 0;
	for (int t = 0; t < T_NTAGS; t++)
		if (!cv->ran[t] && ++holes)
			fprintf(stderr, "coverage: no \"%s\" instruction ran\n", tag_name[t]);
	for (int k = 1; k < F_NKINDS; k++)
		if (!cv->faulted[k] && ++holes)
			fprintf(stderr, "coverage: no sequence faulted with %s\n", fault_name[k]);
	if (!cv->nopaging && ++holes)
		fprintf(stderr, "coverage: no sequence ran with paging off\n");
	if (!cv->straddle && ++holes)
		fprintf(stderr, "coverage: no sequence ran across the code page boundary\n");
	return holes;
}

/* ---- main ---- */

/* Each sequence has its own generator state, so RINGVM_BLOCK_SEQ=i
 * rebuilds sequence i alone. */
static uint64_t seq_seed(uint64_t seed, uint32_t i)
{
	gen_rng = seed ^ ((uint64_t)i << 32 | i);
	return rnd() ^ rnd();
}

static const char *runner_path(const char *argv0, char *buf, size_t len)
{
	/* $BUILD/test/bin/test_blocks -> $BUILD/test/diff/block_runner */
	snprintf(buf, len, "%s", argv0);
	char *slash = strrchr(buf, '/');
	if (slash)
		snprintf(slash, len - (size_t)(slash - buf), "/../diff/block_runner");
	else
		snprintf(buf, len, "../diff/block_runner");
	return buf;
}

int main(int argc, char **argv)
{
	(void)argc;
	char pbuf[4096];
	const char *path = runner_path(argv[0], pbuf, sizeof(pbuf));
	if (access(path, X_OK) != 0) {
		printf("skip: no native runner at %s (needs gcc -m32: gcc-multilib)\n", path);
		return 77;
	}
	struct runner run;
	if (runner_start(&run, path) != 0) {
		printf("skip: cannot start the native runner\n");
		return 77;
	}
	const char *s = getenv("RINGVM_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0xb10c5eedull;
	const char *e = getenv("RINGVM_LONG");
	long count = e && atoi(e) > 0 ? 3000000 : 100000;
	if ((e = getenv("RINGVM_BLOCK_COUNT")))
		count = atol(e);
	long only = (e = getenv("RINGVM_BLOCK_SEQ")) ? atol(e) : -1;
	int verbose = (e = getenv("RINGVM_BLOCK_VERBOSE")) ? atoi(e) : 5;
	if (only >= 0)
		count = 1;
	printf("block test: %ld sequences, seed %#llx, engine %s\n", count, (unsigned long long)seed,
	       getenv(ENGINE_ENV) ? getenv(ENGINE_ENV) : "interp");
	fflush(stdout);

	guest_setup();
	static struct blk_case cs[256];
	static struct blk_result nr[256];
	static struct gen gs[256];
	static struct coverage cv;
	long done = 0, bad = 0;
	int printed = 0, gen_printed = 0;
	while (done < count) {
		int nb = (int)(count - done < run.batch ? count - done : run.batch);
		for (int i = 0; i < nb; i++) {
			uint32_t seq = (uint32_t)(only >= 0 ? only : done + i);
			gen_rng = seq_seed(seed, seq);
			gen_sequence(&gs[i], &cs[i], seq);
		}
		if (xfer(run.to, cs, sizeof(cs[0]) * (size_t)nb, 1) != 0 ||
		    xfer(run.from, nr, sizeof(nr[0]) * (size_t)nb, 0) != 0) {
			int wst = 0;
			close(run.to);
			waitpid(run.pid, &wst, 0);
			if (done == 0 && WIFEXITED(wst) && (WEXITSTATUS(wst) == 127 || WEXITSTATUS(wst) == 3)) {
				printf("skip: the native runner cannot run here (status %d)\n", WEXITSTATUS(wst));
				return 77;
			}
			fprintf(stderr, "native runner failed (status %#x)\n", wst);
			return 1;
		}
		for (int i = 0; i < nb; i++) {
			struct blk_result er;
			run_guest(&cs[i], &er);
			if (account(&cv, &gs[i], &cs[i], &nr[i]) && gen_printed++ < 3) {
				fprintf(stderr, "GENERATOR ERROR (an unplanned native fault or a broken rule):\n");
				print_mismatch(&gs[i], &cs[i], &nr[i], &er, seed);
			}
			int d = differ(&nr[i], &er);
			bad += d;
			if ((d && printed++ < verbose) || only >= 0)
				print_mismatch(&gs[i], &cs[i], &nr[i], &er, seed);
		}
		done += nb;
	}
	close(run.to);
	int wst;
	waitpid(run.pid, &wst, 0);

	int holes = only >= 0 ? 0 : coverage_holes(&cv);
	printf("faults (planned/as planned natively):");
	for (int k = 1; k < F_NKINDS; k++)
		printf(" %s %ld/%ld;", fault_name[k], cv.planned[k], cv.faulted[k]);
	printf("\npaging off: %ld; across the code page boundary: %ld; generator errors: %ld\n", cv.nopaging,
	       cv.straddle, cv.gen_errors);
	printf("%ld sequences, %ld mismatches (seed %#llx)\n", done, bad, (unsigned long long)seed);
	h_free(&H);
	return bad || holes || cv.gen_errors || failures ? 1 : 0;
}
