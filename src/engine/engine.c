/* The engine table: every engine this build has, found by name. */
#include <string.h>

#include "engine/engine.h"

const struct engine_ops *engine_find(const char *name)
{
	const struct engine_ops *const table[] = { &interp_engine_ops, &bt_engine_ops, &kvm_engine_ops };
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i] && name && !strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}
