/* Ring 0 console: a polled 16550 at 0x3f8 and a small printf. */
#include <stdarg.h>

#include "ringos.h"

#define COM1 0x3f8

void con_init(void)
{
	outb(COM1 + 1, 0x00); /* no UART interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFOs on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void con_putc(char c)
{
	int spin = 100000;
	if (c == '\n')
		con_putc('\r');
	while (!(inb(COM1 + 5) & 0x20) && --spin) /* LSR.THRE */
		;
	outb(COM1, (u8)c);
}

void kputs(const char *s)
{
	while (*s)
		con_putc(*s++);
}

struct sink {
	char *buf;
	u32 n, len;
};

static void put(struct sink *k, char c)
{
	if (!k->buf)
		con_putc(c);
	else if (k->len + 1 < k->n)
		k->buf[k->len] = c;
	k->len++;
}

static void put_num(struct sink *k, u32 v, int base, int width, char pad, int neg)
{
	char tmp[12];
	int i = 0;
	do {
		tmp[i++] = "0123456789abcdef"[v % (u32)base];
		v /= (u32)base;
	} while (v);
	if (neg)
		tmp[i++] = '-';
	while (width-- > i)
		put(k, pad);
	while (i)
		put(k, tmp[--i]);
}

static void vformat(struct sink *k, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, left = 0;
		char pad = ' ';
		if (*fmt != '%') {
			put(k, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		switch (*fmt) {
		case 'd': {
			s32 v = va_arg(ap, s32);
			put_num(k, v < 0 ? (u32)-v : (u32)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(k, va_arg(ap, u32), 10, width, pad, 0);
			break;
		case 'x':
			put_num(k, va_arg(ap, u32), 16, width, pad, 0);
			break;
		case 'c':
			put(k, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = (int)strlen(s);
			if (!left)
				while (width-- > n)
					put(k, ' ');
			while (*s)
				put(k, *s++);
			if (left)
				while (width-- > n)
					put(k, ' ');
			break;
		}
		case '%':
			put(k, '%');
			break;
		default:
			put(k, '?');
			break;
		}
	}
}

void kprintf(const char *fmt, ...)
{
	struct sink k = {0, 0, 0};
	va_list ap;
	va_start(ap, fmt);
	vformat(&k, fmt, ap);
	va_end(ap);
}

int ksnprintf(char *buf, u32 n, const char *fmt, ...)
{
	struct sink k = {buf, n, 0};
	va_list ap;
	va_start(ap, fmt);
	vformat(&k, fmt, ap);
	va_end(ap);
	if (n)
		buf[k.len < n ? k.len : n - 1] = 0;
	return (int)k.len;
}
