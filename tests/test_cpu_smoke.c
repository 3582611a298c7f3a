/* The interpreter runs real-mode and flat 32-bit code, writes ports,
 * halts, and drops decoded code when it is overwritten. */
#include "harness.h"

__asm__(".pushsection .rodata\n"
	"rm_start:\n.code16\n"
	" mov $0x4f, %al\n out %al, $0xe9\n mov $0x4b, %al\n out %al, $0xe9\n"
	" jmp 1f\n hlt\n1: mov $0x0a, %al\n out %al, $0xe9\n hlt\n"
	".code64\nrm_end:\n"
	"pm_start:\n.code32\n"
	" mov $0x12345678, %eax\n mov %eax, 0x5000\n mov 0x5000, %ebx\n"
	" movb $0x21, %al\n out %al, $0xe9\n hlt\n"
	".code64\npm_end:\n"
	/* F3 0F BC / F3 0F BD on a P6: BSF/BSR with a REP prefix ignored (not
	 * TZCNT/LZCNT, which the host would run) */
	"rep_bsf:\n.code32\n"
	" mov $0x80, %ecx\n mov $0x55, %eax\n .byte 0xf3, 0x0f, 0xbd, 0xc1\n" /* rep bsr eax, ecx */
	" mov $0, %ecx\n mov $0x66, %ebx\n .byte 0xf3, 0x0f, 0xbc, 0xd9\n hlt\n" /* rep bsf ebx, ecx */
	".code64\nrep_bsf_end:\n"
	".popsection\n");
extern const unsigned char rm_start[], rm_end[], pm_start[], pm_end[], rep_bsf[], rep_bsf_end[];

int main(void)
{
	int failures = 0;
	struct harness h;
	h_init(&h, 4 << 20);

	h_load(&h, 0x7c00, rm_start, (size_t)(rm_end - rm_start));
	h_real(&h, 0, 0x7c00);
	enum cpu_stop st = h_run(&h, 1000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(strcmp(h.out, "OK\n") == 0, "out '%s'", h.out);

	h.nout = 0;
	h.out[0] = 0;
	h_load(&h, 0x100000, pm_start, (size_t)(pm_end - pm_start));
	h_flat32(&h, 0x100000, 0x90000);
	st = h_run(&h, 1000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(h.cpu.r[R_EBX] == 0x12345678, "ebx %08x", h.cpu.r[R_EBX]);
	CHECK(strcmp(h.out, "!") == 0, "out '%s'", h.out);

	/* Overwrite the code: the cached block must not run again. */
	static const unsigned char patch[] = {0xb0, 0x3f, 0xe6, 0xe9, 0xf4}; /* mov al,'?'; out; hlt */
	h_load(&h, 0x100000, patch, sizeof(patch));
	h.nout = 0;
	h.out[0] = 0;
	h_flat32(&h, 0x100000, 0x90000);
	st = h_run(&h, 1000);
	CHECK(strcmp(h.out, "?") == 0, "after patch out '%s'", h.out);

	h_load(&h, 0x100000, rep_bsf, (size_t)(rep_bsf_end - rep_bsf));
	h_flat32(&h, 0x100000, 0x90000);
	st = h_run(&h, 1000);
	CHECK(st == CPU_STOP_HALT, "rep bsf stop %d", st);
	CHECK(h.cpu.r[R_EAX] == 7, "rep bsr 0x80 = %u, want 7 (LZCNT would give 24)", h.cpu.r[R_EAX]);
	CHECK(h.cpu.r[R_EBX] == 0x66, "rep bsf of 0 changed ebx to %x (TZCNT gives 32)", h.cpu.r[R_EBX]);
	CHECK(h.cpu.eflags & FL_ZF, "rep bsf of 0: ZF=1");

	h_free(&h);
	if (failures)
		return 1;
	printf("cpu smoke: ok\n");
	return 0;
}
