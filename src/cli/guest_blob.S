/* The embedded default guest (guest/), linked in as bytes. */
	.section .rodata
	.balign 16
	.global ringvm_guest_elf
	.global ringvm_guest_elf_end
ringvm_guest_elf:
#ifdef GUEST_ELF
	.incbin GUEST_ELF
#endif
ringvm_guest_elf_end:
	.section .note.GNU-stack,"",@progbits
