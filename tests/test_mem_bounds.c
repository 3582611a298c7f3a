/* The memory invariant (docs/sandbox.md): a guest never reaches host
 * memory outside its RAM (and, read-only, its ROM). A guest on the engine
 * $RINGVM_ENGINE aims accesses at every boundary: the RAM end (plain,
 * crossing it, REP MOVS/STOS across it upward and downward, an 8 KiB REP
 * STOS running off it), the 4 GiB wrap into RAM, the ROM's two windows,
 * the VGA hole and the read-only BIOS area, and with paging pages that map
 * the last RAM page next to unbacked space, the ROM writable, and a page
 * table that lies outside RAM. Run under ASan, every stray host access
 * is a report; the checks pin the results: unbacked reads give all-ones,
 * writes there are dropped, the ROM never changes, and RAM holds exactly
 * what the guest wrote. A long REP over unbacked space lets the run loop
 * look at its clock after a bounded number of bus accesses. */
#include <time.h>

#include "harness.h"

#define RAM_SIZE 0x200000u
#define END RAM_SIZE
#define ROM_SIZE 0x10000u
#define CODE 0x10000u
#define RES 0x20000u
#define PD 0x40000u
#define PT 0x41000u

static int failures;
static struct harness H;
static uint8_t rom[ROM_SIZE] __attribute__((aligned(4096))), rom_copy[ROM_SIZE];
static unsigned long mmio_writes, mmio_reads;

static void count_write(void *o, uint32_t pa, int size, uint32_t v)
{
	(void)o, (void)pa, (void)size, (void)v;
	mmio_writes++;
}
static uint32_t count_read(void *o, uint32_t pa, int size)
{
	(void)o, (void)pa;
	mmio_reads++;
	return size_mask(size);
}

/* Flat 32-bit, paging off. Results go to RES + 4 * n (R0..). */
SNIP32(flat,
       /* an 8 KiB REP STOSB from 4 KiB below the end: half lands, half is dropped */
       " cld\n mov $0x1ff000, %edi\n mov $0x2000, %ecx\n mov $0x66, %al\n rep stosb\n"
       " mov %edi, 0x20040\n mov %ecx, 0x20044\n"
       " movl $0x11223344, 0x1ffffc\n mov 0x1ffffc, %eax\n mov %eax, 0x20000\n" /* R0 */
       " mov 0x1ffffe, %eax\n mov %eax, 0x20004\n"                               /* R1: crosses the end */
       " movl $0xaabbccdd, 0x1fffff\n"                                            /* one byte lands */
       " mov 0x200000, %eax\n mov %eax, 0x20008\n"                               /* R2: just past the end */
       " mov 0xfffffffc, %eax\n mov %eax, 0x2000c\n"                             /* R3: ROM top */
       " mov %fs:0xfffffefe, %eax\n mov %eax, 0x20010\n"                         /* R4: linear 4 GiB wrap (FS base 0x100) */
       " movl $0, 0xfffffff0\n movl $0, 0xf0000\n movw $0, 0xfffffffe\n"          /* ROM writes: dropped */
       " mov 0xfffffff0, %eax\n mov %eax, 0x20014\n"                             /* R5 */
       " mov 0xf0000, %eax\n mov %eax, 0x20018\n"                                /* R6: ROM low alias */
       " mov 0xa0000, %eax\n mov %eax, 0x2001c\n"                                /* R7: VGA hole */
       " movb $0, 0xc0000\n movzbl 0xc0000, %eax\n mov %eax, 0x20020\n"          /* R8: read-only area */
       " mov 0x9fffe, %eax\n mov %eax, 0x20024\n"                                /* R9: RAM into the hole */
       /* REP STOSB across the end */
       " mov $0x1ffff0, %edi\n mov $32, %ecx\n mov $0x77, %al\n rep stosb\n"
       " mov %edi, 0x20028\n mov %ecx, 0x2002c\n"                                /* R10, R11 */
       /* REP MOVSB from across the end into RAM */
       " mov $0x1ffff0, %esi\n mov $0x30000, %edi\n mov $32, %ecx\n rep movsb\n"
       /* REP STOSD downward from past the end into RAM */
       " std\n mov $0x200004, %edi\n mov $4, %ecx\n mov $0x55555555, %eax\n rep stosl\n cld\n"
       " mov %edi, 0x20030\n"                                                     /* R12 */
       /* REP MOVSD across the 4 GiB wrap: the ROM's last 16 bytes, then RAM 0.. */
       " mov $0xfffffef0, %esi\n mov $0x31000, %edi\n mov $8, %ecx\n rep movsl %fs:(%esi), %es:(%edi)\n"
       " mov %esi, 0x20034\n"                                                     /* R13 */
       /* REP MOVSB from unbacked space into RAM, and from RAM into it */
       " mov $0x40000000, %esi\n mov $0x32000, %edi\n mov $64, %ecx\n rep movsb\n"
       " mov $0x30000, %esi\n mov $0x7ffffff0, %edi\n mov $64, %ecx\n rep movsb\n"
       " hlt\n")

/* Paging on: linear 0x300000 -> the last RAM page, 0x301000 -> unbacked
 * (the RAM end), 0x302000 -> the ROM's last page, writable; linear
 * 0x400000-0x7fffff through a page table outside RAM. */
SNIP32(paged,
       " movl $0xcafebabe, 0x300ffe\n mov 0x300ffe, %eax\n mov %eax, 0x20080\n"  /* R32 */
       " movl $0, 0x302000\n mov 0x302000, %eax\n mov %eax, 0x20084\n"           /* R33: ROM page */
       " mov 0x400010, %eax\n mov %eax, 0x20088\n"                               /* R34: PT outside RAM */
       " movl $0x12345678, 0x400020\n"
       " mov $0x300ff0, %edi\n mov $8, %ecx\n mov $0x99999999, %eax\n rep stosl\n"
       " mov %edi, 0x2008c\n"                                                     /* R35 */
       " hlt\n")

/* A REP STOSB that first overwrites its own code page (so it may not
 * simply stop and be fetched again), then runs 16 M elements on into
 * unbacked space, with interrupts enabled. */
SNIP32(selfrep, " cld\n sti\n mov $0x10ff0, %edi\n mov $0x01000000, %ecx\n mov $0x90, %al\n rep stosb\n hlt\n")

/* A REP STOSB of 1 MiB into unbacked space. */
SNIP32(longrep, " cld\n mov $0x40000000, %edi\n mov $0x00100000, %ecx\n rep stosb\n hlt\n")

static uint32_t rd(uint32_t pa) { uint32_t v; memcpy(&v, H.ram + pa, 4); return v; }
static uint32_t res(int n) { return rd(RES + 4u * (uint32_t)n); }
static uint32_t rom32(uint32_t off) { uint32_t v; memcpy(&v, rom + off, 4); return v; }

static void run_to_halt(const char *what)
{
	enum cpu_stop st = h_run(&H, 10000000);
	if (H.eng->ops->sync_out)
		H.eng->ops->sync_out(H.eng);
	CHECK(st == CPU_STOP_HALT, "%s: stopped with %d at eip %#x, want HLT", what, (int)st, H.cpu.eip);
}

static void start(const unsigned char *s, const unsigned char *e)
{
	h_flat32(&H, CODE, 0x8000);
	h_load(&H, CODE, s, (size_t)(e - s));
}

static void sync_in(void)
{
	if (H.eng->ops->sync_in)
		H.eng->ops->sync_in(H.eng);
}

static void flat_checks(void)
{
	H.ram[0] = 0xa1, H.ram[1] = 0xa2, H.ram[2] = 0xa3, H.ram[3] = 0xa4;
	for (uint32_t i = 4; i < 16; i++)
		H.ram[i] = (uint8_t)(0xb0 + i);
	H.ram[0xc0000] = 0x5a;
	H.ram[0x9fffe] = 0x34, H.ram[0x9ffff] = 0x12;
	start(flat_start, flat_end);
	/* FS based at 0x100 with a 4 GiB limit: offsets near the top reach
	 * linear addresses that wrap 4 GiB without failing the limit check. */
	seg_set_cache(&H.cpu.seg[S_FS], 0x18, 0x100, 0xffffffffu, 0xc093);
	sync_in();
	run_to_halt("flat");
	CHECK(res(16) == END + 0x1000 && res(17) == 0, "8 KiB REP STOSB: EDI %#x ECX %#x", res(16), res(17));
	int bad = 0;
	for (uint32_t a = END - 0x1000; a < END - 0x20; a++)
		bad += H.ram[a] != 0x66;
	CHECK(bad == 0, "8 KiB REP STOSB: %d bytes below the end not written", bad);
	CHECK(res(0) == 0x11223344, "R0 %#x", res(0));
	CHECK(res(1) == 0xffff1122, "dword read crossing the end: %#x, want 0xffff1122", res(1));
	CHECK(res(2) == 0xffffffff, "read past the end: %#x", res(2));
	CHECK(res(3) == rom32(ROM_SIZE - 4), "ROM top: %#x want %#x", res(3), rom32(ROM_SIZE - 4));
	uint32_t wrap = (uint32_t)rom[ROM_SIZE - 2] | (uint32_t)rom[ROM_SIZE - 1] << 8 | 0xa2a10000u;
	CHECK(res(4) == wrap, "dword read wrapping 4 GiB: %#x want %#x", res(4), wrap);
	CHECK(res(5) == rom32(ROM_SIZE - 16), "ROM after writes: %#x", res(5));
	CHECK(res(6) == rom32(0), "ROM low alias: %#x want %#x", res(6), rom32(0));
	CHECK(res(7) == 0xffffffff, "VGA hole: %#x", res(7));
	CHECK(res(8) == 0x5a, "read-only BIOS area written: %#x", res(8));
	CHECK(res(9) == 0xffff1234, "read from RAM into the hole: %#x", res(9));
	CHECK(res(10) == END + 16 && res(11) == 0, "REP STOSB across the end: EDI %#x ECX %#x", res(10), res(11));
	/* the last 16 bytes: 0x77, except where the STOSD below wrote */
	CHECK(rd(END - 16) == 0x77777777 && rd(END - 12) == 0x77777777, "REP STOSB at the end: %#x %#x",
	      rd(END - 16), rd(END - 12));
	CHECK(rd(0x30000) == 0x77777777 && rd(0x3000c) == 0x77777777 && rd(0x30010) == 0xffffffff &&
		      rd(0x3001c) == 0xffffffff,
	      "REP MOVSB across the end: %#x %#x %#x %#x", rd(0x30000), rd(0x3000c), rd(0x30010), rd(0x3001c));
	CHECK(rd(END - 8) == 0x55555555 && rd(END - 4) == 0x55555555 && res(12) == END - 12,
	      "REP STOSD down across the end: %#x %#x EDI %#x", rd(END - 8), rd(END - 4), res(12));
	CHECK(!memcmp(H.ram + 0x31000, rom + ROM_SIZE - 16, 16) && H.ram[0x31010] == 0xa1 &&
		      rd(0x3101c) == 0xbfbebdbc && res(13) == 0xffffff10,
	      "REP MOVSD across 4 GiB: %#x %#x ESI %#x", rd(0x31000), rd(0x3101c), res(13));
	bad = 0;
	for (uint32_t a = 0x32000; a < 0x32040; a++)
		bad += H.ram[a] != 0xff;
	CHECK(bad == 0, "REP MOVSB from unbacked space: %d bytes not all-ones", bad);
}

static void paged_checks(void)
{
	memset(H.ram + PD, 0, 0x2000);
	uint32_t pde0 = PT | 3, pde1 = 0x40000000u | 3; /* PT 1: outside RAM */
	memcpy(H.ram + PD, &pde0, 4);
	memcpy(H.ram + PD + 4, &pde1, 4);
	for (uint32_t i = 0; i < 0x200; i++) {
		uint32_t pte = (i << 12) | 3;
		memcpy(H.ram + PT + 4 * i, &pte, 4);
	}
	uint32_t maps[3] = {(END - 0x1000) | 3, END | 3, 0xfffff000u | 3};
	memcpy(H.ram + PT + 4 * 0x300, maps, sizeof(maps));
	start(paged_start, paged_end);
	H.cpu.cr3 = PD;
	H.cpu.cr0 |= CR0_PG;
	tlb_flush_all(&H.cpu, 0);
	sync_in();
	run_to_halt("paged");
	CHECK(res(32) == 0xffffbabe, "paged read crossing the end: %#x", res(32));
	CHECK(res(33) == rom32(0xf000), "writable PTE to the ROM: %#x want %#x", res(33), rom32(0xf000));
	CHECK(res(34) == rom32(0xf010), "page table outside RAM (all-ones PTE -> the ROM's last page): %#x want %#x",
	      res(34), rom32(0xf010));
	CHECK(rd(END - 16) == 0x99999999 && rd(END - 4) == 0x99999999 && res(35) == 0x301010,
	      "paged REP STOSD across the end: %#x %#x EDI %#x", rd(END - 16), rd(END - 4), res(35));
}

/* The run loop reads its clock between blocks; a REP instruction over
 * unbacked space must not hold it for more than a few hundred bus
 * accesses per instruction of the budget. */
static void long_rep(void)
{
	H.bus.mmio_write = count_write;
	start(longrep_start, longrep_end);
	sync_in();
	uint64_t icount = H.cpu.icount;
	h_run(&H, 5); /* the four MOVs and one REP STOSB's first part */
	if (H.eng->ops->sync_out)
		H.eng->ops->sync_out(H.eng);
	unsigned long first = mmio_writes;
	CHECK(first > 0 && first <= 512, "one run of a REP STOSB over unbacked space made %lu bus writes (%llu insns)",
	      first, (unsigned long long)(H.cpu.icount - icount));
	run_to_halt("long REP");
	CHECK(mmio_writes == 0x100000, "long REP: %lu bus writes, want %u", mmio_writes, 0x100000u);
	H.bus.mmio_write = h_mmio_write;
}

static uint64_t host_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The processor takes interrupts between iterations, so with IF = 1 a
 * string instruction that rewrote its own code still lets the run loop
 * look at its timers once the run's host deadline has passed (it would
 * otherwise hold them for the whole count: seconds here, minutes for 4 G). */
static void self_rep_yields(void)
{
	start(selfrep_start, selfrep_end);
	/* the code page must hold decoded code before the REP writes it */
	memset(H.ram + 0x10000 + (uint32_t)(selfrep_end - selfrep_start), 0x90, 0x100);
	sync_in();
	H.cpu.stop_request = 0;
	uint64_t t0 = host_now();
	H.eng->ops->run(H.eng, t0 + 10000000u, ~0ull); /* 10 ms */
	uint64_t ms = (host_now() - t0) / 1000000u;
	if (H.eng->ops->sync_out)
		H.eng->ops->sync_out(H.eng);
	CHECK(H.cpu.r[R_ECX] != 0 && ms < 2000,
	      "REP over its own code, IF=1: the run returned after %llu ms with ECX %#x (want: soon after the "
	      "10 ms deadline, mid-count)",
	      (unsigned long long)ms, H.cpu.r[R_ECX]);
}

int main(void)
{
	for (uint32_t i = 0; i < ROM_SIZE; i++)
		rom[i] = (uint8_t)(i * 7 + 1 + (i >> 8));
	memcpy(rom_copy, rom, ROM_SIZE);
	h_init_rom(&H, RAM_SIZE, rom, ROM_SIZE);
	const char *eng = H.eng->ops->name;
	flat_checks();
	/* kvm: the processor runs the guest, exiting on each MMIO access
	 * (t_kvm_mem_bounds runs the flat part where the host allows); this
	 * host's kvm may not run 32-bit paging, and its REP is not ours. */
	if (strcmp(eng, "kvm") != 0) {
		paged_checks();
		long_rep();
		self_rep_yields();
	}
	CHECK(!memcmp(rom, rom_copy, ROM_SIZE), "the ROM image changed");
	(void)count_read;
	(void)mmio_reads;
	h_free(&H);
	if (failures)
		return 1;
	printf("memory bounds on %s: RAM end, 4 GiB wrap, holes, ROM, REP across the end\n", eng);
	return 0;
}
