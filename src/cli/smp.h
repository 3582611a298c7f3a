/* -smp as QEMU spells it (docs/smp.md). */
#ifndef RINGVM_CLI_SMP_H
#define RINGVM_CLI_SMP_H

#include <stddef.h>

/* "N" or "[cpus=]N[,sockets=S][,cores=C][,threads=T][,maxcpus=M]": the
 * number of CPUs in *ncpus (1 .. PC_MAX_CPUS), or -1 with a message. The
 * board has no topology: every CPU is a package of its own, so the
 * product of sockets, cores and threads only stands for the count. */
int smp_parse(const char *arg, int *ncpus, char *err, size_t errlen);

#endif
