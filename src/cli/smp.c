/* -smp parsing (smp.h). */
#include "cli/smp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/pc.h"

/* A count from 1 to 255: 0, or -1 if s is not one. */
static int count(const char *s, size_t n, long *out)
{
	char buf[16];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	long v = strtol(buf, &end, 10);
	if (*end || buf[0] < '0' || buf[0] > '9' || v < 1 || v > 255)
		return -1;
	*out = v;
	return 0;
}

int smp_parse(const char *arg, int *ncpus, char *err, size_t errlen)
{
	static const char *const keys[] = { "cpus", "sockets", "cores", "threads", "maxcpus" };
	long val[5] = { 0, 0, 0, 0, 0 };
	const char *p = arg;
	for (int first = 1;; first = 0) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		int k = 0;
		if (eq) {
			for (k = 0; k < 5; k++)
				if (strlen(keys[k]) == (size_t)(eq - p) && !strncmp(p, keys[k], (size_t)(eq - p)))
					break;
			if (k == 5) {
				snprintf(err, errlen, "-smp '%s': unknown key '%.*s' (cpus, sockets, cores, threads, maxcpus)",
					 arg, (int)(eq - p), p);
				return -1;
			}
		} else if (!first) {
			snprintf(err, errlen, "-smp '%s': '%.*s' is not KEY=VALUE", arg, (int)len, p);
			return -1;
		}
		const char *v = eq ? eq + 1 : p;
		if (count(v, len - (size_t)(v - p), &val[k]) < 0) {
			snprintf(err, errlen, "-smp '%s': '%.*s' is not a count from 1 to 255", arg, (int)(len - (size_t)(v - p)), v);
			return -1;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	long topo = (val[1] ? val[1] : 1) * (val[2] ? val[2] : 1) * (val[3] ? val[3] : 1);
	long n = val[0] ? val[0] : topo;
	if ((val[1] || val[2] || val[3]) && topo != n) {
		snprintf(err, errlen, "-smp '%s': sockets * cores * threads = %ld, not the %ld CPUs asked for", arg, topo, n);
		return -1;
	}
	if (val[4] && val[4] != n) {
		snprintf(err, errlen, "-smp '%s': maxcpus must equal cpus (ringvm has no CPU hotplug)", arg);
		return -1;
	}
	if (n > PC_MAX_CPUS) {
		snprintf(err, errlen, "-smp '%s': ringvm's board takes 1 to %d CPUs", arg, PC_MAX_CPUS);
		return -1;
	}
	*ncpus = (int)n;
	return 0;
}
