/* Multiboot v1 header and entry (Multiboot spec 0.6.96, 3.1 and 3.2).
 * The loader enters in flat 32-bit protected mode, paging off, with
 * EAX = 0x2BADB002 and EBX = the multiboot information structure. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-align modules, want memory info */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.global _start
_start:
	cli
	mov $boot_stack_top, %esp
	pushl $2
	popf                    /* IF=0, IOPL=0, NT=0, DF=0 */
	push %ebx
	push %eax
	call kmain
1:	hlt
	jmp 1b

	.bss
	.balign 16
boot_stack:
	.skip 16384
	.global boot_stack_top
boot_stack_top:
	.section .note.GNU-stack, "", @progbits
