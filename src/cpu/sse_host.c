/* The host's SSE/MMX unit as the guest's: the guest's own instruction
 * runs on the host, as the x87 does (x87_host.c), so results, NaN
 * propagation, denormals, DAZ/FTZ, rounding and exception flags are the
 * processor's, bit for bit.
 *
 * A stub per (mandatory prefix, 0F opcode, register or memory form) — and
 * for 0F C2, the compare, per immediate — assembled below: the guest's
 * instruction with ModRM.reg = 0 and ModRM.rm = 1 (register form) or
 * (%rsi) (mod=00 rm=110), then RET. The trampoline loads XMM0/XMM1,
 * MM0/MM1, EAX/ECX and MXCSR from struct sse_ctx, calls the stub, and
 * stores them back (EMMS leaves the host's x87 empty, as the ABI wants).
 *
 * The guest's exception masks are the host's while the stub runs. An
 * unmasked SIMD exception makes the host raise #XM, which Linux delivers
 * as SIGFPE: the handler below moves the stub's RIP to sse_trapped, which
 * notes it and returns; the kernel restores the FPU state of the trap, so
 * the destination is unchanged and MXCSR holds the flags the processor
 * set (SDM Vol. 1, 11.5.1), exactly what the guest's #XM handler sees. */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <ucontext.h>

#include "cpu/exec.h"

_Static_assert(offsetof(struct sse_ctx, mm) == 32 && offsetof(struct sse_ctx, gpr) == 48 &&
		       offsetof(struct sse_ctx, mxcsr) == 56 && offsetof(struct sse_ctx, rflags) == 60 &&
		       offsetof(struct sse_ctx, mem) == 64 && offsetof(struct sse_ctx, trapped) == 80,
	       "sse_ctx layout is the trampoline's");

#define NSTUB_PLAIN 2048 /* 4 prefixes * 256 opcodes * {reg, mem} */

__asm__(".pushsection .text\n"
	".balign 16\n"
	".globl sse_trampoline\n"
	".hidden sse_trampoline\n"
	".type sse_trampoline, @function\n"
	"sse_trampoline:\n"
	"sub $24, %rsp\n"
	"stmxcsr 8(%rsp)\n"
	"mov %rsi, %r11\n"
	"ldmxcsr 56(%rdi)\n"
	"movdqa 0(%rdi), %xmm0\n"
	"movdqa 16(%rdi), %xmm1\n"
	"movq 32(%rdi), %mm0\n"
	"movq 40(%rdi), %mm1\n"
	"mov 48(%rdi), %eax\n"
	"mov 52(%rdi), %ecx\n"
	"lea 64(%rdi), %rsi\n"
	"call *%r11\n"
	"pushfq\n"
	"pop %rdx\n"
	"mov %edx, 60(%rdi)\n"
	"stmxcsr 56(%rdi)\n"
	"ldmxcsr 8(%rsp)\n"
	"movdqa %xmm0, 0(%rdi)\n"
	"movdqa %xmm1, 16(%rdi)\n"
	"movq %mm0, 32(%rdi)\n"
	"movq %mm1, 40(%rdi)\n"
	"emms\n"
	"mov %eax, 48(%rdi)\n"
	"mov %ecx, 52(%rdi)\n"
	"add $24, %rsp\n"
	"ret\n"
	".size sse_trampoline, . - sse_trampoline\n"
	".balign 16\n"
	".globl sse_trapped\n"
	".hidden sse_trapped\n"
	"sse_trapped:\n"
	"movl $1, 80(%rdi)\n"
	"ret\n"
	".balign 16\n"
	".globl sse_stubs\n"
	".hidden sse_stubs\n"
	"sse_stubs:\n"
	/* plain stubs: [prefix] 0F op modrm ret */
	".irp pfx, 0, 0x66, 0xf3, 0xf2\n"
	".set sse_op, 0\n"
	".rept 256\n"
	".irp modrm, 0xc1, 0x06\n"
	".if \\pfx\n"
	".byte \\pfx\n"
	".endif\n"
	".byte 0x0f, sse_op, \\modrm, 0xc3\n"
	".balign 8, 0xcc\n"
	".endr\n"
	".set sse_op, sse_op + 1\n"
	".endr\n"
	".endr\n"
	/* compare stubs: [prefix] 0F C2 modrm imm8 ret */
	".irp pfx, 0, 0x66, 0xf3, 0xf2\n"
	".set sse_imm, 0\n"
	".rept 256\n"
	".irp modrm, 0xc1, 0x06\n"
	".if \\pfx\n"
	".byte \\pfx\n"
	".endif\n"
	".byte 0x0f, 0xc2, \\modrm, sse_imm, 0xc3\n"
	".balign 8, 0xcc\n"
	".endr\n"
	".set sse_imm, sse_imm + 1\n"
	".endr\n"
	".endr\n"
	".globl sse_stubs_end\n"
	".hidden sse_stubs_end\n"
	"sse_stubs_end:\n"
	".popsection\n");

void sse_trampoline(struct sse_ctx *ctx, const void *stub);
void sse_trapped(void);
extern const uint8_t sse_stubs[], sse_stubs_end[];

int sse_stub_index(uint8_t prefix, uint8_t opcode, int memform, int imm)
{
	int p = prefix == 0x66 ? 1 : prefix == 0xf3 ? 2 : prefix == 0xf2 ? 3 : 0;
	if (imm >= 0)
		return NSTUB_PLAIN + (p * 256 + imm) * 2 + memform;
	return (p * 256 + opcode) * 2 + memform;
}

/* The SIGFPE handler is process state by nature: installed once, and a
 * signal that did not come from a stub goes to whatever handler was
 * there before (or kills the process as it would have). */
static struct sigaction prev_fpe;
static pthread_once_t fpe_once = PTHREAD_ONCE_INIT;

static void on_fpe(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	if (rip >= (uintptr_t)sse_stubs && rip < (uintptr_t)sse_stubs_end) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)sse_trapped;
		return;
	}
	if (prev_fpe.sa_flags & SA_SIGINFO) {
		prev_fpe.sa_sigaction(sig, si, ucv);
	} else if (prev_fpe.sa_handler != SIG_IGN && prev_fpe.sa_handler != SIG_DFL) {
		prev_fpe.sa_handler(sig);
	} else {
		/* The faulting instruction runs again and takes the default. */
		signal(SIGFPE, SIG_DFL);
	}
}

static void install_fpe(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fpe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, &prev_fpe);
}

void sse_host_install(void)
{
	pthread_once(&fpe_once, install_fpe);
}

void sse_host_run(struct sse_ctx *ctx, int idx)
{
	sse_host_install();
	ctx->trapped = 0;
	sse_trampoline(ctx, sse_stubs + (size_t)idx * 8);
}
