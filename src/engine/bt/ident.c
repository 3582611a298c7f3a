/* Guest instructions the translator emits as host code of its own. */
#include "engine/bt/tstate.h"

int ident_emit(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k)
{
	(void)ts;
	(void)in;
	(void)off;
	(void)k;
	return 0;
}
