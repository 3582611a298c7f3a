/* The board's interrupt path and ACPI hardware (see pc.h, docs/board.md):
 * every ISA IRQ line goes to both the 8259 pair and the IOAPIC, as on the
 * PIIX3 (IRQ 0 to IOAPIC pin 2, the 8259's INTR to pin 0 and to the local
 * APIC's LINT0); the local APIC drives the CPU's INTR and answers its
 * interrupt acknowledge; the firmware tables describe exactly this. */
#include "machine/pc.h"

#include "boot/fwtables.h"
#include "cpu/cpumodel.h"
#include "cpu/msr.h"

#define IRQ0_PIN 2     /* the interrupt source override of QEMU's pc */
#define SCI_IRQ 9
#define CMOS_CENTURY 0x32

/* The IOAPIC's ID follows the local APICs' (0 .. ncpus-1), as SeaBIOS
 * numbers them. */
static uint8_t ioapic_id(const struct pc *pc) { return (uint8_t)pc->ncpus; }

static int isa_pin(int irq) { return irq == 0 ? IRQ0_PIN : irq; }

void pc_isa_irq(void *opaque, int irq, int level)
{
	struct pc *pc = opaque;
	pic_set_irq(&pc->pic, irq, level);
	if (irq != 2) /* IRQ 2 is the cascade, inside the 8259 pair */
		ioapic_set_irq(&pc->ioapic, isa_pin(irq), level);
}

/* The 8259's INTR output: LINT0 of every local APIC (only the bootstrap
 * processor's is programmed as ExtINT) and IOAPIC pin 0. */
static void pic_output(void *opaque, int level)
{
	struct pc *pc = opaque;
	for (int i = 0; i < pc->ncpus; i++)
		lapic_set_lint(&pc->vcpu[i].lapic, 0, level);
	ioapic_set_irq(&pc->ioapic, 0, level);
}

/* The local APIC's outputs to its own CPU (opaque: its struct pc_vcpu).
 * An interrupt raised by the running instruction (a self-IPI, a TPR or
 * EOI write) is taken at the next instruction boundary, not at the end of
 * the block; a CPU that is not running sees it when its turn comes. */
static void cpu_intr(void *opaque, int level)
{
	struct pc_vcpu *v = opaque;
	v->cpu.intr_line = (uint8_t)level;
	if (level && v->index == v->pc->cur)
		v->cpu.block_break = 1;
}

static void cpu_nmi(void *opaque)
{
	struct pc_vcpu *v = opaque;
	v->cpu.nmi_pending = 1;
	if (v->index == v->pc->cur)
		v->cpu.block_break = 1;
}

static int pic_ack(void *opaque)
{
	struct pc_vcpu *v = opaque;
	return pic_intack(&v->pc->pic);
}

static void lapic_eoi(void *opaque, uint8_t vector)
{
	struct pc_vcpu *v = opaque;
	ioapic_eoi(&v->pc->ioapic, vector);
}

/* ---- the APIC bus: messages to the processors ---- */

/* INIT and STARTUP act on a processor, not on its APIC alone, and may
 * come from the processor they reset: they are noted here and carried
 * out between runs (pc_apic_signals). A STARTUP reaches only a processor
 * waiting for one (or about to, with an INIT noted). */
static void signal_cpu(struct pc_vcpu *v, int mode, uint8_t vector)
{
	struct pc *pc = v->pc;
	if (mode == APIC_DM_INIT) {
		v->init_pending = 1;
		v->sipi_vector = -1;
	} else if (v->cpu.wait_sipi || v->init_pending) {
		v->sipi_vector = vector;
	} else {
		return;
	}
	struct cpu *run = &pc->vcpu[pc->cur].cpu;
	run->stop_request = 1; /* the loop looks at the signals now */
	run->block_break = 1;
}

/* Deliver a message to the processors in hit: fixed, NMI and ExtINT to
 * each, lowest priority to the one of lowest PPR (the first on a tie).
 * Returns whether an APIC accepted it. */
static bool deliver(struct pc *pc, const bool *hit, int mode, uint8_t vector, bool level)
{
	bool any = false;
	if (mode == APIC_DM_LOWEST) {
		int best = -1;
		for (int i = 0; i < pc->ncpus; i++)
			if (hit[i] && pc->vcpu[i].lapic.hw_enabled &&
			    (best < 0 || lapic_ppr(&pc->vcpu[i].lapic) < lapic_ppr(&pc->vcpu[best].lapic)))
				best = i;
		return best >= 0 && lapic_deliver(&pc->vcpu[best].lapic, mode, vector, level);
	}
	for (int i = 0; i < pc->ncpus; i++) {
		if (!hit[i])
			continue;
		struct pc_vcpu *v = &pc->vcpu[i];
		bool ok = lapic_deliver(&v->lapic, mode, vector, level);
		if (ok && (mode == APIC_DM_INIT || mode == APIC_DM_STARTUP))
			signal_cpu(v, mode, vector);
		any |= ok;
	}
	return any;
}

/* An IPI from the ICR of v's local APIC. */
static void lapic_ipi(void *opaque, int shorthand, uint8_t dest, bool logical, int mode, uint8_t vector)
{
	struct pc_vcpu *v = opaque;
	struct pc *pc = v->pc;
	bool hit[PC_MAX_CPUS];
	for (int i = 0; i < pc->ncpus; i++) {
		switch (shorthand) {
		case 1: hit[i] = i == v->index; break;
		case 2: hit[i] = true; break;
		case 3: hit[i] = i != v->index; break;
		default: hit[i] = lapic_match_dest(&pc->vcpu[i].lapic, dest, logical); break;
		}
	}
	deliver(pc, hit, mode, vector, false);
}

static bool ioapic_msg(void *opaque, uint8_t dest, bool logical, int mode, uint8_t vector, bool level)
{
	struct pc *pc = opaque;
	bool hit[PC_MAX_CPUS];
	for (int i = 0; i < pc->ncpus; i++)
		hit[i] = lapic_match_dest(&pc->vcpu[i].lapic, dest, logical);
	return deliver(pc, hit, mode, vector, level);
}

void pc_apic_signals(struct pc *pc)
{
	for (int i = 0; i < pc->ncpus; i++) {
		struct pc_vcpu *v = &pc->vcpu[i];
		struct cpu *c = &v->cpu;
		if (v->init_pending) {
			/* The processor to its reset state (this model also
			 * resets what an INIT keeps: x87, SSE, MTRRs), its APIC's
			 * registers too; an AP then waits for a STARTUP, the BSP
			 * starts at the reset vector. A20 is the board's. */
			v->init_pending = 0;
			bool a20 = c->mem.a20;
			cpu_reset(c);
			if (!a20)
				cpu_set_a20(c, false);
			lapic_init_reset(&v->lapic);
			c->wait_sipi = i != 0;
		}
		if (v->sipi_vector >= 0) {
			/* Real mode at VV00:0000 (SDM, "MP Initialization
			 * Protocol Algorithm"). */
			c->wait_sipi = 0;
			c->halted = 0;
			seg_load_real(c, S_CS, (uint16_t)(v->sipi_vector << 8));
			c->eip = 0;
			v->sipi_vector = -1;
		}
	}
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
	struct pc_vcpu *v = opaque;
	return lapic_intack(&v->lapic);
}

void pc_cb_apic_base(void *opaque, uint64_t val)
{
	struct pc_vcpu *v = opaque;
	lapic_set_base(&v->lapic, val);
}

int pc_apic_init(struct pc *pc)
{
	struct ioapic_board ib = { pc, ioapic_msg };
	struct irq_line sci = { pc_isa_irq, pc, SCI_IRQ };
	int bad = 0;
	bad |= pic_init(&pc->pic, &pc->pio, pic_output, pc);
	for (int i = 0; i < pc->ncpus; i++) {
		struct pc_vcpu *v = &pc->vcpu[i];
		struct lapic_board lb = { v, cpu_intr, cpu_nmi, pic_ack, lapic_eoi, pc->ncpus > 1 ? lapic_ipi : NULL };
		bad |= lapic_init(&v->lapic, &v->apic_bus, &pc->clock, &lb, pc->cfg.log);
		v->lapic.hw_id = v->lapic.id = (uint8_t)i;
		v->lapic.virtual_wire = i == 0;
		lapic_init_reset(&v->lapic); /* LINT0 as virtual_wire now says */
		v->sipi_vector = -1;
		v->cpu.apic_present = 1;
	}
	bad |= ioapic_init(&pc->ioapic, &pc->mmio, IOAPIC_DEFAULT_BASE, ioapic_id(pc), &ib, pc->cfg.log);
	bad |= acpi_pm_init(&pc->acpi_pm, &pc->pio, &pc->clock, sci, &pc->req, pc->cfg.log);
	return bad;
}

static void fw_board(struct pc *pc, struct fw_board *b)
{
	uint32_t id[4];
	cpuid_query(pc_bsp(pc), 1, id);
	*b = (struct fw_board){
		.ncpus = pc->ncpus,
		.lapic_addr = LAPIC_DEFAULT_BASE,
		.lapic_version = LAPIC_VERSION,
		.cpu_signature = id[0],
		.cpu_features = id[3],
		.ioapic_addr = IOAPIC_DEFAULT_BASE,
		.ioapic_id = ioapic_id(pc),
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
