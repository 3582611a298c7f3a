/* Code the conformance probes run, at whatever ring the probe picks.
 *
 * This file is linked into the .user section (pages with U/S=1), so
 * ring 3 may execute it. Each snippet starts with the instruction under
 * test (so a fault's EIP is the snippet's address) and ends with
 * INT 0x81, the DPL 3 gate that tells the kernel "done, no fault". */
#include "layout.h"

/* One instruction per SNIP: a ';' would end the macro's line. */
.macro SNIP name, body:vararg
	.global \name
\name:
	\body
	int $VEC_DONE
.endm

	.text
	.global u_ring_exit
u_ring_exit:
	int $VEC_DONE

/* privileged instructions: #GP(0) at CPL > 0 */
SNIP s_hlt, hlt
SNIP s_cli, cli
SNIP s_sti, sti
SNIP s_lgdt, lgdt (%eax)
SNIP s_lidt, lidt (%eax)
SNIP s_lldt, lldt %bx
SNIP s_ltr, ltr %bx
SNIP s_rdcr0, mov %cr0, %ecx
SNIP s_wrcr3, mov %esi, %cr3
SNIP s_wrdr7, mov %ebx, %db7
SNIP s_invlpg, invlpg (%eax)
SNIP s_clts, clts
SNIP s_lmsw, lmsw %dx
SNIP s_rdmsr, rdmsr
SNIP s_wrmsr, wrmsr
SNIP s_in21, inb $0x21, %al
SNIP s_out80, outb %al, $0x80

/* segment loads and accesses */
SNIP s_ldds, mov %bx, %ds
SNIP s_ldes, mov %bx, %es
SNIP s_ldss, mov %bx, %ss
SNIP s_rd, mov (%esi), %eax
SNIP s_wr, mov %eax, (%esi)
SNIP s_rdw, movw (%esi), %ax
SNIP s_es_rd, mov %es:(%esi), %eax
SNIP s_es_wr, mov %eax, %es:(%esi)
SNIP s_es_rdw, movw %es:(%esi), %ax
SNIP s_cs_wr, mov %eax, %cs:(%esi)
	.global s_ss_push
s_ss_push:                      /* SS = bx, ESP = esi, then push twice */
	mov %bx, %ss
	mov %esi, %esp
	push %eax
	.global s_ss_push2
s_ss_push2:
	push %eax
	int $VEC_DONE
SNIP s_ljmp, ljmp *(%esi)
SNIP s_lcall, lcall *(%esi)
SNIP s_lret, lret
SNIP s_iret, iret
	.global s_stack_lret     /* ESP = esi, then far return */
s_stack_lret:
	mov %esi, %esp
	lret
	.global s_stack_iret
s_stack_iret:
	mov %esi, %esp
	iret
SNIP s_done, nop

/* gates */
	.global s_int80
s_int80:
	xor %eax, %eax
	int $VEC_SYSCALL
	int $VEC_DONE
SNIP s_int82, int $VEC_DPL0
SNIP s_int83, int $VEC_NOTP
SNIP s_int84, int $VEC_TASK
SNIP s_int85, int $VEC_DPL1
SNIP s_int86, int $VEC_TRAP
SNIP s_intf0, int $0xf0
	.global s_int3, s_int3_next
s_int3:
	int3
s_int3_next:
	int $VEC_DONE
	.global s_into, s_into_at, s_into_next
s_into:
	mov $0x7fffffff, %eax
	add $1, %eax
s_into_at:
	into
s_into_next:
	int $VEC_DONE
	.global s_into_nof
s_into_nof:
	xor %eax, %eax
	into
	int $VEC_DONE

	.global s_gate_call, s_gate_call_ret
s_gate_call:                     /* two params through the ring 0 gate */
	mov %esp, %ebp
	push $0x2222
	push $0x1111
	lcall $(SEL_GATE_SYS | 3), $0
s_gate_call_ret:
	int $VEC_DONE
	.global s_svc_call
s_svc_call:                      /* ring 2 service: op 0 = echo arg */
	mov %esp, %ebp
	push $0x5a5a
	push $0
	lcall $(SEL_GATE_SVC | 3), $0
	int $VEC_DONE

	.global s_svc
s_svc:                           /* ring 2 service: op EAX, arg EBX */
	push %ebx
	push %eax
	lcall $(SEL_GATE_SVC | 3), $0
	int $VEC_DONE

/* exceptions */
SNIP s_div0, div %ecx
SNIP s_idiv, idiv %ecx
SNIP s_bound, bound %eax, (%esi)
SNIP s_ud2, ud2
SNIP s_fld1, fld1
SNIP s_fnop_wait, fwait
	.global s_tf, s_tf_trap
s_tf:
	pushf
	orl $0x100, (%esp)
	popf
	nop
s_tf_trap:
	nop
	int $VEC_DONE

/* precise faults: state as before the faulting instruction (or, for
 * REP string instructions, as after the last completed iteration) */
SNIP s_popds, pop %ds
SNIP s_rep_movsb, rep movsb
	.global s_esp_push
s_esp_push:
	mov %esi, %esp
	.global s_esp_push_at
s_esp_push_at:
	push %eax
	int $VEC_DONE
	.global s_lock_add             /* LOCK ADD EAX,EAX: LOCK needs memory */
s_lock_add:
	.byte 0xf0, 0x01, 0xc0
	int $VEC_DONE
	.global s_mov_cs               /* MOV CS,AX: CS cannot be a MOV target */
s_mov_cs:
	.byte 0x8e, 0xc8
	int $VEC_DONE

/* I/O */
SNIP s_inb, inb %dx, %al
SNIP s_inw, inw %dx, %ax
SNIP s_inl, inl %dx, %eax
SNIP s_outb, outb %al, %dx

/* EFLAGS */
	.global s_popf
s_popf:
	pushl %ebx
	popf
	int $VEC_DONE
	.global s_iret_flags             /* same-ring IRET with flags EBX */
s_iret_flags:
	pushl %ebx
	pushl %cs
	pushl $s_done
	iret

/* paging */
SNIP s_jmp, jmp *%esi

/* sensitive but unprivileged (the Popek-Goldberg violations of IA-32) */
SNIP s_sgdt, sgdt (%esi)
SNIP s_sidt, sidt (%esi)
SNIP s_sldt, sldt %eax
SNIP s_str, str %eax
SNIP s_smsw, smsw %eax
SNIP s_lar, lar %ebx, %eax
SNIP s_lsl, lsl %ebx, %eax
SNIP s_verr, verr %bx
SNIP s_verw, verw %bx
SNIP s_rdtsc, rdtsc
SNIP s_int0d, int $13
	.global s_sti_wait
s_sti_wait:                      /* STI and spin ECX times: room for an IRQ */
	sti
1:	loop 1b
	cli
	int $VEC_DONE
	.global s_ac, s_ac_at
s_ac:                            /* set EFLAGS.AC, then a misaligned read */
	pushf
	orl $0x40000, (%esp)
	popf
s_ac_at:
	mov 1(%esi), %eax
	int $VEC_DONE

/* SYSENTER / SYSEXIT */
	.global s_sysenter, s_sysenter_ret
s_sysenter:
	mov %esp, %ecx
	mov $s_sysenter_ret, %edx
	sysenter
s_sysenter_ret:
	int $VEC_DONE
SNIP s_sysexit, sysexit

	.data
	.balign 4
	.global u_scratch
u_scratch:
	.skip 256

	.bss
	.balign 16
	.skip 8192
	.global ustack_top
ustack_top:
	.section .note.GNU-stack, "", @progbits

/* Virtual-8086 mode snippets: 16-bit code that conf_v86.c copies to
 * linear 0x7000 (real-mode CS 0x700) and runs with EFLAGS.VM=1. */
	.section .rodata.v86, "a"
	.code16
	.global v86_start, v86_end, v86_done, v86_cli, v86_hlt, v86_pushf, v86_inb, v86_rd
	.global v86_sti, v86_pushfd, v86_int30, v86_int30_back, v86_h30
v86_start:
v86_done:
	int $VEC_DONE
v86_cli:
	cli
	int $VEC_DONE
v86_hlt:
	hlt
	int $VEC_DONE
v86_pushf:
	pushf
	int $VEC_DONE
v86_inb:
	inb %dx, %al
	int $VEC_DONE
v86_rd:
	movw (%si), %ax
	int $VEC_DONE
v86_sti:
	sti
	int $VEC_DONE
v86_pushfd:
	pushfl
	int $VEC_DONE
v86_int30:                      /* redirected under CR4.VME: to v86_h30 */
	int $0x30
v86_int30_back:
	int $VEC_DONE
v86_h30:                        /* AX = the FLAGS the handler sees */
	pushf
	pop %ax
	iret
v86_end:
	.code32
	.section .note.GNU-stack, "", @progbits
