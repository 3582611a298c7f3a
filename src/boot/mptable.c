/* MultiProcessor Specification 1.4 tables: the floating pointer structure
 * (4.1) and the configuration table (4.2, 4.3) of a board in virtual-wire
 * mode (3.6.2.2: no IMCR, the 8259 reaches the CPUs through LINT0). The
 * 8259's line to IOAPIC pin 0 is not listed, as SeaBIOS does not: Linux
 * takes an ExtINT entry as a claim that the firmware programmed that pin. */
#include <string.h>

#include "boot/bootutil.h"
#include "boot/fwtables.h"

#define MP_MAX_CPUS 16
#define MPC_HEADER 44
/* Entry types (MP spec Table 4-3) and interrupt types (Table 4-8). */
enum { MPE_CPU = 0, MPE_BUS = 1, MPE_IOAPIC = 2, MPE_IOINT = 3, MPE_LINT = 4 };
enum { MPI_INT = 0, MPI_NMI = 1, MPI_EXTINT = 3 };

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* An interrupt assignment entry (Tables 4-9, 4-10): flags 0 = "conforms
 * to the bus" (ISA: active high, edge). */
static uint8_t *irq_entry(uint8_t *e, int type, int itype, uint8_t bus_irq, uint8_t dst_id, uint8_t dst_pin)
{
	e[0] = (uint8_t)type;
	e[1] = (uint8_t)itype;
	wr16(e + 2, 0);
	e[4] = 0; /* bus 0: ISA */
	e[5] = bus_irq;
	e[6] = dst_id;
	e[7] = dst_pin;
	return e + 8;
}

int mptable_write(struct guest_ram *g, uint32_t at, uint32_t room, const struct fw_board *b)
{
	if (b->ncpus < 1 || b->ncpus > MP_MAX_CPUS)
		return -1;
	uint32_t size = 16 + MPC_HEADER + 20u * (uint32_t)b->ncpus + 8 + 8 + 8 * 15 + 8 * 2;
	if (size > room || (uint64_t)at + room > g->size || (at & 15))
		return -1;
	uint8_t *fp = g->ram + at, *t = fp + 16;
	memset(fp, 0, size);

	uint8_t *e = t + MPC_HEADER;
	for (int i = 0; i < b->ncpus; i++) { /* processor entries (4.3.1) */
		e[0] = MPE_CPU;
		e[1] = (uint8_t)i;
		e[2] = b->lapic_version;
		e[3] = (uint8_t)(0x01 | (i == 0 ? 0x02 : 0)); /* EN, BP */
		wr32(e + 4, b->cpu_signature);
		wr32(e + 8, b->cpu_features);
		e += 20;
	}
	e[0] = MPE_BUS; /* bus 0: ISA (4.3.2) */
	memcpy(e + 2, "ISA   ", 6);
	e += 8;
	e[0] = MPE_IOAPIC; /* 4.3.3 */
	e[1] = b->ioapic_id;
	e[2] = b->ioapic_version;
	e[3] = 0x01; /* EN */
	wr32(e + 4, b->ioapic_addr);
	e += 8;
	/* I/O interrupt assignments (4.3.4): each ISA IRQ but the cascade;
	 * IRQ 0 on irq0_pin. */
	for (int irq = 0; irq < 16; irq++)
		if (irq != 2)
			e = irq_entry(e, MPE_IOINT, MPI_INT, (uint8_t)irq, b->ioapic_id,
				      (uint8_t)(irq == 0 ? b->irq0_pin : irq));
	/* Local interrupt assignments (4.3.5): every CPU's LINT0 ExtINT,
	 * LINT1 NMI. */
	e = irq_entry(e, MPE_LINT, MPI_EXTINT, 0, 0xff, 0);
	e = irq_entry(e, MPE_LINT, MPI_NMI, 0, 0xff, 1);

	uint16_t entries = (uint16_t)(b->ncpus + 2 + 15 + 2);
	memcpy(t, "PCMP", 4); /* configuration table header (4.2) */
	wr16(t + 4, (uint16_t)(e - t));
	t[6] = 4; /* spec 1.4 */
	memcpy(t + 8, "RINGVM  ", 8);
	memcpy(t + 16, "PC          ", 12);
	wr16(t + 34, entries);
	wr32(t + 36, b->lapic_addr);
	t[7] = (uint8_t)-sum8(t, (size_t)(e - t));

	memcpy(fp, "_MP_", 4); /* floating pointer (4.1) */
	wr32(fp + 4, at + 16);
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = 4;
	/* feature bytes all zero: a configuration table is present, and no
	 * IMCR (virtual-wire mode) */
	fp[10] = (uint8_t)-sum8(fp, 16);
	return (int)(e - fp);
}
