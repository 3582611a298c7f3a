#include "ringos.h"
void tour(void) { kprintf("tour TODO\n"); }
