/* The hardware engine: guest code run by the processor (VT-x / AMD-V)
 * through /dev/kvm, on the same board and devices as interp. */
#ifndef RINGVM_KVM_H
#define RINGVM_KVM_H

#include <stddef.h>

/* Guest modes the host's KVM is probed for. */
#define KVM_MODE_REAL 1  /* real mode */
#define KVM_MODE_PROT 2  /* 32-bit protected mode, paging off */
#define KVM_MODE_PAGING 4 /* 32-bit protected mode with paging */
#define KVM_MODE_PMINT 8  /* INT and IRET through a protected-mode IDT */

/* Run tiny guests to find which modes this host's KVM can execute.
 * Returns the KVM_MODE_* bits that worked (0 when /dev/kvm is absent or
 * unusable) and writes a one-line explanation of what failed to msg. */
unsigned kvm_probe(char *msg, size_t msglen);

#endif
