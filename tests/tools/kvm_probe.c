/* Prints what ringvm's kvm probe (src/engine/kvm.c kvm_probe) finds on
 * this host, for the shell tests: a kvm test may skip only for a mode the
 * probe says the host cannot run, never because a message mentions kvm.
 *
 *   real=1 protected=1 paging=0 pmint=0
 *   why: <the probe's explanation of what failed, or nothing>
 */
#include <stdio.h>

#include "engine/kvm.h"

int main(void)
{
	char msg[512];
	unsigned m = kvm_probe(msg, sizeof(msg));
	printf("real=%d protected=%d paging=%d pmint=%d\n", !!(m & KVM_MODE_REAL), !!(m & KVM_MODE_PROT),
	       !!(m & KVM_MODE_PAGING), !!(m & KVM_MODE_PMINT));
	printf("why: %s\n", msg);
	return 0;
}
