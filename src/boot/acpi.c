/* ACPI tables for the direct-boot paths (ACPI specification: "Root System
 * Description Pointer", "System Description Table Header", RSDT, FADT
 * (revision 1, the ACPI 1.0 layout), FACS, MADT and the DSDT's AML).
 *
 * The DSDT holds only what powering off needs, in AML emitted here:
 *
 *     DefinitionBlock ("", "DSDT", 1, "RINGVM", "RINGVMPC", 1)
 *     {
 *         Name (_S5, Package (4) { SLP_TYP, SLP_TYP, Zero, Zero })
 *     }
 *
 * and, when the board has PCI devices besides the host bridge, the root
 * bridge that makes ACPI systems scan bus 0 (Linux does not probe PCI
 * on its own once ACPI is on):
 *
 *         Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03"))
 *                                        Name (_ADR, Zero) Name (_UID, Zero) } }
 *
 * It has no _PRT: a system then takes each function's interrupt line
 * register (ringvm sets it, as a BIOS would) as its ISA IRQ.
 */
#include <string.h>

#include "boot/bootutil.h"
#include "boot/fwtables.h"

#define HDR 36
#define FADT_V1_LEN 116
#define FACS_LEN 64
#define OEM_ID "RINGVM"
#define OEM_TABLE "RINGVMPC"

/* MADT entry types and the override flags of ISA IRQ 9, the SCI
 * (MPS INTI flags: active high 01, level 11 << 2). */
enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_LAPIC_NMI = 4 };
#define INTI_HIGH_LEVEL 0x000d

/* AML opcodes (ACPI spec, "AML Grammar Definition"). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_BYTE 0x0a
#define AML_NAME 0x08
#define AML_PACKAGE 0x12

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The common header; the checksum is set by finish() once the length
 * is known. */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	wr32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE, 8);
	wr32(t + 24, 1);        /* OEM revision */
	memcpy(t + 28, "RVM ", 4); /* creator */
	wr32(t + 32, 1);
}

static void finish(uint8_t *t)
{
	t[9] = 0;
	t[9] = (uint8_t)-sum8(t, rd32(t + 4));
}

static uint8_t *aml_int(uint8_t *p, uint8_t v)
{
	if (v == 0)
		*p++ = AML_ZERO;
	else if (v == 1)
		*p++ = AML_ONE;
	else {
		*p++ = AML_BYTE;
		*p++ = v;
	}
	return p;
}

/* Name (_S5, Package (4) { typ, typ, 0, 0 }); returns the end. The
 * package is short, so its PkgLength is one byte (bits 7:6 zero). */
static uint8_t *aml_s5(uint8_t *p, uint8_t typ)
{
	*p++ = AML_NAME;
	memcpy(p, "_S5_", 4);
	p += 4;
	*p++ = AML_PACKAGE;
	uint8_t *len = p++;
	*p++ = 4; /* NumElements */
	p = aml_int(p, typ);
	p = aml_int(p, typ);
	p = aml_int(p, 0);
	p = aml_int(p, 0);
	*len = (uint8_t)(p - len);
	return p;
}

#define AML_SCOPE 0x10
#define AML_DWORD 0x0c
#define AML_EXT 0x5b
#define AML_DEVICE 0x82
#define PCI0_LEN 36
#define EISA_PNP0A03 0x030ad041u

static uint8_t *aml_pci0(uint8_t *p)
{
	*p++ = AML_SCOPE;
	*p++ = PCI0_LEN - 1; /* PkgLength: one byte, from itself on */
	memcpy(p, "\\_SB_", 5);
	p += 5;
	*p++ = AML_EXT;
	*p++ = AML_DEVICE;
	uint8_t *len = p++;
	memcpy(p, "PCI0", 4);
	p += 4;
	*p++ = AML_NAME;
	memcpy(p, "_HID", 4);
	p += 4;
	*p++ = AML_DWORD;
	wr32(p, EISA_PNP0A03);
	p += 4;
	static const char *const zero[] = { "_ADR", "_UID" };
	for (int i = 0; i < 2; i++) {
		*p++ = AML_NAME;
		memcpy(p, zero[i], 4);
		p += 4;
		*p++ = AML_ZERO;
	}
	*len = (uint8_t)(p - len);
	return p;
}

static uint32_t madt_len(const struct fw_board *b)
{
	return HDR + 8 + 8u * (uint32_t)b->ncpus + 12 + 10 + 10 + 6;
}

static void write_madt(uint8_t *t, const struct fw_board *b)
{
	header(t, "APIC", madt_len(b), 1);
	wr32(t + 36, b->lapic_addr);
	wr32(t + 40, 1); /* PCAT_COMPAT: the 8259 pair is there too */
	uint8_t *e = t + 44;
	for (int i = 0; i < b->ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID */
		wr32(e + 4, 1);    /* enabled */
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = b->ioapic_id;
	wr32(e + 4, b->ioapic_addr);
	wr32(e + 8, 0); /* GSI base */
	e += 12;
	/* ISA IRQ 0 -> irq0_pin, bus-conforming (edge, high), as on QEMU's pc */
	e[0] = MADT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;
	e[3] = 0;
	wr32(e + 4, b->irq0_pin);
	wr16(e + 8, 0);
	e += 10;
	/* the SCI: level, active high (ACPI: "SCI_INT ... active-low, level
	 * unless an override says otherwise"; the PIIX4's is active high) */
	e[0] = MADT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;
	e[3] = b->sci_irq;
	wr32(e + 4, b->sci_irq);
	wr16(e + 8, INTI_HIGH_LEVEL);
	e += 10;
	e[0] = MADT_LAPIC_NMI; /* every processor's LINT1 is NMI */
	e[1] = 6;
	e[2] = 0xff;
	wr16(e + 3, 0);
	e[5] = 1;
	finish(t);
}

/* FADT revision 1 (ACPI 1.0b layout, 116 bytes). */
static void write_fadt(uint8_t *t, const struct fw_board *b, uint32_t facs, uint32_t dsdt)
{
	header(t, "FACP", FADT_V1_LEN, 1);
	wr32(t + 36, facs);
	wr32(t + 40, dsdt);
	t[44] = 1;              /* INT_MODEL (1.0): multiple APIC */
	wr16(t + 46, b->sci_irq);
	wr32(t + 48, 0);        /* SMI_CMD 0: always in ACPI mode, no enable handshake */
	wr32(t + 56, b->pm1a_evt);
	wr32(t + 64, b->pm1a_cnt);
	wr32(t + 76, b->pm_tmr);
	t[88] = 4;              /* PM1_EVT_LEN */
	t[89] = 2;              /* PM1_CNT_LEN */
	t[91] = 4;              /* PM_TMR_LEN */
	wr16(t + 96, 101);      /* P_LVL2_LAT > 100: no C2 */
	wr16(t + 98, 1001);     /* P_LVL3_LAT > 1000: no C3 */
	t[108] = b->century;
	/* Flags: WBINVD works, C1 (HLT) on all processors, the power and
	 * sleep buttons are not fixed-feature buttons; the PM timer is 24
	 * bits (TMR_VAL_EXT clear). */
	wr32(t + 112, 0x01u | 0x04u | 0x10u | 0x20u);
	finish(t);
}

void acpi_layout(uint32_t at, const struct fw_board *b, struct acpi_layout *l)
{
	/* RSDP, RSDT (two entries), FADT, FACS (64-byte aligned), MADT, DSDT */
	l->rsdt = at + 32;
	l->fadt = l->rsdt + 48;
	l->facs = (l->fadt + FADT_V1_LEN + 63) & ~63u;
	l->madt = l->facs + FACS_LEN;
	l->dsdt = (l->madt + madt_len(b) + 15) & ~15u;
	l->end = l->dsdt + HDR + 16 + (b->pci_root ? PCI0_LEN : 0);
	l->rsdt_len = HDR + 8;
	l->fadt_len = FADT_V1_LEN;
}

int acpi_write(struct guest_ram *g, uint32_t at, uint32_t room, const struct fw_board *b)
{
	if (b->ncpus < 1 || b->ncpus > 255)
		return -1;
	struct acpi_layout l;
	acpi_layout(at, b, &l);
	uint32_t rsdt = l.rsdt, fadt = l.fadt, facs = l.facs, madt = l.madt, dsdt = l.dsdt, end = l.end;
	if ((at & 63) || end - at > room || (uint64_t)at + room > g->size)
		return -1;
	uint8_t *ram = g->ram;
	memset(ram + at, 0, end - at);

	uint8_t *d = ram + dsdt;
	header(d, "DSDT", 0, 1);
	uint8_t *aml = aml_s5(d + HDR, b->s5_slp_typ);
	if (b->pci_root)
		aml = aml_pci0(aml);
	wr32(d + 4, (uint32_t)(aml - d));
	finish(d);

	write_madt(ram + madt, b);
	uint8_t *f = ram + facs;
	memcpy(f, "FACS", 4);
	wr32(f + 4, FACS_LEN);
	write_fadt(ram + fadt, b, facs, dsdt);

	uint8_t *r = ram + rsdt;
	header(r, "RSDT", HDR + 8, 1);
	wr32(r + 36, fadt);
	wr32(r + 40, madt);
	finish(r);

	uint8_t *p = ram + at; /* RSDP, ACPI 1.0 form (revision 0, 20 bytes) */
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 0;
	wr32(p + 16, rsdt);
	p[8] = (uint8_t)-sum8(p, 20);
	return (int)(end - at);
}
