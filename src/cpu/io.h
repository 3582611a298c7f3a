/* Port I/O permission (SDM Vol. 1, 19.5 "I/O protection"): shared by
 * IN/OUT (ops_io.c) and INS/OUTS (ops_string.c). */
#ifndef RINGVM_CPU_IO_H
#define RINGVM_CPU_IO_H

#include <stdint.h>

#include "cpu/cpu.h"

/* Raise #GP(0) unless the current privilege may access size bytes of
 * ports at port: always in real mode; in protected mode when CPL <= IOPL;
 * otherwise (and always in V86 mode) as the TSS I/O bitmap says. */
void io_check(struct cpu *cpu, uint16_t port, int size);

#endif
