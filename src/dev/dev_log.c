/* Messages about a guest's mistakes (see dev.h). */
#include "dev/dev.h"

#include <stdarg.h>

#define DEV_LOG_LIMIT 20u

void dev_logf(FILE *log, unsigned *count, const char *who, const char *fmt, ...)
{
	if (!log || *count >= DEV_LOG_LIMIT)
		return;
	++*count;
	va_list ap;
	va_start(ap, fmt);
	fprintf(log, "ringvm: %s: ", who);
	vfprintf(log, fmt, ap);
	fprintf(log, *count == DEV_LOG_LIMIT ? " (further messages suppressed)\n" : "\n");
	va_end(ap);
}
