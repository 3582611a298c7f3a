/* The same guest code run in different block modes (cpu_block_mode():
 * flat or based data segments, the TLB set of the privilege level), and a
 * mode change in the middle of a block. bt specialises each translation
 * on its block's mode, so a translation reused in another mode, or run on
 * past an instruction that changed the mode, reads the wrong memory or
 * misses a protection check; interp must agree on every one of these. */
#include "test_protect_util.h"

/* ECX = [EBX] through DS as it is, then DS = AX, EDX = [EBX] again. */
SNIP32(reload_ds, " mov (%ebx), %ecx\n mov %ax, %ds\n mov (%ebx), %edx\n int $0x40\n")
/* The same through ES with a string instruction, and through SS. */
SNIP32(reload_es, " mov %es:(%ebx), %ecx\n mov %ax, %es\n mov %ebx, %edi\n"
		  " mov %es:(%edi), %edx\n int $0x40\n")
SNIP32(read_ebx, " mov (%ebx), %ecx\n int $0x40\n")

#define BASED_SEL FREE_SEL /* data, base 0x1000, 4 GiB: not flat */
#define CODE2 (CODE + 0x1000)

/* pm_ring() for one more run: the last ended in the stub's HLT. */
static void again(int r, uint32_t eip)
{
	H.cpu.halted = 0;
	pm_ring(r, eip, ring_stack[r]);
}

static void ds_setup(void)
{
	pm_setup();
	set_gdt(BASED_SEL, mkseg(0x1000, 0xfffff, 0x3, 0, 1, 0xc));
	LOAD(reload_ds, CODE);
	LOAD(reload_es, CODE2);
}

/* Runs in a row without pm_setup(), whose CPU reset would drop every
 * block: the second run of the same code finds the first run's blocks
 * (and translations), made in another mode. */
static void t_ds_reload(void)
{
	ds_setup();
	for (int pass = 0; pass < 2; pass++) {
		wr32(0x50000, 0x11111111);
		wr32(0x51000, 0x22222222);
		again(0, CODE);
		H.cpu.r[R_EAX] = BASED_SEL;
		H.cpu.r[R_EBX] = 0x50000;
		CHECK(run() == DONE, "flat -> based DS: did not finish");
		CHECK(H.cpu.r[R_ECX] == 0x11111111, "flat DS read %08x", H.cpu.r[R_ECX]);
		CHECK(H.cpu.r[R_EDX] == 0x22222222, "based DS read after MOV DS in the block: %08x",
		      H.cpu.r[R_EDX]);

		/* and back: based to flat, the same code */
		again(0, CODE);
		cache_load(S_DS, BASED_SEL);
		H.cpu.r[R_EAX] = K_DS;
		H.cpu.r[R_EBX] = 0x50000;
		CHECK(run() == DONE, "based -> flat DS: did not finish");
		CHECK(H.cpu.r[R_ECX] == 0x22222222, "based DS read %08x", H.cpu.r[R_ECX]);
		CHECK(H.cpu.r[R_EDX] == 0x11111111, "flat DS read after MOV DS in the block: %08x",
		      H.cpu.r[R_EDX]);

		again(0, CODE2);
		H.cpu.r[R_EAX] = BASED_SEL;
		H.cpu.r[R_EBX] = 0x50000;
		CHECK(run() == DONE, "flat -> based ES: did not finish");
		CHECK(H.cpu.r[R_ECX] == 0x11111111 && H.cpu.r[R_EDX] == 0x22222222,
		      "ES reads %08x %08x", H.cpu.r[R_ECX], H.cpu.r[R_EDX]);
	}
}

/* Paging with the page at 0x200000 supervisor-only: the same code reads
 * it at ring 0 (fine, and the supervisor TLB set now maps it) and then at
 * ring 3 (#PF, error code 5: user, read, present), and again. */
#define PD 0x90000u
#define PT 0x91000u
static void t_cpl_tlb_set(void)
{
	pm_setup();
	memset(H.ram + PD, 0, 0x2000);
	wr32(PD, PT | 7);
	for (uint32_t i = 0; i < 1024; i++)
		wr32(PT + 4 * i, (i << 12) | (i == 0x200 ? 3 : 7));
	H.cpu.cr3 = PD;
	H.cpu.cr0 |= CR0_PG;
	tlb_flush_all(&H.cpu, 0);
	wr32(0x200000, 0x77777777);
	LOAD(read_ebx, CODE);
	static const int rings[] = { 0, 3, 0, 3 };
	for (unsigned i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
		int r = rings[i];
		again(r, CODE);
		H.cpu.r[R_EBX] = 0x200000;
		H.cpu.r[R_ECX] = 0;
		if (r == 0) {
			CHECK(run() == DONE, "ring 0 read of a supervisor page: did not finish");
			CHECK(H.cpu.r[R_ECX] == 0x77777777, "ring 0 read %08x", H.cpu.r[R_ECX]);
		} else {
			EXPECT_EXC(EXC_PF, 5);
			CHECK(H.cpu.cr2 == 0x200000, "CR2 %08x", H.cpu.cr2);
			CHECK(H.cpu.r[R_ECX] == 0, "ring 3 read a supervisor page: %08x", H.cpu.r[R_ECX]);
		}
	}
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_ds_reload();
	t_cpl_tlb_set();
	return finish("block mode");
}
