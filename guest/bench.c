#include "ringos.h"
void bench(void) { kprintf("bench TODO\n"); }
