/* Ring 0 entry points: interrupt stubs, the probe engine, SYSENTER,
 * call gate targets and the entry of the helper tasks. */
#include "layout.h"

/* ---- interrupt stubs: one per IDT vector, 16 bytes apart ----------
 * Vectors 8, 10-14 and 17 push an error code (SDM Vol. 3, 6.13); the
 * others push a 0 so that every frame has the same shape. */
	.text
	.balign 16
	.global isr_base
isr_base:
	.set vec, 0
	.rept IDT_ENTRIES
	.balign 16
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17)
	.else
	pushl $0
	.endif
	pushl $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

/* Save the interrupted context as a struct frame, call trap(frame);
 * trap returns the frame to resume (another task's, when scheduling). */
trap_common:
	pusha
	push %ds
	push %es
	push %fs
	push %gs
	mov $SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	cld
	push %esp
	call trap
	mov %eax, %esp
	.global trap_resume
trap_resume:
	pop %gs
	pop %fs
	pop %es
	pop %ds
	popa
	add $8, %esp
	iret

/* ---- the probe engine ---------------------------------------------
 * int probe_enter(struct frame *in): start the context described by *in
 * (any ring) with IRET. It comes back through probe_resume when the
 * kernel catches a fault or the INT 0x81 that ends every probe; the
 * caught frame is in probe_out and the vector is returned. */
	.global probe_enter
probe_enter:
	push %ebp
	push %ebx
	push %esi
	push %edi
	pushf
	mov %esp, probe_saved_esp
	mov 24(%esp), %esi
	sub $96, %esp
	mov %esp, %edi
	mov $23, %ecx             /* sizeof(struct frame) / 4 */
	cld
	rep movsl
	pop %gs
	pop %fs
	pop %es
	pop %ds
	popa
	add $8, %esp
	iret

	.global probe_resume
probe_resume:
	mov $SEL_KDATA, %eax
	mov %eax, %ss
	mov probe_saved_esp, %esp
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	popf
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	mov probe_vec, %eax
	ret

/* ---- SYSENTER / SYSEXIT (SDM Vol. 2B) ------------------------------
 * Entered with CS = SYSENTER_CS, SS = CS + 8, ESP = SYSENTER_ESP, IF=0.
 * EAX = call number; the user stub put its ESP in ECX, its EIP in EDX.
 * DS is the caller's flat selector, so memory is addressed via SS. */
	.global sysenter_entry
sysenter_entry:
	mov %esp, %ss:sysenter_seen_esp
	push %eax
	mov %cs, %eax
	mov %eax, %ss:sysenter_seen_cs
	mov %ss, %eax
	mov %eax, %ss:sysenter_seen_ss
	pop %eax
	incl %ss:sysenter_count
	cmp $SYS_TICKS, %eax
	jne 1f
	mov %ss:ticks, %eax
	jmp 2f
1:	xor %eax, %eax
2:	testl $0x200, %ss:sysenter_user_if
	jz 3f
	sti                     /* STI's shadow covers SYSEXIT */
3:	sysexit

/* ---- call gate targets ---------------------------------------------
 * A call through a gate to an inner ring switches to the stack named
 * in the TSS for that ring and copies the parameters (SDM Vol. 3,
 * 5.8.5): new stack = EIP, CS, param0.., old ESP, old SS. */
	.global gate_sys_entry       /* ring 0, 2 params */
gate_sys_entry:
	mov %esp, %ss:gate_seen_esp
	push %eax
	mov %ss, %eax
	mov %eax, %ss:gate_seen_ss
	mov 4(%esp), %eax
	mov %eax, %ss:gate_seen_words
	mov 8(%esp), %eax
	mov %eax, %ss:gate_seen_words+4
	mov 12(%esp), %eax
	mov %eax, %ss:gate_seen_words+8
	mov 16(%esp), %eax
	mov %eax, %ss:gate_seen_words+12
	mov 20(%esp), %eax
	mov %eax, %ss:gate_seen_words+16
	mov 24(%esp), %eax
	mov %eax, %ss:gate_seen_words+20
	pop %eax
	mov 8(%esp), %eax
	add 12(%esp), %eax
	lret $8

	.global gate_svc_entry       /* ring 2 service, 2 params */
gate_svc_entry:
	mov %esp, %ss:svc_seen_esp
	push %eax
	mov %ss, %eax
	mov %eax, %ss:svc_seen_ss
	pop %eax
	pushl 12(%esp)
	pushl 12(%esp)
	call svc_main
	add $8, %esp
	lret $8

	.global gate_drv_entry       /* ring 1 driver, 1 param */
gate_drv_entry:
	pushl 8(%esp)
	call drv_write
	add $4, %esp
	lret $4

	.global gate_r1_entry        /* ring 1 target with no params */
gate_r1_entry:
	mov %esp, %ss:gate_seen_esp
	push %eax
	mov %ss, %eax
	mov %eax, %ss:gate_seen_ss
	pop %eax
	lret

/* ---- helper tasks (hardware task switching, SDM Vol. 3, 8.3) ------ */
	.global task_b_entry
task_b_entry:
	call task_b_body        /* returns 1 to IRET (nested), 0 to JMP back */
	test %eax, %eax
	jz 1f
	iret
	jmp task_b_entry
1:	ljmp $SEL_TSS, $0
	jmp task_b_entry

/* The double fault task: entered through the task gate at vector 8,
 * with the error code (always 0) pushed on its own stack. */
	.global df_task_entry
df_task_entry:
	pop %eax
	push %eax
	call df_body
	add $4, %esp
	iret
	jmp df_task_entry

/* Where df_body sends the interrupted main task: back to the probe. */
	.global df_recover
df_recover:
	movl $8, probe_vec
	jmp probe_resume

/* ---- stacks ---------------------------------------------------------- */
	.bss
	.balign 4096
	.skip 8192
	.global stack_trap_top
stack_trap_top:
	.skip 4096
	.global stack_r1_top
stack_r1_top:
	.skip 4096
	.global stack_r2_top
stack_r2_top:
	.skip 4096
	.global stack_df_top
stack_df_top:
	.skip 4096
	.global stack_b_top
stack_b_top:
	.skip 4096
	.global stack_sysenter_top
stack_sysenter_top:

	.data
	.balign 4
	.global probe_saved_esp, probe_vec
probe_saved_esp: .long 0
probe_vec: .long 0
	.global sysenter_seen_esp, sysenter_seen_cs, sysenter_seen_ss, sysenter_count, sysenter_user_if
sysenter_seen_esp: .long 0
sysenter_seen_cs: .long 0
sysenter_seen_ss: .long 0
sysenter_count: .long 0
sysenter_user_if: .long 0x200
	.global gate_seen_esp, gate_seen_ss, gate_seen_words, svc_seen_esp, svc_seen_ss
gate_seen_esp: .long 0
gate_seen_ss: .long 0
gate_seen_words: .long 0, 0, 0, 0, 0, 0
svc_seen_esp: .long 0
svc_seen_ss: .long 0
	.section .note.GNU-stack, "", @progbits
