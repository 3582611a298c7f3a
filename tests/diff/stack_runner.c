/* The native side of the stack differential test (built with gcc -m32):
 * writes a struct stk_hello, then reads struct stk_case records on stdin,
 * runs each case's bytes natively with the case's stack segment — a
 * 16-bit data segment from the LDT (modify_ldt) or the flat one — and its
 * DS/ES/FS/GS, and writes a struct stk_result per case.
 *
 * The prologue loads the registers, ES/FS/GS, then SS:ESP with LSS and DS,
 * reading its last operands through CS (the flat code segment is
 * readable), and jumps to the case. The case may leave any data selector
 * in DS and any stack in SS:ESP, so the epilogue parks EAX and DS in XMM
 * registers, takes the host's DS back through CS, saves everything and
 * only then returns to the host stack (PUSHF there, not on the case's
 * stack, whose bytes are compared). A fault arrives as a signal on an
 * alternate stack; the handler first reloads the host's FS/GS (glibc's
 * TLS), then reads the state from the signal context.
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

#include "stackcase.h"

#if !defined(__i386__)
#error "the native runner must be built with -m32"
#endif

/* Shared with the assembly below. */
uint32_t ctx_in[9]; /* EAX..EDI (ESP unused), EFLAGS */
uint32_t ctx_out[9];
uint32_t seg_in[SR_N], seg_out[SR_N];
uint32_t ss_esp_in[2];   /* LSS operand: ESP, SS */
uint32_t host_ss_esp[2]; /* the host's ESP (set by native_run), SS */
uint32_t host_ds, host_fs, host_gs;
uint32_t code_far[2];    /* offset, selector: where the case starts */
void native_run(void);
void native_done(void);

__asm__(".text\n"
	".globl native_run\n"
	"native_run:\n"
	"	pushal\n"
	"	movl %esp, host_ss_esp\n"
	"	pushl ctx_in+32\n"
	"	popfl\n"
	"	movl seg_in+4, %eax\n"
	"	movw %ax, %es\n"
	"	movl seg_in+8, %eax\n"
	"	movw %ax, %fs\n"
	"	movl seg_in+12, %eax\n"
	"	movw %ax, %gs\n"
	"	movl ctx_in+0, %eax\n"
	"	movl ctx_in+4, %ecx\n"
	"	movl ctx_in+8, %edx\n"
	"	movl ctx_in+12, %ebx\n"
	"	movl ctx_in+20, %ebp\n"
	"	movl ctx_in+24, %esi\n"
	"	movl ctx_in+28, %edi\n"
	"	lss %cs:ss_esp_in, %esp\n"
	"	movw %cs:seg_in, %ds\n"
	"	ljmp *%cs:code_far\n"
	".globl native_done\n"
	"native_done:\n"
	"	movd %eax, %xmm0\n"
	"	movl %ds, %eax\n"
	"	movd %eax, %xmm1\n"
	"	movl %cs:host_ds, %eax\n"
	"	movl %eax, %ds\n"
	"	movd %xmm0, %eax\n"
	"	movl %eax, ctx_out+0\n"
	"	movl %ecx, ctx_out+4\n"
	"	movl %edx, ctx_out+8\n"
	"	movl %ebx, ctx_out+12\n"
	"	movl %esp, ctx_out+16\n"
	"	movl %ebp, ctx_out+20\n"
	"	movl %esi, ctx_out+24\n"
	"	movl %edi, ctx_out+28\n"
	"	movd %xmm1, %eax\n"
	"	movl %eax, seg_out+0\n"
	"	movl %es, %eax\n"
	"	movl %eax, seg_out+4\n"
	"	movl %fs, %eax\n"
	"	movl %eax, seg_out+8\n"
	"	movl %gs, %eax\n"
	"	movl %eax, seg_out+12\n"
	"	movl %ss, %eax\n"
	"	movl %eax, seg_out+16\n"
	"	movl host_ds, %eax\n"
	"	movl %eax, %es\n"
	"	movl host_fs, %eax\n"
	"	movl %eax, %fs\n"
	"	movl host_gs, %eax\n"
	"	movl %eax, %gs\n"
	"	lss host_ss_esp, %esp\n"
	"	pushfl\n"
	"	popl ctx_out+32\n"
	"	pushl $0x202\n" /* AC (POPF/IRET images) would trap the C code's unaligned accesses */
	"	popfl\n"
	"	popal\n"
	"	ret\n");

static sigjmp_buf fault_jb;
static volatile int fault_vec;
static volatile uint32_t fault_eip;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	/* The case's FS/GS are still loaded; glibc needs its GS (TLS). */
	__asm__ volatile("movl %0, %%fs\n\tmovl %1, %%gs" ::"r"(host_fs), "r"(host_gs));
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
	seg_out[SR_DS] = (uint32_t)g[REG_DS];
	seg_out[SR_ES] = (uint32_t)g[REG_ES];
	seg_out[SR_FS] = (uint32_t)g[REG_FS];
	seg_out[SR_GS] = (uint32_t)g[REG_GS];
	seg_out[SR_SS] = (uint32_t)g[REG_SS];
	fault_eip = (uint32_t)g[REG_EIP];
	int v = (int)g[REG_TRAPNO];
	if (v == 0 && sig != SIGFPE)
		v = sig == SIGILL ? 6 : sig == SIGTRAP ? 1 : 13;
	fault_vec = v;
	siglongjmp(fault_jb, 1);
}

static int xfer(int fd, void *p, size_t n, int wr)
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

static int ldt_entry(unsigned sel, uint32_t base, uint32_t limit, int code)
{
	struct user_desc ud;
	memset(&ud, 0, sizeof(ud));
	ud.entry_number = sel >> 3;
	ud.base_addr = base;
	ud.limit = limit;
	ud.seg_32bit = 0; /* B = 0: a 16-bit stack; D = 0: 16-bit code */
	ud.contents = code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA;
	ud.useable = 1;
	return (int)syscall(SYS_modify_ldt, 1, &ud, sizeof(ud));
}

static void *map_at(uint32_t addr, size_t len, int prot)
{
	void *p = mmap((void *)(uintptr_t)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	return p == (void *)(uintptr_t)addr ? p : NULL;
}

int main(void)
{
	uint8_t *win = map_at(STK_ADDR, STK_SIZE, PROT_READ | PROT_WRITE);
	uint8_t *code = map_at(STK_CODE_ADDR, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	void *below = map_at(STK_ADDR - 4096, 4096, PROT_NONE);
	void *above = map_at(STK_ADDR + STK_SIZE, 4096, PROT_NONE);
	if (!win || !code || !below || !above) {
		fprintf(stderr, "stack_runner: cannot map the stack/code windows\n");
		return 3;
	}
	if (ldt_entry(STK_SEL16, STK_ADDR, 0xffff, 0) != 0 ||
	    ldt_entry(STK_SEL16_SMALL, STK_ADDR, STK_SMALL_LIMIT, 0) != 0 ||
	    ldt_entry(STK_SEL_CS16, STK_CODE_ADDR, 0xffff, 1) != 0) {
		perror("stack_runner: modify_ldt");
		return 3;
	}
	static uint8_t altstack[1 << 16];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	if (sigaltstack(&ss, NULL) != 0) {
		perror("stack_runner: sigaltstack");
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

	uint32_t cs32 = 0;
	__asm__ volatile("movl %%cs, %0\n\tmovl %%ds, %1\n\tmovl %%fs, %2\n\tmovl %%gs, %3\n\tmovl %%ss, %4"
			 : "=r"(cs32), "=r"(host_ds), "=r"(host_fs), "=r"(host_gs), "=r"(host_ss_esp[1]));
	cs32 &= 0xffff, host_ds &= 0xffff, host_fs &= 0xffff, host_gs &= 0xffff, host_ss_esp[1] &= 0xffff;
	struct stk_hello hello = {STK_HELLO, (uint16_t)cs32, (uint16_t)host_ds};
	if (xfer(1, &hello, sizeof(hello), 1) != 0)
		return 2;

	static struct stk_case c;
	static struct stk_result res;
	static uint8_t scratch[STK_SIZE];
	while (xfer(0, &c, sizeof(c), 0) == 0) {
		if (c.len > STK_CODE_MAX)
			return 2;
		stk_prepare(win, &c);
		memcpy(code, c.code, c.len);
		uint8_t *j = code + c.len;
		if (c.flags & STK_CODE16) {
			/* jmp far cs32:native_done (66 EA ptr16:32 in 16-bit code) */
			uint32_t off = (uint32_t)(uintptr_t)native_done;
			uint16_t sel = (uint16_t)cs32;
			j[0] = 0x66;
			j[1] = 0xea;
			memcpy(j + 2, &off, 4);
			memcpy(j + 6, &sel, 2);
			code_far[0] = 0;
			code_far[1] = STK_SEL_CS16;
		} else {
			j[0] = 0xe9; /* jmp native_done */
			uint32_t rel = (uint32_t)(uintptr_t)native_done - (uint32_t)(uintptr_t)(j + 5);
			memcpy(j + 1, &rel, 4);
			code_far[0] = STK_CODE_ADDR;
			code_far[1] = cs32;
		}
		memcpy(ctx_in, c.r, 32);
		ctx_in[8] = (c.eflags & 0x00240ed5u) | 0x202u; /* arith, DF, AC, ID, IF */
		for (int s = 0; s < SR_N; s++)
			seg_in[s] = c.seg[s];
		ss_esp_in[0] = c.r[4];
		ss_esp_in[1] = c.seg[SR_SS];
		if (sigsetjmp(fault_jb, 1) == 0) {
			native_run();
			res.vector = -1;
			res.eip = ((c.flags & STK_CODE16) ? 0 : STK_CODE_ADDR) + c.len;
		} else {
			res.vector = fault_vec;
			res.eip = fault_eip;
		}
		memcpy(res.r, ctx_out, 32);
		res.eflags = ctx_out[8];
		for (int s = 0; s < SR_N; s++)
			res.seg[s] = (uint16_t)seg_out[s];
		stk_changes(win, &c, scratch, &res);
		if (xfer(1, &res, sizeof(res), 1) != 0)
			return 2;
	}
	return 0;
}
