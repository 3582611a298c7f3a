/* 16550A UART (National Semiconductor PC16550D datasheet; register and
 * interrupt priority tables in section 8). Transmission is instantaneous:
 * a byte written to THR goes to the backend at once and THR is empty
 * again, so THRE interrupts follow every write. */
#include "dev/uart16550.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

enum {
	IER_RDI = 1, IER_THRI = 2, IER_RLSI = 4, IER_MSI = 8,
	IIR_NONE = 1, IIR_MSI = 0, IIR_THRI = 2, IIR_RDI = 4, IIR_RLSI = 6, IIR_CTI = 0xc,
	LSR_DR = 1, LSR_OE = 2, LSR_PE = 4, LSR_FE = 8, LSR_BI = 0x10, LSR_THRE = 0x20,
	LSR_TEMT = 0x40, LSR_FIFOE = 0x80,
	LCR_DLAB = 0x80,
	MCR_DTR = 1, MCR_RTS = 2, MCR_OUT1 = 4, MCR_OUT2 = 8, MCR_LOOP = 0x10,
	MSR_DCTS = 1, MSR_DDSR = 2, MSR_TERI = 4, MSR_DDCD = 8,
	MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80,
	FCR_ENABLE = 1, FCR_CLR_RX = 2, FCR_CLR_TX = 4,
};

static int fifo_on(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static int rx_trigger(const struct uart *u)
{
	static const int lvl[4] = { 1, 4, 8, 14 };
	return fifo_on(u) ? lvl[u->fcr >> 6] : 1;
}

/* The pending interrupt of highest priority (datasheet table IV). */
static int iir_id(const struct uart *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr & (LSR_OE | LSR_PE | LSR_FE | LSR_BI)))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count >= rx_trigger(u))
		return IIR_RDI;
	if ((u->ier & IER_RDI) && u->timeout_ipending && u->rx_count)
		return IIR_CTI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

static void update_irq(struct uart *u)
{
	int level = iir_id(u) != IIR_NONE;
	if (level != u->irq_level) {
		u->irq_level = (uint8_t)level;
		irq_set(&u->irq, level);
	}
}

/* Ten bit times per character at the programmed baud rate. */
static uint64_t char_ns(const struct uart *u)
{
	uint32_t div = u->divisor ? u->divisor : 1;
	return (uint64_t)div * 10u * 1000000000u / 115200u;
}

static void rx_timer_arm(struct uart *u)
{
	if (fifo_on(u) && u->rx_count)
		timer_mod(u->clock, &u->rx_timer, clock_now(u->clock) + 4 * char_ns(u));
	else
		timer_del(u->clock, &u->rx_timer);
}

static void rx_timeout(void *opaque)
{
	struct uart *u = opaque;
	if (u->rx_count) {
		u->timeout_ipending = 1;
		update_irq(u);
	}
}

static void rx_push(struct uart *u, uint8_t b)
{
	int cap = fifo_on(u) ? UART_FIFO : 1;
	if (u->rx_count >= cap) {
		u->lsr |= LSR_OE; /* overrun: the new byte is lost */
		return;
	}
	u->rbr_fifo[(u->rx_head + u->rx_count) % UART_FIFO] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
	u->timeout_ipending = 0;
}

static void rx_clear(struct uart *u)
{
	u->rx_head = u->rx_count = 0;
	u->lsr &= (uint8_t)~LSR_DR;
	u->timeout_ipending = 0;
	timer_del(u->clock, &u->rx_timer);
}

int uart_can_receive(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return 0;
	return (fifo_on(u) ? UART_FIFO : 1) - u->rx_count;
}

void uart_receive(struct uart *u, const uint8_t *buf, int len)
{
	if (u->mcr & MCR_LOOP)
		return;
	for (int i = 0; i < len; i++)
		rx_push(u, buf[i]);
	rx_timer_arm(u);
	update_irq(u);
}

/* In loopback the modem inputs follow the outputs: RTS->CTS, DTR->DSR,
 * OUT1->RI, OUT2->DCD (datasheet, MCR bit 4). Otherwise the line looks
 * like a connected terminal: CTS, DSR and DCD asserted. */
static void update_msr(struct uart *u)
{
	uint8_t in;
	if (u->mcr & MCR_LOOP) {
		in = (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
			       ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
	} else {
		in = MSR_CTS | MSR_DSR | MSR_DCD;
	}
	uint8_t old = u->msr & 0xf0, delta = u->msr & 0x0f;
	uint8_t ch = old ^ in;
	if (ch & MSR_CTS)
		delta |= MSR_DCTS;
	if (ch & MSR_DSR)
		delta |= MSR_DDSR;
	if (ch & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(in & MSR_RI))
		delta |= MSR_TERI; /* trailing edge of RI */
	u->msr = in | delta;
}

static uint32_t uart_read(void *opaque, uint32_t off, int size)
{
	struct uart *u = opaque;
	uint8_t v = 0xff;
	switch (off) {
	case 0:
		if (u->lcr & LCR_DLAB)
			return u->divisor & 0xff;
		v = 0;
		if (u->rx_count) {
			v = u->rbr_fifo[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO;
			u->rx_count--;
		}
		if (!u->rx_count)
			u->lsr &= (uint8_t)~LSR_DR;
		u->timeout_ipending = 0;
		rx_timer_arm(u);
		update_irq(u);
		if (u->rx_pull && uart_can_receive(u) > 0)
			u->rx_pull(u->tx_opaque);
		break;
	case 1:
		v = (u->lcr & LCR_DLAB) ? (uint8_t)(u->divisor >> 8) : u->ier;
		break;
	case 2: {
		int id = iir_id(u);
		v = (uint8_t)id | (fifo_on(u) ? 0xc0 : 0);
		/* Reading IIR while THRE is the reported source clears it. */
		if (id == IIR_THRI) {
			u->thr_ipending = 0;
			update_irq(u);
		}
		break;
	}
	case 3:
		v = u->lcr;
		break;
	case 4:
		v = u->mcr;
		break;
	case 5:
		v = u->lsr;
		if (fifo_on(u) && (u->lsr & (LSR_PE | LSR_FE | LSR_BI)))
			v |= LSR_FIFOE;
		u->lsr &= (uint8_t)~(LSR_OE | LSR_PE | LSR_FE | LSR_BI);
		update_irq(u);
		break;
	case 6:
		v = u->msr;
		u->msr &= 0xf0; /* reading clears the delta bits */
		update_irq(u);
		break;
	case 7:
		v = u->scr;
		break;
	}
	return v;
}

static void transmit(struct uart *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		rx_push(u, b);
		rx_timer_arm(u);
	} else if (u->tx) {
		u->tx(u->tx_opaque, b);
	}
	u->lsr |= LSR_THRE | LSR_TEMT;
	u->thr_ipending = 1;
}

static void uart_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	struct uart *u = opaque;
	uint8_t v = (uint8_t)val;
	switch (off) {
	case 0:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
			break;
		}
		u->thr_ipending = 0;
		transmit(u, v);
		break;
	case 1:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | (uint16_t)v << 8);
			break;
		}
		/* Enabling the THRE interrupt while THR is empty raises it. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI) && (u->lsr & LSR_THRE))
			u->thr_ipending = 1;
		u->ier = v & 0x0f;
		break;
	case 2: {
		uint8_t old = u->fcr;
		if ((v ^ old) & FCR_ENABLE) {
			rx_clear(u); /* switching FIFO mode clears both FIFOs */
		}
		if (v & FCR_CLR_RX)
			rx_clear(u);
		u->fcr = (v & FCR_ENABLE) ? (v & 0xc9) : 0;
		rx_timer_arm(u);
		break;
	}
	case 3:
		u->lcr = v;
		break;
	case 4:
		u->mcr = v & 0x1f;
		update_msr(u);
		break;
	case 5:
	case 6:
		break; /* LSR and MSR are read-only here */
	case 7:
		u->scr = v;
		break;
	}
	update_irq(u);
}

static const struct bus_ops uart_ops = { uart_read, uart_write, 1, "uart16550" };

void uart_reset(struct uart *u)
{
	timer_del(u->clock, &u->rx_timer);
	u->rx_head = u->rx_count = 0;
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = 0;
	update_msr(u);
	u->msr &= 0xf0; /* no deltas at power-on */
	u->scr = 0;
	u->fcr = 0;
	u->divisor = 12; /* 9600 baud */
	u->thr_ipending = 0;
	u->timeout_ipending = 0;
	u->irq_level = 0;
	irq_set(&u->irq, 0);
}

int uart_init(struct uart *u, struct bus *pio, uint16_t base, struct irq_line irq, struct clock *clk,
	      void (*tx)(void *, uint8_t), void *tx_opaque)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	u->clock = clk;
	u->tx = tx;
	u->tx_opaque = tx_opaque;
	timer_init(&u->rx_timer, rx_timeout, u);
	uart_reset(u);
	return bus_add_pio(pio, base, 8, &uart_ops, u);
}

/* ---- the board's device table (dev/dev.h) ---- */

static void uart_dev_reset(void *dev)
{
	uart_reset(dev);
}

static void uart_dev_save(void *dev, struct snap_w *w)
{
	struct uart *u = dev;
	snap_put(w, u, offsetof(struct uart, irq));
	snap_timer(w, &u->rx_timer);
}

static int uart_dev_load(void *dev, struct snap_r *r)
{
	struct uart *u = dev;
	snap_get(r, u, offsetof(struct uart, irq));
	snap_get_timer(r, u->clock, &u->rx_timer);
	if (u->rx_head < 0 || u->rx_head >= UART_FIFO || u->rx_count < 0 || u->rx_count > UART_FIFO)
		return -1;
	return 0;
}

const struct dev_ops uart_dev_ops = { "uart", uart_dev_reset, uart_dev_save, uart_dev_load };
