/* The host's TSC rate in Hz, measured against CLOCK_MONOTONIC.
 * QEMU-TCG hands the guest the host's TSC (RDTSC reads host ticks), ringvm
 * a 1 GHz one (nanoseconds); the benchmark driver needs this to put both
 * in nanoseconds. Not a test: bench/bench.py runs it. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void)
{
	/* Best of three 100 ms windows: a preempted window reads long in both
	 * clocks alike, so the ratio stays good; the spread says if not. */
	double best = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = now_ns(), c0 = __rdtsc();
		while (now_ns() - t0 < 100000000u)
			;
		uint64_t t1 = now_ns(), c1 = __rdtsc();
		double hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
		if (i == 0 || hz > best)
			best = hz;
	}
	printf("%.0f\n", best);
	return 0;
}
