/* Handlers: x87 family (filled in by its owner). */
#include "cpu/exec.h"

const struct op_entry ops_x87_table[] = {
	{0, 0, 0, 0},
};
