/* Engine speed: guest instructions per second on CPU-bound loops.
 *
 *   ips [ENGINE...]     ENGINE: interp, bt, kvm (default: interp, and bt
 *                       once it is linked in)
 *
 * Not a test: `make bench-ips` runs it, and `make bench` (bench/bench.py)
 * once per engine. Prints one line per engine and workload. The count is
 * the CPU's retired-instruction count; an engine that does not keep one
 * (kvm: the processor runs the loop) is credited with interp's count for
 * the same code, which is the same by construction. */
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

/* bt is linked in once it exists (as the CLI finds it). */
extern const struct engine_ops bt_engine_ops __attribute__((weak));

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs one loop on one engine. *count: in, the reference instruction
 * count (0: none yet); out, this run's count. */
static int run(const struct engine_ops *ops, const char *name, const unsigned char *code, size_t len,
	       uint64_t *count, int print)
{
	uint32_t ram_size = 16 << 20;
	uint8_t *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return 1;
	struct cpu_bus bus = {.pio_read = pio_read, .pio_write = pio_write, .mmio_read = mmio_read,
			      .mmio_write = mmio_write, .intr_ack = ack};
	struct cpu_memmap mm = {.ram = ram, .ram_size = ram_size, .a20 = true};
	static struct cpu cpu;
	if (cpu_init(&cpu, &mm, &bus)) {
		munmap(ram, ram_size);
		return 1;
	}
	char err[256] = "";
	struct engine *e = ops->create(&cpu, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "%s: cannot create the engine: %s\n", ops->name, err);
		cpu_free(&cpu);
		munmap(ram, ram_size);
		return 1;
	}
	cpu_phys_write(&cpu, 0x100000, code, (uint32_t)len);
	cpu_set_flat32(&cpu);
	cpu.eip = 0x100000;
	cpu.r[R_ESP] = 0x300000;
	if (ops->sync_in)
		ops->sync_in(e);
	double t0 = now();
	enum cpu_stop st = ops->run(e, ~0ull, ~0ull);
	double t = now() - t0;
	if (ops->sync_out)
		ops->sync_out(e);
	int rc = 0;
	if (st != CPU_STOP_HALT) {
		fprintf(stderr, "%s %s: stopped with %d at eip %08x (an instruction missing?)\n", ops->name, name,
			st, cpu.eip);
		rc = 1;
	} else {
		uint64_t n = cpu.icount ? cpu.icount : *count;
		*count = n;
		if (print)
			printf("%-6s %-6s %12llu insns %7.3f s %8.1f M guest insns/s\n", ops->name, name,
			       (unsigned long long)n, t, (double)n / t / 1e6);
	}
	ops->destroy(e);
	cpu_free(&cpu);
	munmap(ram, ram_size);
	return rc;
}

static const struct engine_ops *find(const char *name)
{
	if (!strcmp(name, "interp"))
		return &interp_engine_ops;
	if (!strcmp(name, "bt"))
		return &bt_engine_ops; /* NULL until bt is linked in */
	if (!strcmp(name, "kvm"))
		return &kvm_engine_ops;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		const unsigned char *code, *end;
	} loops[] = {
		{"alu", ips_alu, ips_alu_end},
		{"mem", ips_mem, ips_mem_end},
	};
	const char *def[] = {"interp", "bt"};
	const char **want = (const char **)argv + 1;
	int nwant = argc - 1;
	if (nwant == 0) {
		want = def;
		nwant = &bt_engine_ops ? 2 : 1;
	}
	int rc = 0;
	for (int w = 0; w < nwant; w++) {
		if (!strcmp(want[w], "-h") || !strcmp(want[w], "--help")) {
			printf("usage: %s [interp|bt|kvm]...\n", argv[0]);
			return 0;
		}
		const struct engine_ops *ops = find(want[w]);
		if (!ops) {
			if (!strcmp(want[w], "bt"))
				fprintf(stderr, "bt: not implemented\n");
			else
				fprintf(stderr, "%s: unknown engine (interp, bt, kvm)\n", want[w]);
			rc = 1;
			continue;
		}
		for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
			size_t len = (size_t)(loops[i].end - loops[i].code);
			uint64_t count = 0;
			/* An engine without a count gets interp's for the same loop. */
			if (ops != &interp_engine_ops && run(&interp_engine_ops, loops[i].name, loops[i].code, len,
							     &count, 0))
				count = 0;
			rc |= run(ops, loops[i].name, loops[i].code, len, &count, 1);
		}
	}
	return rc;
}
