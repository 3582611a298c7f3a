/* Page tables (SDM Vol. 3, 4.3: 32-bit paging, 4 KiB pages).
 *
 * The kernel's directory identity-maps the first 8 MiB as supervisor
 * pages, except page 0 (not present, to catch null pointers) and the
 * .user section (U/S=1: code and data ring 3 may touch). PDE 2 maps
 * TEST_VA, a window whose entries the checks rewrite. Each user task
 * has its own directory: the same kernel tables plus a private page at
 * TASK_VA backed by a different frame. */
#include "ringos.h"

#define PG_P 0x001
#define PG_W 0x002
#define PG_U 0x004

u32 kernel_pd[1024] __attribute__((aligned(4096)));
static u32 pt_low[2][1024] __attribute__((aligned(4096)));
static u32 pt_test[1024] __attribute__((aligned(4096)));
static u32 pd_task[2][1024] __attribute__((aligned(4096)));
static u32 pt_task[2][1024] __attribute__((aligned(4096)));
static u8 frames_task[2][2][4096] __attribute__((aligned(4096)));
static u8 pages_test[8][4096] __attribute__((aligned(4096)));

extern char __user_start[], __user_end[];

u8 *test_page(int i) { return pages_test[i]; }
u32 *task_pd(int i) { return pd_task[i]; }
u32 task_page_pa(int i) { return (u32)frames_task[i][0]; }

u32 *pte_of(u32 *pd, u32 va)
{
	u32 pde = pd[va >> 22];
	u32 *pt = (u32 *)(pde & ~0xfffu);
	return &pt[(va >> 12) & 1023];
}

void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
void flush_tlb(void) { write_cr3(read_cr3()); }

void paging_init(void)
{
	u32 i, t;
	u32 us = (u32)__user_start, ue = (u32)__user_end;
	for (i = 0; i < 2048; i++) {
		u32 pa = i << 12;
		u32 e = pa | PG_P | PG_W;
		if (pa >= us && pa < ue)
			e |= PG_U;
		if (i == 0)
			e = 0;
		pt_low[i >> 10][i & 1023] = e;
	}
	memset(kernel_pd, 0, sizeof kernel_pd);
	/* The directory entries allow everything; the page entries decide
	 * (the effective right is the stricter of the two, SDM 4.6). */
	kernel_pd[0] = (u32)pt_low[0] | PG_P | PG_W | PG_U;
	kernel_pd[1] = (u32)pt_low[1] | PG_P | PG_W | PG_U;
	memset(pt_test, 0, sizeof pt_test);
	kernel_pd[TEST_VA >> 22] = (u32)pt_test | PG_P | PG_W | PG_U;
	for (t = 0; t < 2; t++) {
		memcpy(pd_task[t], kernel_pd, sizeof kernel_pd);
		memset(pt_task[t], 0, sizeof pt_task[t]);
		pt_task[t][0] = (u32)frames_task[t][0] | PG_P | PG_W | PG_U;
		pt_task[t][1] = (u32)frames_task[t][1] | PG_P | PG_W | PG_U;
		pd_task[t][TASK_VA >> 22] = (u32)pt_task[t] | PG_P | PG_W | PG_U;
	}
	write_cr3((u32)kernel_pd);
	write_cr0(read_cr0() | 0x80000000u | 0x10000u); /* PG, WP */
}
