/* Interpreter speed: guest instructions per second on CPU-bound loops.
 * Not a test: run with `make bench-ips`. Prints one line per workload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cpu/cpu.h"
#include "cpu/exec.h"
#include "engine/engine.h"

/* Three loops: register ALU, memory read-modify-write with a call, and a
 * byte-copy string loop — what kernels and C programs spend time in. */
__asm__(".pushsection .rodata\n"
	"ips_alu:\n.code32\n"
	" mov $50000000, %ecx\n xor %eax, %eax\n mov $7, %ebx\n"
	"1: add %ebx, %eax\n xor %ecx, %eax\n shl $1, %ebx\n sub $1, %ecx\n jnz 1b\n hlt\n"
	".code64\nips_alu_end:\n"
	"ips_mem:\n.code32\n"
	" mov $20000000, %ecx\n mov $0x200000, %esi\n"
	"1: mov (%esi), %eax\n add %ecx, %eax\n mov %eax, (%esi)\n call 2f\n dec %ecx\n jnz 1b\n hlt\n"
	"2: push %ebx\n mov 4(%esi), %ebx\n pop %ebx\n ret\n"
	".code64\nips_mem_end:\n"
	".popsection\n");
extern const unsigned char ips_alu[], ips_alu_end[], ips_mem[], ips_mem_end[];

static uint32_t pio_read(void *o, uint16_t p, int s) { (void)o; (void)p; (void)s; return 0; }
static void pio_write(void *o, uint16_t p, int s, uint32_t v) { (void)o; (void)p; (void)s; (void)v; }
static uint32_t mmio_read(void *o, uint32_t p, int s) { (void)o; (void)p; (void)s; return 0; }
static void mmio_write(void *o, uint32_t p, int s, uint32_t v) { (void)o; (void)p; (void)s; (void)v; }
static int ack(void *o) { (void)o; return 0; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run(const char *name, const unsigned char *code, size_t len)
{
	uint32_t ram_size = 16 << 20;
	uint8_t *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return 1;
	struct cpu_bus bus = {NULL, pio_read, pio_write, mmio_read, mmio_write, ack, NULL};
	struct cpu_memmap mm = {.ram = ram, .ram_size = ram_size, .a20 = true};
	static struct cpu cpu;
	if (cpu_init(&cpu, &mm, &bus))
		return 1;
	char err[128];
	struct engine *e = interp_engine_ops.create(&cpu, err, sizeof(err));
	cpu_phys_write(&cpu, 0x100000, code, (uint32_t)len);
	cpu_set_flat32(&cpu);
	cpu.eip = 0x100000;
	cpu.r[R_ESP] = 0x300000;
	double t0 = now();
	enum cpu_stop st = interp_engine_ops.run(e, ~0ull, ~0ull);
	double t = now() - t0;
	if (st != CPU_STOP_HALT) {
		fprintf(stderr, "%s: stopped with %d at eip %08x (an instruction missing?)\n", name, st, cpu.eip);
		return 1;
	}
	printf("interp %-6s %12llu insns %7.3f s %8.1f M guest insns/s\n", name,
	       (unsigned long long)cpu.icount, t, (double)cpu.icount / t / 1e6);
	interp_engine_ops.destroy(e);
	cpu_free(&cpu);
	munmap(ram, ram_size);
	return 0;
}

int main(void)
{
	int rc = 0;
	rc |= run("alu", ips_alu, (size_t)(ips_alu_end - ips_alu));
	rc |= run("mem", ips_mem, (size_t)(ips_mem_end - ips_mem));
	return rc;
}
