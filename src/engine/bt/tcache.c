/* The translation cache: W^X by construction. One memfd is mapped twice,
 * read-write for the translator and read-execute for the CPU, so no
 * address is ever writable and executable at once; the trampolines that
 * enter and leave translated code live at its start. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/bt/tstate.h"

#define REG_OFF(n) ((int32_t)(offsetof(struct cpu, r) + 4 * (size_t)(n)))

/* Inside translated code the guest's general registers live in R8-R15
 * and its arithmetic flags in the host's RFLAGS; struct cpu has them
 * whenever C code runs. These move them across. */
static void regs_out(struct emit *e)
{
	for (int r = 0; r < 8; r++)
		e_store32(e, 8 + r, REG_OFF(r));
}

static void regs_in(struct emit *e)
{
	for (int r = 0; r < 8; r++)
		e_load32(e, 8 + r, REG_OFF(r));
}

static void flags_out(struct emit *e)
{
	e8(e, 0x9c);                                  /* pushfq */
	e8(e, 0x58);                                  /* pop rax */
	e8(e, 0x25); e32(e, FL_ARITH);                /* and eax, FL_ARITH */
	e_load32(e, H_RCX, CPU_OFF(eflags));
	e8(e, 0x81); e8(e, 0xe1); e32(e, ~FL_ARITH);  /* and ecx, ~FL_ARITH */
	e8(e, 0x09); e8(e, 0xc1);                     /* or ecx, eax */
	e_store32(e, H_RCX, CPU_OFF(eflags));
}

/* Only the arithmetic bits reach the host: never TF, DF, AC or IF. */
static void flags_in(struct emit *e)
{
	e_load32(e, H_RAX, CPU_OFF(eflags));
	e8(e, 0x25); e32(e, FL_ARITH);                /* and eax, FL_ARITH */
	e8(e, 0x50);                                  /* push rax */
	e8(e, 0x9d);                                  /* popfq */
}

/* enter(cpu, code): save the callee-saved registers, keep the stack
 * 16-byte aligned at every call translated code makes, set RBP to the
 * CPU, bring the guest's registers and flags in, jump to the code.
 * exit: take them out again and return; exit_mem: they are out already.
 * next: take them out, ask bt_next() for the following block, bring them
 * back in and jump there (or exit); next_fm: the flags are out already;
 * next_mem: both are. call: a callout or slow path (RSI = descriptor)
 * with the registers out and back in around bt_call(). */
static void emit_trampolines(struct bt *bt)
{
	struct emit e = { bt->rw, bt->rw + 1024, 0, 0 };
	bt->enter = (void (*)(struct cpu *, const void *))(uintptr_t)tcache_rx(bt, e.p);
	e8(&e, 0x55);                   /* push rbp */
	e8(&e, 0x53);                   /* push rbx */
	e8(&e, 0x41); e8(&e, 0x54);     /* push r12 */
	e8(&e, 0x41); e8(&e, 0x55);     /* push r13 */
	e8(&e, 0x41); e8(&e, 0x56);     /* push r14 */
	e8(&e, 0x41); e8(&e, 0x57);     /* push r15 */
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xec); e8(&e, 0x08); /* sub rsp, 8 */
	e_mov64_rr(&e, H_RBP, H_RDI);   /* mov rbp, rdi */
	regs_in(&e);
	flags_in(&e);
	e8(&e, 0xff); e8(&e, 0xe6);     /* jmp rsi */

	bt->exit_rx = tcache_rx(bt, e.p);
	regs_out(&e);
	flags_out(&e);
	bt->exit_mem_rx = tcache_rx(bt, e.p);
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xc4); e8(&e, 0x08); /* add rsp, 8 */
	e8(&e, 0x41); e8(&e, 0x5f);     /* pop r15 */
	e8(&e, 0x41); e8(&e, 0x5e);     /* pop r14 */
	e8(&e, 0x41); e8(&e, 0x5d);     /* pop r13 */
	e8(&e, 0x41); e8(&e, 0x5c);     /* pop r12 */
	e8(&e, 0x5b);                   /* pop rbx */
	e8(&e, 0x5d);                   /* pop rbp */
	e8(&e, 0xc3);                   /* ret */

	bt->next_rx = tcache_rx(bt, e.p);
	flags_out(&e);
	bt->next_fm_rx = tcache_rx(bt, e.p);
	regs_out(&e);
	bt->next_mem_rx = tcache_rx(bt, e.p);
	e_mov64_rr(&e, H_RDI, H_RBP);   /* mov rdi, rbp */
	e_mov64_imm(&e, H_RAX, (uint64_t)(uintptr_t)bt_next);
	e_call_rax(&e);
	e8(&e, 0x48); e8(&e, 0x85); e8(&e, 0xc0); /* test rax, rax */
	e_jcc_to(&e, CC_E, tcache_rx(bt, e.p), bt->exit_mem_rx);
	e8(&e, 0x48); e8(&e, 0x89); e8(&e, 0xc2); /* mov rdx, rax */
	regs_in(&e);
	flags_in(&e);
	e8(&e, 0xff); e8(&e, 0xe2);     /* jmp rdx */

	/* call: entered by a call from translated code (RSP = 8 mod 16) */
	bt->call_rx = tcache_rx(bt, e.p);
	regs_out(&e);
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xec); e8(&e, 0x08); /* sub rsp, 8 */
	e_mov64_rr(&e, H_RDI, H_RBP);   /* mov rdi, rbp */
	e_mov64_imm(&e, H_RAX, (uint64_t)(uintptr_t)bt_call);
	e_call_rax(&e);
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xc4); e8(&e, 0x08); /* add rsp, 8 */
	e8(&e, 0x48); e8(&e, 0x85); e8(&e, 0xc0); /* test rax, rax */
	uint8_t *stay = e_jcc_fwd(&e, CC_E);
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xc4); e8(&e, 0x08); /* add rsp, 8: drop the return */
	e8(&e, 0xff); e8(&e, 0xe0);     /* jmp rax (exit_mem or next_mem) */
	e_patch_here(&e, stay);
	regs_in(&e);
	e8(&e, 0xc3);                   /* ret */
	bt->fixed = (size_t)(e.p - bt->rw + 63) & ~(size_t)63;
	bt->used = bt->fixed;
	bt->settled = (bt->fixed + 4095) & ~(size_t)4095;
}

int tcache_init(struct bt *bt, size_t size, char *err, size_t errlen)
{
	bt->fd = memfd_create("ringvm-tcache", MFD_CLOEXEC);
	if (bt->fd < 0) {
		snprintf(err, errlen, "translation cache: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(bt->fd, (off_t)size) < 0) {
		snprintf(err, errlen, "translation cache: %zu bytes: %s", size, strerror(errno));
		close(bt->fd);
		return -1;
	}
	bt->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, bt->fd, 0);
	bt->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, bt->fd, 0);
	if (bt->rw == MAP_FAILED || bt->rx == MAP_FAILED) {
		snprintf(err, errlen, "translation cache: mmap: %s", strerror(errno));
		if (bt->rw != MAP_FAILED)
			munmap(bt->rw, size);
		if (bt->rx != MAP_FAILED)
			munmap(bt->rx, size);
		close(bt->fd);
		return -1;
	}
	bt->size = size;
	emit_trampolines(bt);
	return 0;
}

void tcache_free(struct bt *bt)
{
	munmap(bt->rw, bt->size);
	munmap(bt->rx, bt->size);
	close(bt->fd);
}

/* Both views of a page count in the process's resident size, though the
 * memory is the memfd's, once: a page the translator has filled is
 * unmapped from the writable view (its contents stay in the memfd and in
 * the executable view), 1 MiB at a time. A later patch of a chained jump
 * maps the page back for a moment. */
#define SETTLE_BATCH (1u << 20)
void tcache_settle(struct bt *bt)
{
	size_t upto = bt->used & ~(size_t)4095;
	if (upto < bt->settled + SETTLE_BATCH)
		return;
	madvise(bt->rw + bt->settled, upto - bt->settled, MADV_DONTNEED);
	bt->settled = upto;
}

void tcache_reset(struct bt *bt)
{
	bt->settled = (bt->fixed + 4095) & ~(size_t)4095;
	bt->used = bt->fixed;
	bt->flushes++;
}
