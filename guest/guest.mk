# ringos, the embedded default guest: a freestanding multiboot v1 kernel.
# Included by the top Makefile (which defines BUILD). Always built with
# gcc (-m32, Debian's gcc-multilib) and GNU ld, whatever $(CC) is.
GUEST_CC := gcc
GUEST_LD := ld
GUEST_CFLAGS := -m32 -march=i586 -std=gnu11 -ffreestanding -fno-pic -fno-pie -nostdlib \
	-fno-stack-protector -fno-builtin -fno-asynchronous-unwind-tables -mgeneral-regs-only \
	-fno-strict-aliasing -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-array-bounds -Wno-stringop-overflow -Iguest
GUEST_ASFLAGS := -m32 -fno-pic -fno-pie -Iguest

GUEST_C := $(sort $(wildcard guest/*.c))
GUEST_S := $(sort $(wildcard guest/*.S))
GUEST_OBJ := $(GUEST_S:guest/%.S=$(BUILD)/guest/%.S.o) $(GUEST_C:guest/%.c=$(BUILD)/guest/%.o)
GUEST_ELF := $(BUILD)/guest/ringos.elf

$(filter %.S.o,$(GUEST_OBJ)): $(BUILD)/guest/%.S.o: guest/%.S guest/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -MMD -MP -c $< -o $@
$(filter-out %.S.o,$(GUEST_OBJ)): $(BUILD)/guest/%.o: guest/%.c guest/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_ELF): $(GUEST_OBJ) guest/ringos.ld
	$(GUEST_LD) -m elf_i386 -nostdlib --no-warn-rwx-segments -T guest/ringos.ld -o $@ $(GUEST_OBJ)

guest: $(GUEST_ELF)

-include $(GUEST_OBJ:.o=.d)
