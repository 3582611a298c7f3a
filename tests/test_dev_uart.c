/* 16550A: registers, divisor latch, THRE and RX interrupts, IIR priority
 * order, FIFO trigger levels and character timeout, overrun, loopback. */
#include <stdio.h>
#include <string.h>

#include "dev/uart16550.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus b;
static struct clock clk;
static struct uart u;
static int level;
static char sent[64];
static int nsent;

static void irq(void *o, int n, int l) { (void)o; (void)n; level = l; }
static void tx(void *o, uint8_t c) { (void)o; if (nsent < 63) sent[nsent++] = (char)c; }
static void out(int reg, uint8_t v) { bus_write(&b, (uint32_t)(0x3f8 + reg), 1, v); }
static uint8_t in(int reg) { return (uint8_t)bus_read(&b, (uint32_t)(0x3f8 + reg), 1); }
static void rx(const char *s) { uart_receive(&u, (const uint8_t *)s, (int)strlen(s)); }

int main(void)
{
	bus_init(&b, 0x10000);
	clock_init(&clk, CLOCK_MANUAL);
	CHECK(uart_init(&u, &b, 0x3f8, (struct irq_line){ irq, NULL, 4 }, &clk, tx, NULL) == 0);

	/* power-on state */
	CHECK(in(5) == 0x60);
	CHECK(in(2) == 0x01);
	CHECK(level == 0);

	/* divisor latch and scratch */
	out(3, 0x80);
	out(0, 0x01);
	out(1, 0x00);
	CHECK(in(0) == 0x01 && in(1) == 0x00);
	out(3, 0x03);
	CHECK(in(3) == 0x03);
	out(7, 0x5a);
	CHECK(in(7) == 0x5a);

	/* transmit goes to the backend */
	out(0, 'o');
	out(0, 'k');
	CHECK(nsent == 2 && sent[0] == 'o' && sent[1] == 'k');
	CHECK(in(5) & 0x20);

	/* THRE interrupt: raised when enabled with THR empty, cleared by
	 * reading IIR, raised again by the next transmit */
	out(1, 0x02);
	CHECK(level == 1);
	CHECK(in(2) == 0x02);
	CHECK(level == 0);
	CHECK(in(2) == 0x01);
	out(0, '!');
	CHECK(level == 1);
	out(1, 0x00);
	CHECK(level == 0);

	/* RX data (no FIFO): one byte holding register, overrun on the next */
	out(1, 0x05); /* RDI + RLSI */
	CHECK(uart_can_receive(&u) == 1);
	rx("a");
	CHECK(level == 1);
	CHECK(in(2) == 0x04);
	CHECK(uart_can_receive(&u) == 0);
	rx("b");
	CHECK(in(2) == 0x06); /* line status (overrun) outranks RX data */
	CHECK((in(5) & 0x03) == 0x03); /* DR + OE; reading clears OE */
	CHECK((in(5) & 0x02) == 0);
	CHECK(in(2) == 0x04);
	CHECK(in(0) == 'a');
	CHECK(level == 0);
	CHECK((in(5) & 0x01) == 0);

	/* priority: RX data before THRE before modem status */
	out(1, 0x0f);
	rx("c");
	CHECK(in(2) == 0x04);
	CHECK(in(0) == 'c');
	CHECK(in(2) == 0x02); /* THRE (pending since IER enabled it) */
	in(6);                /* clear modem deltas */
	CHECK(in(2) == 0x01);
	out(4, 0x10); /* loopback with all outputs off: CTS/DSR/DCD drop */
	CHECK(in(2) == 0x00); /* modem status change */
	CHECK((in(6) & 0x0f) != 0);
	CHECK(in(2) == 0x01);

	/* loopback: MCR outputs show in MSR, THR comes back in RBR */
	out(4, 0x1a); /* LOOP | OUT2 | RTS */
	CHECK((in(6) & 0xf0) == 0x90);
	int before = nsent;
	out(1, 0x01);
	out(0, 'L');
	CHECK(nsent == before); /* nothing leaves the chip */
	CHECK(level == 1);
	CHECK(in(0) == 'L');
	CHECK(uart_can_receive(&u) == 0); /* external input is cut off */
	out(4, 0x0b);

	/* FIFO: trigger level 8, character timeout below it */
	out(2, 0x87);
	CHECK((in(2) & 0xc0) == 0xc0);
	out(1, 0x01);
	CHECK(uart_can_receive(&u) == 16);
	rx("12345");
	CHECK(level == 0); /* below the trigger */
	clock_set(&clk, clock_now(&clk) + 5000000); /* > 4 characters at 115200 */
	clock_run_timers(&clk);
	CHECK(level == 1);
	CHECK(in(2) == 0xcc); /* timeout */
	CHECK(in(0) == '1');
	CHECK(in(2) == 0xc1); /* reading restarts the timeout */
	rx("6789");
	CHECK(in(2) == 0xc4); /* 8 bytes: trigger */
	char got[16] = "";
	int n = 0;
	while ((in(5) & 1) && n < 15)
		got[n++] = (char)in(0);
	CHECK(strcmp(got, "2345678" "9") == 0);
	CHECK(level == 0);
	/* fill past 16: overrun, nothing lost from the FIFO */
	rx("abcdefghijklmnopqrst");
	CHECK(uart_can_receive(&u) == 0);
	CHECK(in(5) & 0x02);
	CHECK(in(0) == 'a');
	out(2, 0x87); /* clear RX FIFO */
	CHECK((in(5) & 1) == 0);
	out(2, 0x00); /* FIFO off */
	CHECK((in(2) & 0xc0) == 0);

	/* nonsense: every register, every value, wide accesses */
	for (int r = 0; r < 8; r++)
		for (int v = 0; v < 256; v += 3) {
			out(r, (uint8_t)v);
			in(r);
		}
	bus_write(&b, 0x3fe, 4, 0xffffffff);
	bus_read(&b, 0x3fe, 4);
	uart_reset(&u);
	CHECK(level == 0);
	CHECK(in(5) == 0x60);
	bus_free(&b);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
