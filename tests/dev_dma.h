/* Guest RAM for device tests that do DMA (fw_cfg, IDE): mem[] of
 * DMA_MEM_SIZE bytes (define it first) behind a struct guest_dma. */
#ifndef RINGVM_TEST_DEV_DMA_H
#define RINGVM_TEST_DEV_DMA_H

#include <string.h>

#include "dev/dev.h"

static uint8_t mem[DMA_MEM_SIZE];

static int dma_rd(void *o, uint32_t pa, void *dst, uint32_t len)
{
	(void)o;
	if (pa > sizeof(mem) || len > sizeof(mem) - pa)
		return -1;
	memcpy(dst, mem + pa, len);
	return 0;
}

static int dma_wr(void *o, uint32_t pa, const void *src, uint32_t len)
{
	(void)o;
	if (pa > sizeof(mem) || len > sizeof(mem) - pa)
		return -1;
	memcpy(mem + pa, src, len);
	return 0;
}

#endif
