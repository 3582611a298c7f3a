/* Segment register loads and segment faults.
 * (Protected-mode checks: SDM Vol. 3, 5.5-5.10; filled in by the
 * protection work.) */
#include "cpu/exec.h"

_Noreturn void seg_fault(struct cpu *cpu, int s)
{
	if (s == S_SS)
		raise_ss(cpu, 0);
	raise_gp(cpu, 0);
}

void seg_load(struct cpu *cpu, int s, uint16_t sel)
{
	if (!cpu->pmode) {
		seg_load_real(cpu, s, sel);
		return;
	}
	raise_gp(cpu, sel & 0xfffc); /* protected-mode loads: not yet */
}
