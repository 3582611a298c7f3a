/* What the firmware tables (MP specification 1.4, ACPI) say about the
 * board: the direct-boot paths write them into the BIOS area, where a PC
 * BIOS would have left them (docs/boot.md, "Firmware tables"). */
#ifndef RINGVM_FWTABLES_H
#define RINGVM_FWTABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"

/* The BIOS area [0xF0000, 0x100000) holds them: reserved in the e820 map,
 * read-only to the guest, and where Linux and other systems scan for the
 * MP floating pointer and the ACPI RSDP. */
#define FW_MP_ADDR 0xf0000u   /* MP floating pointer, then its configuration table */
#define FW_MP_ROOM 0x800u
#define FW_ACPI_ADDR 0xf0800u /* RSDP, then RSDT, FADT, FACS, MADT, DSDT */
#define FW_ACPI_ROOM 0x1800u

struct fw_board {
	int ncpus;                 /* local APIC IDs 0 .. ncpus-1, CPU 0 boots */
	uint32_t lapic_addr;
	uint8_t lapic_version;
	uint32_t cpu_signature;    /* CPUID.1 EAX and EDX, for the MP processor entries */
	uint32_t cpu_features;
	uint32_t ioapic_addr;
	uint8_t ioapic_id, ioapic_version;
	int ioapic_pins;
	/* ISA IRQ 0 (the PIT) reaches this IOAPIC pin; the others are
	 * identity-mapped and the 8259's INTR is on pin 0 (ExtINT). */
	uint8_t irq0_pin;
	/* ACPI fixed hardware: PM1a event block, PM1a control block, PM
	 * timer, the SCI's ISA IRQ, S5's SLP_TYP, the RTC's century index. */
	uint16_t pm1a_evt, pm1a_cnt, pm_tmr;
	uint8_t sci_irq, s5_slp_typ, century;
	bool pci_root;             /* describe PCI bus 0 in the DSDT (there are devices) */
};

/* Each writes its tables at [at, at + room) of guest RAM and returns the
 * bytes used, or -1 if they do not fit (or ncpus is out of range). */
int mptable_write(struct guest_ram *g, uint32_t at, uint32_t room, const struct fw_board *b);
int acpi_write(struct guest_ram *g, uint32_t at, uint32_t room, const struct fw_board *b);

/* Where acpi_write puts each table for a given start (the RSDP is at
 * `at`), for firmware that relocates them (fw_cfg's table loader). The
 * pointers between tables are the RSDP's RSDT address (+16), the RSDT's
 * two entries (+36, +40) and the FADT's FACS and DSDT (+36, +40). */
struct acpi_layout {
	uint32_t rsdt, fadt, facs, madt, dsdt, end;
	uint32_t rsdt_len, fadt_len;
};
void acpi_layout(uint32_t at, const struct fw_board *b, struct acpi_layout *l);

#endif
