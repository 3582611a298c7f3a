/* A 16550A UART (COM1 is at 0x3f8, IRQ4): 16-byte FIFOs, the THRE, RX data,
 * RX timeout, line status and modem status interrupts, loopback. Output
 * goes to a callback (the console backend); the board pushes input with
 * uart_receive() as far as uart_can_receive() allows. */
#ifndef RINGVM_UART16550_H
#define RINGVM_UART16550_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"
#include "machine/clock.h"

#define UART_FIFO 16

struct uart {
	uint8_t rbr_fifo[UART_FIFO];
	int rx_head, rx_count;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divisor;
	uint8_t thr_ipending;   /* THR empty, not yet acknowledged */
	uint8_t timeout_ipending;
	uint8_t irq_level;
	struct irq_line irq;
	struct clock *clock;
	struct timer rx_timer;  /* character timeout (FIFO mode) */
	void (*tx)(void *opaque, uint8_t byte);
	void *tx_opaque;
	/* Called (with tx_opaque) when the guest has taken received data and
	 * there is room for more, so that the backend can push its next
	 * bytes at once instead of at its next poll. May be NULL. */
	void (*rx_pull)(void *opaque);
};

int uart_init(struct uart *u, struct bus *pio, uint16_t base, struct irq_line irq, struct clock *clk,
	      void (*tx)(void *, uint8_t), void *tx_opaque);
void uart_reset(struct uart *u);
/* How many bytes the receiver accepts now (0 in loopback mode). */
int uart_can_receive(const struct uart *u);
void uart_receive(struct uart *u, const uint8_t *buf, int len);


extern const struct dev_ops uart_dev_ops; /* reset, save, load */

#endif
