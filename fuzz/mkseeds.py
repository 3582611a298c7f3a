#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz targets (fuzz/corpus/<target>/).
Run again after changing an input format (docs/fuzzing.md)."""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- loaders: [loader | ramsize << 2][cmdline len][initrd len LE16][cmdline][initrd][image]
def mb_header(flags, extra=b""):
    return struct.pack("<III", 0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF) + extra


def mb_elf():
    code = b"\xfa\xf4" + b"\x90" * 14
    hdr = mb_header(0x3)
    body = hdr + code
    ehdr = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    ehdr += struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0x10000C, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    phdr = struct.pack("<IIIIIIII", 1, 84, 0x100000, 0x100000, len(body), len(body) + 0x100, 7, 4)
    return ehdr + phdr + body


def mb_aout():
    # a.out kludge: header_addr load_addr load_end_addr bss_end_addr entry_addr
    load = 0x100000
    hdr = mb_header(0x10003, struct.pack("<IIIII", load, load, load + 64, load + 128, load + 32))
    return (hdr + b"\xf4" * 64)[:64]


def bzimage(version=0x020A):
    setup = bytearray(2 * 512)
    setup[0x1F1] = 1  # setup_sects
    struct.pack_into("<I", setup, 0x1F4, 2)  # syssize, paragraphs
    struct.pack_into("<H", setup, 0x1FE, 0xAA55)
    setup[0x200] = 0xEB
    setup[0x201] = 0x8C  # header ends at 0x290
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    setup[0x211] = 0x01  # LOADED_HIGH
    struct.pack_into("<I", setup, 0x214, 0x100000)
    struct.pack_into("<I", setup, 0x22C, 0x37FFFFFF)
    struct.pack_into("<I", setup, 0x230, 0x200000)
    setup[0x234] = 1
    struct.pack_into("<I", setup, 0x238, 2047)
    struct.pack_into("<Q", setup, 0x258, 0x1000000)
    struct.pack_into("<I", setup, 0x260, 0x10000)
    return bytes(setup) + b"\xf4" * 32


def ld(loader, ramsz, image, cmdline=b"", initrd=b""):
    return bytes([loader | ramsz << 2, len(cmdline)]) + struct.pack("<H", len(initrd)) + cmdline + initrd + image


put("loaders", "mb_elf", ld(0, 4, mb_elf(), b"console=ttyS0"))
put("loaders", "mb_elf_module", ld(1, 2, mb_elf(), b"x", b"module data"))
put("loaders", "mb_aout", ld(0, 3, mb_aout()))
put("loaders", "bzimage", ld(0, 6, bzimage(), b"console=ttyS0 quiet", b"initrd!" * 8))
put("loaders", "bzimage_202", ld(2, 5, bzimage(0x0202)))


# ---- devices: 8-byte commands [op | size << 4][range index][offset LE16][value LE32]
def cmd(op, idx=0, off=0, val=0, size=0):
    return bytes([op | size << 4, idx]) + struct.pack("<HI", off, val)


def pio_raw(port, val, size=0, write=True):
    return cmd(5 if write else 4, 0, port, val, size)


pic_init = b"".join(pio_raw(p, v) for p, v in [(0x20, 0x11), (0x21, 0x20), (0x21, 4), (0x21, 1), (0x21, 0),
                                                 (0xA0, 0x11), (0xA1, 0x28), (0xA1, 2), (0xA1, 1), (0xA1, 0)])
pit = b"".join(pio_raw(p, v) for p, v in [(0x43, 0x34), (0x40, 2), (0x40, 0)])
put("devices", "pic_pit", pic_init + pit + cmd(7, 0, 0, 100000) + cmd(8) + pio_raw(0x20, 0x20))
put("devices", "rtc", b"".join(pio_raw(0x70, r) + pio_raw(0x71, 0, write=False) for r in (0, 2, 4, 0xA, 0xB, 0xC)) +
    pio_raw(0x70, 0xB) + pio_raw(0x71, 0x42) + cmd(7, 0, 0, 0xFFFFFF, 3))
put("devices", "uart", b"".join(pio_raw(0x3F8 + o, v) for o, v in [(3, 0x80), (0, 1), (1, 0), (3, 3), (1, 0xF), (4, 0x1B),
                                                                    (0, 0x41), (0, 0x42)]) +
    pio_raw(0x3FD, 0, write=False) + cmd(7, 0, 0, 50000))
L, I = 1, 0  # MMIO ranges by base: the IOAPIC, then the local APIC
put("devices", "lapic", cmd(3, L, 0x320, 0x20030, 2) + cmd(3, L, 0x3E0, 0xB, 2) + cmd(3, L, 0x380, 1000, 2) +
    cmd(3, L, 0xF0, 0x1FF, 2) + cmd(7, 0, 0, 100000, 0) + cmd(2, L, 0x390, 0, 2) + cmd(8))
put("devices", "ioapic", cmd(3, I, 0, 0x10, 2) + cmd(3, I, 0x10, 0x30, 2) + cmd(3, I, 0, 1, 2) + cmd(2, I, 0x10, 0, 2))
put("devices", "kbd_pci", pio_raw(0x64, 0xD1) + pio_raw(0x60, 0xDF) + pio_raw(0x64, 0x20) + pio_raw(0x60, 0, write=False) +
    pio_raw(0xCF8, 0x80000000, 2) + pio_raw(0xCFC, 0, 2, write=False) + pio_raw(0x92, 2))

# ---- insns: [mode][flags][8 GPRs][code]
#   mode: bits 0-1 real / 32 (or 16) ring 0 / 32 ring 3 / v86; bit 2 paging; bit 3 bt; bit 4 full ESP
regs = struct.pack("<8I", 0x10FFFE, 0x20, 0xFFFFFFFF, 0x000FFFF0, 0x7000, 0x9F000, 0x0FFFF, 0x10FFF0)
snippets = {
    "ram_end": bytes.fromhex("8b00" "8900" "8b4001" "f3a4" "f3ab" "cd80" "f4"),  # mov (eax); rep movsb/stosd; int; hlt
    "io": bytes.fromhex("b0 41 e6 e9 ec ed 66 ef 6c f3 6e e4 40 f4".replace(" ", "")),
    "cr": bytes.fromhex("0f20c0" "0d01000080" "0f22c0" "0f20d8" "0f22d8" "0f01f8" "f4"),
    "far": bytes.fromhex("9a 00 00 00 00 43 00" "ea 00 00 00 00 08 00 cf f4".replace(" ", "")),
    "mmx_fpu": bytes.fromhex("d9e8 dd18 0f6f00 0f7f01 0f77 db2a f4".replace(" ", "")),
}
for i, (name, code) in enumerate(snippets.items()):
    for mode in (0, 1, 2, 3, 5, 6, 7):
        eng = (i + mode) & 1
        put("insns", f"{name}_m{mode}", bytes([mode | eng << 3, 0x20 + i]) + regs + code)
