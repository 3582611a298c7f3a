/* The native side of the differential test (built with gcc -m32): reads
 * struct diff_case records on stdin, runs each case's instruction bytes
 * natively in this 32-bit process, and writes a struct diff_result per
 * case on stdout.
 *
 * A case runs between a prologue that loads EAX..EDI, ESP and EFLAGS and
 * an epilogue that saves them (both below, in assembly), with the data
 * window mapped at DIFF_DATA_ADDR and the code at DIFF_CODE_ADDR. A fault
 * arrives as a signal on an alternate stack (the guest ESP points into the
 * data window, which the kernel's signal frame must not overwrite); the
 * handler takes the vector (trap number), the error code and, for #PF,
 * CR2 from the signal context (uc_mcontext: REG_TRAPNO, REG_ERR, cr2) and
 * the registers, and jumps back with siglongjmp.
 *
 * What Linux passes on, and so what is comparable: the trap number is the
 * processor's vector. REG_ERR is the processor's error code for #GP, #SS,
 * #NP, #TS, #AC and #PF (for #PF Linux also sets the U/S bit, which a
 * CPL 3 fault has anyway; a fault on a kernel address would get P too, and
 * none of these cases touches one); for vectors without an error code it
 * is 0. cr2 is the #PF address; for any other vector it is whatever the
 * last #PF left, so it is only meaningful, and only reported, for #PF.
 *
 * Exit status: 0 at the end of input, 2 on a protocol error, 3 when this
 * host cannot provide the environment (fixed mappings, LDT entries). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <asm/ldt.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "diffcase.h"

#if !defined(__i386__)
#error "the native runner must be built with -m32"
#endif

/* Shared with the assembly below. */
uint32_t ctx_in[9];   /* EAX..EDI, EFLAGS */
uint32_t ctx_out[9];
uint32_t host_esp;
uint32_t case_es; /* ES for the case: flat (as DS) or the window segment */
uint32_t code_far[2]; /* offset, selector: where the case starts */
void native_run(void);
void native_done(void);

__asm__(".text\n"
	".globl native_run\n"
	"native_run:\n"
	"	pushal\n"
	"	movl %esp, host_esp\n"
	"	movl $7, %eax\n" /* DIFF_FS_SEL */
	"	movw %ax, %fs\n"
	"	movl case_es, %eax\n"
	"	movw %ax, %es\n"
	"	pushl ctx_in+32\n"
	"	popfl\n"
	"	movl ctx_in+0, %eax\n"
	"	movl ctx_in+4, %ecx\n"
	"	movl ctx_in+8, %edx\n"
	"	movl ctx_in+12, %ebx\n"
	"	movl ctx_in+16, %esp\n"
	"	movl ctx_in+20, %ebp\n"
	"	movl ctx_in+24, %esi\n"
	"	movl ctx_in+28, %edi\n"
	"	ljmp *code_far\n"
	".globl native_done\n"
	"native_done:\n"
	"	movl %eax, ctx_out+0\n"
	"	movl %ecx, ctx_out+4\n"
	"	movl %edx, ctx_out+8\n"
	"	movl %ebx, ctx_out+12\n"
	"	movl %esp, ctx_out+16\n"
	"	movl %ebp, ctx_out+20\n"
	"	movl %esi, ctx_out+24\n"
	"	movl %edi, ctx_out+28\n"
	"	movl host_esp, %esp\n"
	"	movl %ds, %eax\n" /* C code needs the flat ES back */
	"	movl %eax, %es\n"
	"	pushfl\n"
	"	popl ctx_out+32\n"
	"	pushl $0x202\n" /* AC (POPF cases) would trap the C code's unaligned accesses */
	"	popfl\n"
	"	popal\n"
	"	ret\n");

static sigjmp_buf fault_jb;
static volatile int fault_vec;
static volatile uint32_t fault_eip, fault_err, fault_cr2;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	(void)si;
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	ctx_out[0] = (uint32_t)g[REG_EAX];
	ctx_out[1] = (uint32_t)g[REG_ECX];
	ctx_out[2] = (uint32_t)g[REG_EDX];
	ctx_out[3] = (uint32_t)g[REG_EBX];
	ctx_out[4] = (uint32_t)g[REG_ESP];
	ctx_out[5] = (uint32_t)g[REG_EBP];
	ctx_out[6] = (uint32_t)g[REG_ESI];
	ctx_out[7] = (uint32_t)g[REG_EDI];
	ctx_out[8] = (uint32_t)g[REG_EFL];
	fault_eip = (uint32_t)g[REG_EIP];
	fault_err = (uint32_t)g[REG_ERR];
	fault_cr2 = (uint32_t)uc->uc_mcontext.cr2;
	int v = (int)g[REG_TRAPNO];
	/* The trap number is what the processor reported; fall back on the
	 * signal if the kernel left it 0 for something other than #DE. */
	if (v == 0 && sig != SIGFPE)
		v = sig == SIGILL ? 6 : sig == SIGTRAP ? 1 : 13;
	fault_vec = v;
	if (!(v == 8 || (v >= 10 && v <= 14) || v == 17))
		fault_err = 0;
	if (v != 14)
		fault_cr2 = 0;
	siglongjmp(fault_jb, 1);
}

static int read_full(void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(0, (char *)p + got, n - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static int write_full(const void *p, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t k = write(1, (const char *)p + put, n - put);
		if (k <= 0)
			return -1;
		put += (size_t)k;
	}
	return 0;
}

int main(void)
{
	uint8_t *data = mmap((void *)DIFF_DATA_ADDR, 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	uint8_t *code = mmap((void *)DIFF_CODE_ADDR, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *below = mmap((void *)(DIFF_DATA_ADDR - 4096), 4096, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *above = mmap((void *)(DIFF_DATA_ADDR + 4096), 4096, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (data != (void *)DIFF_DATA_ADDR || code != (void *)DIFF_CODE_ADDR ||
	    below != (void *)(DIFF_DATA_ADDR - 4096) || above != (void *)(DIFF_DATA_ADDR + 4096)) {
		fprintf(stderr, "runner: cannot map the data/code windows\n");
		return 3;
	}
	struct user_desc ud;
	memset(&ud, 0, sizeof(ud));
	ud.entry_number = DIFF_FS_SEL >> 3;
	ud.base_addr = DIFF_DATA_ADDR;
	ud.limit = DIFF_DATA_SIZE - 1;
	ud.seg_32bit = 1;
	ud.useable = 1;
	struct user_desc ud16;
	memset(&ud16, 0, sizeof(ud16));
	ud16.entry_number = DIFF_CS16_SEL >> 3;
	ud16.base_addr = DIFF_CODE_ADDR;
	ud16.limit = 0xffff;
	ud16.contents = MODIFY_LDT_CONTENTS_CODE;
	ud16.useable = 1;
	if (syscall(SYS_modify_ldt, 1, &ud, sizeof(ud)) != 0 ||
	    syscall(SYS_modify_ldt, 1, &ud16, sizeof(ud16)) != 0) {
		perror("runner: modify_ldt");
		return 3;
	}
	static uint8_t altstack[1 << 16];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	if (sigaltstack(&ss, NULL) != 0) {
		perror("runner: sigaltstack");
		return 3;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);

	static struct diff_case c;
	static struct diff_result res;
	while (read_full(&c, sizeof(c)) == 0) {
		if (c.len > DIFF_CODE_MAX)
			return 2;
		memcpy(data, c.data, DIFF_DATA_SIZE);
		memset(data + DIFF_DATA_SIZE, 0, 4096 - DIFF_DATA_SIZE);
		memcpy(code, c.code, c.len);
		uint8_t *j = code + c.len;
		uint32_t cs32;
		__asm__ volatile("movl %%cs, %0" : "=r"(cs32));
		if (c.flags & DIFF_CODE16) {
			/* jmp far cs32:native_done (66 EA ptr16:32 in 16-bit code) */
			uint32_t off = (uint32_t)(uintptr_t)native_done;
			uint16_t sel = (uint16_t)cs32;
			j[0] = 0x66;
			j[1] = 0xea;
			memcpy(j + 2, &off, 4);
			memcpy(j + 6, &sel, 2);
			code_far[0] = 0;
			code_far[1] = DIFF_CS16_SEL;
		} else {
			/* jmp native_done */
			j[0] = 0xe9;
			uint32_t rel = (uint32_t)(uintptr_t)native_done - (uint32_t)(uintptr_t)(j + 5);
			memcpy(j + 1, &rel, 4);
			code_far[0] = DIFF_CODE_ADDR;
			code_far[1] = cs32 & 0xffff;
		}
		memcpy(ctx_in, c.r, 32);
		ctx_in[8] = (c.eflags & 0x00000ed5u) | 0x202u; /* arith, DF, IF */
		fault_vec = -1;
		uint32_t ds;
		__asm__ volatile("movl %%ds, %0" : "=r"(ds));
		case_es = (c.flags & DIFF_ES_WIN) ? DIFF_FS_SEL : (ds & 0xffff);
		if (c.flags & DIFF_RO)
			mprotect(data, 4096, PROT_READ);
		if (sigsetjmp(fault_jb, 1) == 0) {
			native_run();
			res.vector = -1;
			res.eip = ((c.flags & DIFF_CODE16) ? 0 : DIFF_CODE_ADDR) + c.len;
			res.err = res.cr2 = 0;
		} else {
			__asm__ volatile("movl %%ds, %%eax\n\tmovl %%eax, %%es" ::: "eax");
			res.vector = fault_vec;
			res.eip = fault_eip;
			res.err = fault_err;
			res.cr2 = fault_cr2;
		}
		if (c.flags & DIFF_RO)
			mprotect(data, 4096, PROT_READ | PROT_WRITE);
		memcpy(res.r, ctx_out, 32);
		res.eflags = ctx_out[8];
		memcpy(res.data, data, DIFF_DATA_SIZE);
		memcpy(res.tail, data + 4096 - DIFF_TAIL, DIFF_TAIL);
		if (write_full(&res, sizeof(res)) != 0)
			return 2;
	}
	return 0;
}
