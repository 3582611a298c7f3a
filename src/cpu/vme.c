/* CR4.VME and CR4.PVI (SDM Vol. 3, 20.3-20.4; the CLI, STI, PUSHF,
 * POPF, IRET and INT n pseudo-code). See vme.h. */
#include "cpu/vme.h"

static int iopl(const struct cpu *cpu)
{
	return (int)((cpu->eflags & FL_IOPL) >> FL_IOPL_SHIFT);
}

int vme_if_is_real(struct cpu *cpu)
{
	if (!(cpu->cr0 & CR0_PE))
		return 1;
	if (cpu->eflags & FL_VM) {
		if (iopl(cpu) == 3)
			return 1;
		if (cpu->cr4 & CR4_VME)
			return 0;
	} else {
		if (cpu->cpl <= iopl(cpu))
			return 1;
		if (cpu->cpl == 3 && (cpu->cr4 & CR4_PVI))
			return 0;
	}
	raise_gp(cpu, 0);
}

/* V86 mode, IOPL < 3: 1 if VME takes the instruction (16-bit), #GP(0)
 * if nothing may, 0 if it is not sensitive here. */
static int v86_virtual(struct cpu *cpu, int osize)
{
	if (!(cpu->eflags & FL_VM) || iopl(cpu) == 3)
		return 0;
	if (!(cpu->cr4 & CR4_VME) || osize != 2)
		raise_gp(cpu, 0);
	return 1;
}

/* The FLAGS image a V86 program sees under VME: IF is VIF, IOPL 3. */
static uint32_t virtual_flags(const struct cpu *cpu)
{
	uint32_t f = cpu->eflags & 0xffffu & ~FL_IF;
	return f | FL_IOPL | ((cpu->eflags & FL_VIF) ? FL_IF : 0);
}

/* Load a popped FLAGS image: IF goes to VIF, IOPL and IF stay. Setting
 * VIF with an interrupt pending (VIP), or TF, is #GP(0) for the monitor. */
static void load_virtual_flags(struct cpu *cpu, uint32_t v, uint32_t pop_bytes)
{
	if (((cpu->eflags & FL_VIP) && (v & FL_IF)) || (v & FL_TF))
		raise_gp(cpu, 0);
	set_sp(cpu, stack_ptr(cpu) + pop_bytes);
	cpu_set_eflags(cpu, v, 0xffffu & ~(FL_IF | FL_IOPL));
	cpu->eflags = (cpu->eflags & ~FL_VIF) | ((v & FL_IF) ? FL_VIF : 0);
	cpu->block_break = 1;
}

int vme_pushf(struct cpu *cpu, int osize)
{
	if (!v86_virtual(cpu, osize))
		return 0;
	push(cpu, 2, virtual_flags(cpu));
	return 1;
}

int vme_popf(struct cpu *cpu, int osize)
{
	if (!v86_virtual(cpu, osize))
		return 0;
	load_virtual_flags(cpu, stack_peek(cpu, 2, 0), 2);
	return 1;
}

int vme_iret(struct cpu *cpu, int osize)
{
	if (!v86_virtual(cpu, osize))
		return 0;
	uint32_t ip = stack_peek(cpu, 2, 0);
	uint16_t cs = (uint16_t)stack_peek(cpu, 2, 2);
	load_virtual_flags(cpu, stack_peek(cpu, 2, 4), 6);
	seg_load_real(cpu, S_CS, cs);
	cpu->next_eip = ip;
	return 1;
}

/* Bit vector of the redirection bitmap: the 32 bytes just below the I/O
 * permission bitmap of the 32-bit TSS (SDM Vol. 3, 20.3.3.4). A byte the
 * TSS limit does not cover is #GP(0). */
static int redirect_bit(struct cpu *cpu, int vector)
{
	const struct seg *tr = &cpu->tr;
	int type = tr->attr & SEGA_TYPE;
	if ((tr->attr & SEGA_S) || (type != 9 && type != 11) || tr->limit < 0x67)
		raise_gp(cpu, 0);
	uint32_t base = lin_read(cpu, tr->base + 0x66, 2, ACC_R | ACC_SYS);
	uint32_t off = base - 32 + (uint32_t)vector / 8;
	if (base < 32 || off > tr->limit)
		raise_gp(cpu, 0);
	return (lin_read(cpu, tr->base + off, 1, ACC_R | ACC_SYS) >> (vector & 7)) & 1;
}

int vme_int(struct cpu *cpu, int vector, uint32_t ret_ip)
{
	if (!(cpu->cr4 & CR4_VME) || redirect_bit(cpu, vector)) {
		if (iopl(cpu) < 3)
			raise_gp(cpu, 0); /* to the monitor */
		return 0;
	}
	/* Methods 5 and 6: as real mode does, through the vector table at
	 * linear 0 of the V86 task, onto its own stack. */
	uint32_t ip = lin_read(cpu, (uint32_t)vector * 4, 2, ACC_R);
	uint32_t cs = lin_read(cpu, (uint32_t)vector * 4 + 2, 2, ACC_R);
	uint32_t img = iopl(cpu) == 3 ? cpu->eflags & 0xffffu : virtual_flags(cpu);
	mem_probe_write(cpu, S_SS, (stack_ptr(cpu) - 6) & sp_mask(cpu), 6);
	push(cpu, 2, img);
	push(cpu, 2, cpu->seg[S_CS].sel);
	push(cpu, 2, ret_ip);
	cpu->eflags &= ~(FL_TF | FL_RF | (iopl(cpu) == 3 ? FL_IF : FL_VIF));
	seg_load_real(cpu, S_CS, (uint16_t)cs);
	cpu->next_eip = ip;
	cpu->block_break = 1;
	return 1;
}
