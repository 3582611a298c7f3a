/* The board's interrupt path and ACPI hardware (see pc.h, docs/board.md):
 * every ISA IRQ line goes to both the 8259 pair and the IOAPIC, as on the
 * PIIX3 (IRQ 0 to IOAPIC pin 2, the 8259's INTR to pin 0 and to the local
 * APIC's LINT0); the local APIC drives the CPU's INTR and answers its
 * interrupt acknowledge; the firmware tables describe exactly this. */
#include "machine/pc.h"

#include "boot/fwtables.h"
#include "cpu/cpumodel.h"
#include "cpu/msr.h"

#define IOAPIC_ID 1    /* after the local APIC IDs (one CPU), as SeaBIOS numbers it */
#define IRQ0_PIN 2     /* the interrupt source override of QEMU's pc */
#define SCI_IRQ 9
#define CMOS_CENTURY 0x32

static int isa_pin(int irq) { return irq == 0 ? IRQ0_PIN : irq; }

void pc_isa_irq(void *opaque, int irq, int level)
{
	struct pc *pc = opaque;
	pic_set_irq(&pc->pic, irq, level);
	if (irq != 2) /* IRQ 2 is the cascade, inside the 8259 pair */
		ioapic_set_irq(&pc->ioapic, isa_pin(irq), level);
}

/* The 8259's INTR output: LINT0 of the local APIC and IOAPIC pin 0. */
static void pic_output(void *opaque, int level)
{
	struct pc *pc = opaque;
	lapic_set_lint(&pc->lapic, 0, level);
	ioapic_set_irq(&pc->ioapic, 0, level);
}

static void cpu_intr(void *opaque, int level)
{
	struct pc *pc = opaque;
	pc->cpu.intr_line = (uint8_t)level;
	/* An interrupt raised by the running instruction (a self-IPI, a TPR
	 * or EOI write) is taken at the next instruction boundary, not at
	 * the end of the block. */
	if (level)
		pc->cpu.block_break = 1;
}

static void cpu_nmi(void *opaque)
{
	struct pc *pc = opaque;
	pc->cpu.nmi_pending = 1;
	pc->cpu.block_break = 1;
}

static int pic_ack(void *opaque)
{
	struct pc *pc = opaque;
	return pic_intack(&pc->pic);
}

static void lapic_eoi(void *opaque, uint8_t vector)
{
	struct pc *pc = opaque;
	ioapic_eoi(&pc->ioapic, vector);
}

static bool ioapic_msg(void *opaque, uint8_t dest, bool logical, int mode, uint8_t vector, bool level)
{
	struct pc *pc = opaque;
	if (!lapic_match_dest(&pc->lapic, dest, logical))
		return false;
	return lapic_deliver(&pc->lapic, mode, vector, level);
}

/* The MSI address and data formats (Intel SDM vol. 3, 11.11.1-2):
 * address 0xFEE, destination ID in bits 19:12, redirection hint bit 3,
 * destination mode bit 2 (logical); data: vector 7:0, delivery mode
 * 10:8, level 14 (assert), trigger mode 15 (level). As QEMU and KVM do,
 * the destination mode bit is honoured whatever the redirection hint
 * says, and lowest priority is the delivery mode's. */
void pc_msi(struct pc *pc, uint64_t addr, uint32_t data)
{
	if ((addr >> 20) != 0xfee) {
		dev_logf(pc->cfg.log, &pc->msi_logged, "msi",
			 "message %#x to %#llx, not the local APICs' 0xFEExxxxx: dropped", data,
			 (unsigned long long)addr);
		return;
	}
	bool level = data & 0x8000;
	if (level && !(data & 0x4000))
		return; /* a level deassert: nothing for an APIC to do */
	ioapic_msg(pc, (uint8_t)(addr >> 12), addr & 4, (int)(data >> 8 & 7), (uint8_t)data, level);
}

int pc_cb_intr_ack(void *opaque)
{
	struct pc *pc = opaque;
	return lapic_intack(&pc->lapic);
}

void pc_cb_apic_base(void *opaque, uint64_t val)
{
	struct pc *pc = opaque;
	lapic_set_base(&pc->lapic, val);
}

int pc_apic_init(struct pc *pc)
{
	struct lapic_board lb = { pc, cpu_intr, cpu_nmi, pic_ack, lapic_eoi };
	struct ioapic_board ib = { pc, ioapic_msg };
	struct irq_line sci = { pc_isa_irq, pc, SCI_IRQ };
	int bad = 0;
	bad |= pic_init(&pc->pic, &pc->pio, pic_output, pc);
	bad |= lapic_init(&pc->lapic, &pc->mmio, &pc->clock, &lb, pc->cfg.log);
	bad |= ioapic_init(&pc->ioapic, &pc->mmio, IOAPIC_DEFAULT_BASE, IOAPIC_ID, &ib, pc->cfg.log);
	bad |= acpi_pm_init(&pc->acpi_pm, &pc->pio, &pc->clock, sci, &pc->req, pc->cfg.log);
	pc->cpu.apic_present = 1;
	return bad;
}

static void fw_board(struct pc *pc, struct fw_board *b)
{
	uint32_t id[4];
	cpuid_query(&pc->cpu, 1, id);
	*b = (struct fw_board){
		.ncpus = 1,
		.lapic_addr = LAPIC_DEFAULT_BASE,
		.lapic_version = LAPIC_VERSION,
		.cpu_signature = id[0],
		.cpu_features = id[3],
		.ioapic_addr = IOAPIC_DEFAULT_BASE,
		.ioapic_id = IOAPIC_ID,
		.ioapic_version = IOAPIC_VERSION,
		.ioapic_pins = IOAPIC_PINS,
		.irq0_pin = IRQ0_PIN,
		.pm1a_evt = ACPI_PM_EVT,
		.pm1a_cnt = ACPI_PM_CNT,
		.pm_tmr = ACPI_PM_TMR,
		.sci_irq = SCI_IRQ,
		.s5_slp_typ = ACPI_SLP_TYP_S5,
		.century = CMOS_CENTURY,
		.pci_root = pc->virtio != NULL,
	};
}

int pc_fw_tables(struct pc *pc, struct guest_ram *g)
{
	struct fw_board b;
	fw_board(pc, &b);
	if (mptable_write(g, FW_MP_ADDR, FW_MP_ROOM, &b) < 0)
		return -1;
	if (!pc->cfg.no_acpi && acpi_write(g, FW_ACPI_ADDR, FW_ACPI_ROOM, &b) < 0)
		return -1;
	return 0;
}

int pc_acpi_image(struct pc *pc, uint8_t *buf, uint32_t size, struct acpi_layout *l)
{
	struct fw_board b;
	fw_board(pc, &b);
	struct guest_ram g = { buf, size, 0 };
	acpi_layout(0, &b, l);
	return acpi_write(&g, 0, size, &b);
}
