/* The native side of the randomized block test (built with gcc -m32):
 * reads struct blk_case records on stdin, runs each instruction sequence
 * natively in this 32-bit process, and writes a struct blk_result per case
 * on stdout. docs/difftest.md ("The block test") describes the method.
 *
 * The pages of blockcase.h are mapped at their fixed addresses; the
 * absent ones are PROT_NONE mappings, so nothing else lands there and
 * every access to them faults. A sequence runs between an assembly
 * prologue that loads EAX..EDI, ESP and EFLAGS and an epilogue (reached by
 * a jmp appended to the sequence) that saves them. A fault arrives as a
 * signal on an alternate stack (the sequence's ESP points into the stack
 * buffer, which must not be overwritten); the handler takes the trap
 * number, error code, CR2 and registers from the signal context and
 * leaves with siglongjmp.
 *
 * Exit status: 0 at the end of input, 2 on a protocol error, 3 when this
 * host cannot provide the fixed mappings. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "blockcase.h"

#if !defined(__i386__)
#error "the block runner must be built with -m32"
#endif

/* Shared with the assembly below. */
uint32_t blk_in[9];  /* EAX..EDI, EFLAGS */
uint32_t blk_out[9];
uint32_t blk_host_esp;
uint32_t blk_entry;
void blk_enter(void);
void blk_done(void);

__asm__(".text\n"
	".globl blk_enter\n"
	"blk_enter:\n"
	"	pushal\n"
	"	movl %esp, blk_host_esp\n"
	"	pushl blk_in+32\n"
	"	popfl\n"
	"	movl blk_in+0, %eax\n"
	"	movl blk_in+4, %ecx\n"
	"	movl blk_in+8, %edx\n"
	"	movl blk_in+12, %ebx\n"
	"	movl blk_in+16, %esp\n"
	"	movl blk_in+20, %ebp\n"
	"	movl blk_in+24, %esi\n"
	"	movl blk_in+28, %edi\n"
	"	jmp *blk_entry\n"
	".globl blk_done\n"
	"blk_done:\n"
	"	movl %eax, blk_out+0\n"
	"	movl %ecx, blk_out+4\n"
	"	movl %edx, blk_out+8\n"
	"	movl %ebx, blk_out+12\n"
	"	movl %esp, blk_out+16\n"
	"	movl %ebp, blk_out+20\n"
	"	movl %esi, blk_out+24\n"
	"	movl %edi, blk_out+28\n"
	"	movl blk_host_esp, %esp\n"
	"	pushfl\n"
	"	popl blk_out+32\n"
	"	pushl $0x202\n" /* DF=0 again for the C code */
	"	popfl\n"
	"	popal\n"
	"	ret\n");

static sigjmp_buf blk_jb;
static volatile int fault_vec;
static volatile uint32_t fault_eip, fault_err, fault_cr2;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	(void)si;
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	static const int regs[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI};
	for (int i = 0; i < 8; i++)
		blk_out[i] = (uint32_t)g[regs[i]];
	blk_out[8] = (uint32_t)g[REG_EFL];
	fault_eip = (uint32_t)g[REG_EIP];
	fault_err = (uint32_t)g[REG_ERR];
	fault_cr2 = (uint32_t)uc->uc_mcontext.cr2;
	int v = (int)g[REG_TRAPNO];
	if (v == 0 && sig != SIGFPE) /* the kernel left no trap number */
		v = sig == SIGILL ? 6 : sig == SIGTRAP ? 1 : 13;
	fault_vec = v;
	siglongjmp(blk_jb, 1);
}

static int io_full(int fd, void *p, size_t n, int wr)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = wr ? write(fd, (char *)p + done, n - done) : read(fd, (char *)p + done, n - done);
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static int map_at(uint32_t addr, uint32_t len, int prot)
{
	void *p = mmap((void *)(uintptr_t)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	return p == (void *)(uintptr_t)addr ? 0 : -1;
}

int main(void)
{
	int bad = map_at(BLK_DATA_PAGE, 4096, PROT_READ | PROT_WRITE);
	bad |= map_at(BLK_RO_PAGE, 4096, PROT_READ | PROT_WRITE);
	bad |= map_at(BLK_STACK_PAGE, 4096, PROT_READ | PROT_WRITE);
	bad |= map_at(BLK_CODE_ADDR, 4096 * BLK_CODE_PAGES, PROT_READ | PROT_WRITE | PROT_EXEC);
	for (size_t i = 0; i < sizeof(blk_guard_pages) / sizeof(blk_guard_pages[0]); i++)
		bad |= map_at(blk_guard_pages[i], 4096, PROT_NONE);
	if (bad) {
		fprintf(stderr, "block_runner: cannot map the fixed pages\n");
		return 3;
	}
	uint8_t *data_page = (uint8_t *)(uintptr_t)BLK_DATA_PAGE;
	uint8_t *ro_page = (uint8_t *)(uintptr_t)BLK_RO_PAGE;
	uint8_t *stack_page = (uint8_t *)(uintptr_t)BLK_STACK_PAGE;
	uint8_t *code = (uint8_t *)(uintptr_t)BLK_CODE_ADDR;
	static uint8_t ro_want[4096], zero[4096];
	for (uint32_t i = 0; i < 4096; i++)
		ro_want[i] = blk_ro_byte(i);
	memcpy(ro_page, ro_want, 4096);
	mprotect(ro_page, 4096, PROT_READ);

	static uint8_t altstack[1 << 16];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	if (sigaltstack(&ss, NULL) != 0) {
		perror("block_runner: sigaltstack");
		return 3;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	const int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);

	static struct blk_case c;
	static struct blk_result res;
	while (io_full(0, &c, sizeof(c), 0) == 0) {
		uint32_t off = c.code_addr - BLK_CODE_ADDR;
		if (c.len > BLK_CODE_MAX || off > 4096 * BLK_CODE_PAGES ||
		    off + c.len + BLK_CODE_TAIL > 4096 * BLK_CODE_PAGES)
			return 2;
		memcpy(data_page + (BLK_DATA_ADDR - BLK_DATA_PAGE), c.data, BLK_DATA_SIZE);
		memcpy(stack_page + (BLK_STACK_ADDR - BLK_STACK_PAGE), c.stack, BLK_STACK_SIZE);
		uint8_t *j = code + off;
		memcpy(j, c.code, c.len);
		j += c.len;
		j[0] = 0xe9; /* jmp blk_done */
		uint32_t rel = (uint32_t)(uintptr_t)blk_done - (uint32_t)(uintptr_t)(j + 5);
		memcpy(j + 1, &rel, 4);
		memcpy(blk_in, c.r, 32);
		blk_in[8] = (c.eflags & 0x00000cd5u) | 0x202u; /* arithmetic, DF, IF */
		blk_entry = c.code_addr;
		memset(&res, 0, sizeof(res));
		if (sigsetjmp(blk_jb, 1) == 0) {
			blk_enter();
			res.vector = -1;
			res.eip = c.code_addr + c.len;
		} else {
			res.vector = fault_vec;
			res.eip = fault_eip;
			res.err = fault_err;
			res.cr2 = fault_cr2;
		}
		memcpy(res.r, blk_out, 32);
		res.eflags = blk_out[8];
		res.seq = c.seq;
		memcpy(res.data, data_page + (BLK_DATA_ADDR - BLK_DATA_PAGE), BLK_DATA_SIZE);
		memcpy(res.stack, stack_page + (BLK_STACK_ADDR - BLK_STACK_PAGE), BLK_STACK_SIZE);
		res.stray = blk_stray(data_page, ro_page, ro_want, stack_page, zero);
		if (res.stray) {
			memset(data_page, 0, BLK_DATA_ADDR - BLK_DATA_PAGE);
			memset(stack_page, 0, BLK_STACK_ADDR - BLK_STACK_PAGE);
		}
		if (io_full(1, &res, sizeof(res), 1) != 0)
			return 2;
	}
	return 0;
}
