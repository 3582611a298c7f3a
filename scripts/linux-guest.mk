# The Linux guest (docs/boot.md): Debian's i686 kernel + a busybox initramfs.
LINUX_GUEST_DIR ?= guest-linux
linux-guest:
	sh scripts/linux-guest.sh --out $(LINUX_GUEST_DIR)
