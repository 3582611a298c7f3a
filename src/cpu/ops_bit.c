/* Handlers: bit family (filled in by its owner). */
#include "cpu/exec.h"

const struct op_entry ops_bit_table[] = {
	{0, 0, 0, 0},
};
