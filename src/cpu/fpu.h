/* x87 FPU state (SDM Vol. 1, ch. 8). The registers are kept as the host's
 * 80-bit long double, so arithmetic runs on the host's own x87 unit. */
#ifndef RINGVM_FPU_H
#define RINGVM_FPU_H

#include <stdint.h>

struct fpu {
	long double st[8]; /* physical registers R0..R7 (not stack order) */
	uint16_t fcw, fsw, ftw; /* ftw: full 2-bit-per-register tag word */
	uint16_t fop;
	uint32_t fip, fdp;
	uint16_t fcs, fds;
	uint32_t mxcsr;
};

#endif
