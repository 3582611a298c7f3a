/* The few C library functions a freestanding kernel needs (gcc may
 * emit calls to memset/memcpy even with -ffreestanding). */
#include "ringos.h"

void *memset(void *d, int c, u32 n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, u32 n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, u32 n)
{
	const u8 *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

u32 strlen(const char *s)
{
	u32 n = 0;
	while (s[n])
		n++;
	return n;
}

/* Is w one of the space-separated words of s? */
int str_has_word(const char *s, const char *w)
{
	u32 n = strlen(w);
	while (*s) {
		while (*s == ' ')
			s++;
		if (!memcmp(s, w, n) && (s[n] == 0 || s[n] == ' '))
			return 1;
		while (*s && *s != ' ')
			s++;
	}
	return 0;
}
