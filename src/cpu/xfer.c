/* Control-transfer events (see xfer.h). */
#include "cpu/xfer.h"

void xfer_emit(struct cpu *cpu, const struct xfer_from *f, enum xfer_kind kind, int vector,
	       int has_error, uint32_t error, uint16_t gate, uint8_t gate_type, uint16_t tss)
{
	struct xfer_event ev = {
		.kind = kind, .vector = vector, .has_error = has_error, .error = error,
		.gate = gate, .gate_type = gate_type, .tss = tss, .from = *f,
	};
	cpu->xfer->event(cpu->xfer->opaque, cpu, &ev);
}
