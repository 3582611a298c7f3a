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

/* enter(cpu, code): save the callee-saved registers the translated code
 * uses, keep the stack 16-byte aligned at every call it makes, set RBP
 * to the CPU and jump to the code. exit: undo that and return. next:
 * ask bt_next() for the following block and jump there, or exit. */
static void emit_trampolines(struct bt *bt)
{
	struct emit e = { bt->rw, bt->rw + 256, 0, 0 };
	bt->enter = (void (*)(struct cpu *, const void *))(uintptr_t)tcache_rx(bt, e.p);
	e8(&e, 0x55);                   /* push rbp */
	e8(&e, 0x53);                   /* push rbx */
	e8(&e, 0x41); e8(&e, 0x54);     /* push r12 */
	e8(&e, 0x41); e8(&e, 0x55);     /* push r13 */
	e8(&e, 0x41); e8(&e, 0x56);     /* push r14 */
	e8(&e, 0x41); e8(&e, 0x57);     /* push r15 */
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xec); e8(&e, 0x08); /* sub rsp, 8 */
	e_mov64_rr(&e, H_RBP, H_RDI);   /* mov rbp, rdi */
	e8(&e, 0xff); e8(&e, 0xe6);     /* jmp rsi */

	bt->exit_rx = tcache_rx(bt, e.p);
	e8(&e, 0x48); e8(&e, 0x83); e8(&e, 0xc4); e8(&e, 0x08); /* add rsp, 8 */
	e8(&e, 0x41); e8(&e, 0x5f);     /* pop r15 */
	e8(&e, 0x41); e8(&e, 0x5e);     /* pop r14 */
	e8(&e, 0x41); e8(&e, 0x5d);     /* pop r13 */
	e8(&e, 0x41); e8(&e, 0x5c);     /* pop r12 */
	e8(&e, 0x5b);                   /* pop rbx */
	e8(&e, 0x5d);                   /* pop rbp */
	e8(&e, 0xc3);                   /* ret */

	bt->next_rx = tcache_rx(bt, e.p);
	e_mov64_rr(&e, H_RDI, H_RBP);   /* mov rdi, rbp */
	e_mov64_imm(&e, H_RAX, (uint64_t)(uintptr_t)bt_next);
	e_call_rax(&e);
	e8(&e, 0x48); e8(&e, 0x85); e8(&e, 0xc0); /* test rax, rax */
	e_jcc_to(&e, CC_E, tcache_rx(bt, e.p), bt->exit_rx);
	e8(&e, 0xff); e8(&e, 0xe0);     /* jmp rax */

	/* call: RSI = descriptor; a tail call keeps the stack aligned as
	 * the translated code's own call left it */
	bt->call_rx = tcache_rx(bt, e.p);
	e_mov64_rr(&e, H_RDI, H_RBP);   /* mov rdi, rbp */
	e_mov64_imm(&e, H_RAX, (uint64_t)(uintptr_t)bt_call);
	e8(&e, 0xff); e8(&e, 0xe0);     /* jmp rax */
	bt->fixed = (size_t)(e.p - bt->rw + 63) & ~(size_t)63;
	bt->used = bt->fixed;
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

void tcache_reset(struct bt *bt)
{
	bt->used = bt->fixed;
	bt->flushes++;
}
