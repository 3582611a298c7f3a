/* One memory access or instruction fetch through the TLB and page walk,
 * with a local fault landing pad, so paging tests need no exception
 * delivery. */
#ifndef RINGVM_TEST_PAGING_UTIL_H
#define RINGVM_TEST_PAGING_UTIL_H

#include <setjmp.h>

#include "harness.h"

/* acc ACC_R / ACC_W (size bytes of *val) or ACC_X (a fetch, as the
 * decoder does it), at CPL 3 if user. Returns -1 if it completed, else
 * the #PF error code (or 1000 + vector for another exception). */
static inline int pg_access(struct cpu *cpu, uint32_t lin, int size, int acc, int user, uint32_t *val)
{
	jmp_buf jb;
	jmp_buf *saved = cpu->fault_jmp;
	uint8_t cpl = cpu->cpl;
	uint8_t buf[4];
	cpu->fault_jmp = &jb;
	cpu->cpl = user ? 3 : 0;
	if (setjmp(jb)) {
		cpu->fault_jmp = saved;
		cpu->cpl = cpl;
		return cpu->exc_vector == EXC_PF ? cpu->exc_error : 1000 + cpu->exc_vector;
	}
	if (acc == ACC_W)
		lin_write(cpu, lin, size, *val, ACC_W);
	else if (acc == ACC_R)
		*val = lin_read(cpu, lin, size, ACC_R);
	else
		mem_fetch_page(cpu, lin, buf, sizeof(buf));
	cpu->fault_jmp = saved;
	cpu->cpl = cpl;
	return -1;
}

#endif
