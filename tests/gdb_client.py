#!/usr/bin/env python3
"""A small gdb remote-protocol client for tests/t_gdb_stub.sh: drives
ringvm's gdb stub the way gdb does and checks each answer.

usage: gdb_client.py pm PORT SYMS   (the embedded guest, ringos.elf)
       gdb_client.py rm PORT SYMS   (a kernel that drops to real mode)
       gdb_client.py rev PORT SYMS  (the embedded guest replaying a recording:
                                     reverse-stepi and reverse-continue)
SYMS is a file of "name hexaddr" lines (nm, plus the test's extras).
Exits 0 when every check passes; prints what failed otherwise."""
import socket
import sys
import time

failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        failures += 1


class Stub:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.console = ""

    def byte(self):
        while not self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("the stub closed the connection")
            self.buf += chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def send_raw(self, data):
        self.s.sendall(data)

    def send(self, data):
        cs = sum(data.encode("latin1")) & 0xFF
        self.send_raw(b"$" + data.encode("latin1") + b"#%02x" % cs)

    def ack(self):
        """The next acknowledgement byte ('+' or '-')."""
        while True:
            b = self.byte()
            if b in (b"+", b"-"):
                return b

    def packet(self):
        """The next packet; 'O' console packets are collected."""
        while True:
            while self.byte() != b"$":
                pass
            data = b""
            while True:
                b = self.byte()
                if b == b"#":
                    break
                data += b
            cs = int(self.byte() + self.byte(), 16)
            if cs != sum(data) & 0xFF:
                raise ValueError("bad checksum from the stub: %r" % data)
            self.send_raw(b"+")
            text = data.decode("latin1")
            if text.startswith("O") and text != "OK":
                self.console += bytes.fromhex(text[1:]).decode("latin1")
                continue
            return text

    def cmd(self, data):
        self.send(data)
        if self.ack() != b"+":
            raise ValueError("stub refused %r" % data)
        return self.packet()

    def reg(self, n):
        return int.from_bytes(bytes.fromhex(self.cmd("p%x" % n)), "little")

    def mem(self, addr, n):
        r = self.cmd("m%x,%x" % (addr, n))
        return None if r.startswith("E") else bytes.fromhex(r)

    def monitor(self, text):
        r = self.cmd("qRcmd," + text.encode().hex())
        return bytes.fromhex(r).decode() if r != "OK" else ""


R_EIP, R_ESP, R_CS, R_CR0, R_CS_BASE, R_CPL = 8, 4, 10, 32, 42, 48


def stop_pc(g, reply, what):
    check(reply.startswith("T05"), "%s: stop reply %s" % (what, reply))
    return g.reg(R_EIP)


def protocol_checks(g):
    """Framing errors and bad packets get answers, never a crash."""
    g.send_raw(b"$g#00")
    check(g.ack() == b"-", "a bad checksum gets a NAK")
    check(g.cmd("Zq,zz") == "E01", "a malformed breakpoint packet gets E01")
    check(g.cmd("m,") == "E01", "a malformed memory read gets E01")
    check(g.cmd("p9999") == "E01", "a register that does not exist gets E01")
    check(g.cmd("jabberwocky") == "", "an unknown packet gets the empty reply")
    g.send_raw(b"$" + b"m" * 20000 + b"#00")
    check(g.ack() == b"-", "an oversized packet gets a NAK")
    check(len(g.cmd("g")) > 16 * 8, "the stub still answers after all that")


def pm(g, sym):
    sup = g.cmd("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
    check("PacketSize=" in sup and "qXfer:features:read+" in sup, "qSupported: " + sup)
    xml = g.cmd("qXfer:features:read:target.xml:0,3fff")
    check(xml.startswith("l") and "org.gnu.gdb.i386.core" in xml and "org.ringvm.sys" in xml
          and 'name="cr0"' in xml and 'name="gdtr_base"' in xml, "target description")
    check(g.cmd("?").startswith("T05"), "stopped at connection (-S)")
    check(g.cmd("qAttached") == "1" and g.cmd("qC") == "QC01" and g.cmd("qfThreadInfo") == "m01",
          "one attached thread")
    entry = sym["_start"]
    check(g.reg(R_EIP) == entry, "EIP at the ELF entry %#x" % entry)
    check(g.reg(R_CR0) & 1 == 1, "CR0.PE set at a multiboot entry")
    regs = g.cmd("g")
    check(int.from_bytes(bytes.fromhex(regs[16:24]), "little") == g.reg(2), "'g' and 'p' agree (EDX)")
    protocol_checks(g)

    # Single-step: EIP advances by the instruction's length. _start is
    # "cli; mov $boot_stack_top, %esp; push $2; popf; ...".
    r = g.cmd("s")
    check(r.startswith("T05") and g.reg(R_EIP) == sym["start_insn2"], "step: EIP %#x" % g.reg(R_EIP))
    # A breakpoint inside the block that starts here (not at its start).
    i4 = sym["start_insn4"]
    check(g.cmd("Z0,%x,1" % i4) == "OK", "Z0 in the middle of a block")
    check(stop_pc(g, g.cmd("c"), "continue") == i4, "stopped at the mid-block breakpoint")
    check(g.reg(R_ESP) == sym["boot_stack_top"] - 4, "the MOV and PUSH before it ran")
    g.cmd("z0,%x,1" % i4)
    r = g.cmd("vCont;s:1")
    check(r.startswith("T05") and g.reg(R_EIP) == sym["start_insn5"], "vCont;s: EIP %#x" % g.reg(R_EIP))
    check(g.reg(R_ESP) == sym["boot_stack_top"], "the stepped POPF popped")

    # A breakpoint stops before the instruction and is not in memory.
    kmain = sym["kmain"]
    before = g.mem(kmain, 8)
    check(g.cmd("Z0,%x,1" % kmain) == "OK", "Z0 at kmain")
    check(g.mem(kmain, 8) == before, "the breakpoint is not written into guest memory")
    check(stop_pc(g, g.cmd("c"), "continue to kmain") == kmain, "stopped at kmain")
    check(g.cmd("z0,%x,1" % kmain) == "OK", "z0 kmain")

    # Step across ring 3 -> ring 0: s_int80 is "xor eax,eax; int 0x80" run in ring 3.
    s80 = sym["s_int80"]
    g.cmd("Z0,%x,1" % s80)
    check(stop_pc(g, g.cmd("c"), "continue to s_int80") == s80, "stopped at s_int80")
    check(g.reg(R_CPL) == 3, "CPL 3 at s_int80")
    g.cmd("z0,%x,1" % s80)
    g.cmd("s")
    check(g.reg(R_CPL) == 3 and g.reg(R_EIP) == s80 + 2, "stepped the XOR, still ring 3")
    g.cmd("s")
    check(g.reg(R_CPL) == 0, "stepped INT 0x80: CPL 0 (EIP %#x)" % g.reg(R_EIP))
    check(not (sym["__user_start"] <= g.reg(R_EIP) < sym["__user_end"]), "EIP left the user pages")

    # Paging: linear reads go through the guest's page tables.
    x = g.monitor("xlate %#x" % sym["u_scratch"])
    check("-> physical" in x and " U" in x, "xlate of a user page: " + x.strip())
    x = g.monitor("xlate %#x" % kmain)
    check("-> physical" in x and " S" in x, "xlate of a kernel page: " + x.strip())
    check(g.cmd("m%x,4" % 0xdead0000) == "E14", "an unmapped linear address gets E14")
    check("cr0=0x8" in g.monitor("regs"), "monitor regs shows CR0.PG")
    check("protected mode, 32-bit code, CPL 0, paging on" in g.monitor("mode"), "monitor mode")
    phys = g.monitor("phys 0x%x 4" % kmain)  # identity-mapped kernel
    check(phys.split(":")[1].split() == ["%02x" % b for b in g.mem(kmain, 4)], "monitor phys = linear read")

    # Write watchpoint: the first timer tick increments ticks.
    ticks = sym["ticks"]
    check(g.cmd("Z2,%x,4" % ticks) == "OK", "Z2 on ticks")
    r = g.cmd("c")
    check(r.startswith("T05watch:%x;" % ticks), "write watchpoint hit: " + r)
    check(g.mem(ticks, 4) == b"\x01\0\0\0", "stopped after the write: ticks = 1")
    check(sym["trap"] <= g.reg(R_EIP) < sym["kmain"], "stopped in trap()")
    g.cmd("z2,%x,4" % ticks)
    check(g.cmd("Z3,%x,4" % ticks) == "OK", "Z3 on ticks")
    r = g.cmd("c")
    check(r.startswith("T05rwatch:%x;" % ticks), "read watchpoint hit: " + r)
    g.cmd("z3,%x,4" % ticks)

    # Memory writes take effect: power_off becomes "jmp $", the guest
    # spins there until Ctrl-C.
    po = sym["power_off"]
    orig = g.mem(po, 2)
    check(g.cmd("M%x,2:ebfe" % po) == "OK" and g.mem(po, 2) == b"\xeb\xfe", "M wrote jmp $ at power_off")
    g.send("c")
    check(g.ack() == b"+", "continue acknowledged")
    time.sleep(1.5)
    g.send_raw(b"\x03")
    r = g.packet()
    check(r.startswith("T02"), "Ctrl-C stops the guest: " + r)
    check(g.reg(R_EIP) == po, "it was spinning at power_off")
    esc = b"".join(b"}" + bytes([c ^ 0x20]) if c in b"}#$*" else bytes([c]) for c in orig)
    check(g.cmd("X%x,2:" % po + esc.decode("latin1")) == "OK", "X (binary write) restores power_off")
    check(g.mem(po, 2) == orig, "power_off restored")
    check(g.cmd("D") == "OK", "detach")


def rm(g, sym):
    g.cmd("qSupported")
    loop = sym["rmloop"]
    check(g.cmd("Z0,%x,1" % loop) == "OK", "Z0 at the real-mode loop (linear %#x)" % loop)
    r = g.cmd("c")
    check(r.startswith("T05"), "stop reply " + r)
    check("real mode" in g.console and "i8086" in g.console, "the stub says real mode: " + g.console.strip())
    check(g.reg(R_EIP) == loop, "the PC is linear: CS*16+IP = %#x" % g.reg(R_EIP))
    check(g.reg(R_CS) == 0x700 and g.reg(R_CS_BASE) == 0x7000, "CS 0x700, base 0x7000")
    check("real mode at 0700:%04x" % (loop - 0x7000) in g.monitor("mode"), "monitor mode gives CS:IP")
    incw = bytes([0xFF, 0x06, sym["counter"] & 0xFF, sym["counter"] >> 8])  # incw counter
    check(g.mem(loop, 4) == incw, "memory at the linear PC is the loop's code")
    g.cmd("z0,%x,1" % loop)
    g.cmd("s")
    check(g.reg(R_EIP) == sym["rmloop2"], "a real-mode step: PC %#x" % g.reg(R_EIP))
    g.send("k")


def rev(g, sym):
    """bs/bc while replaying: a reverse-continue lands on the previous hit
    of a breakpoint, at the same instruction count and with the same
    memory; a reverse step goes back one instruction; before the first
    hit the stop is the start of the replay."""
    sup = g.cmd("qSupported:swbreak+;hwbreak+")
    check("ReverseStep+" in sup and "ReverseContinue+" in sup, "qSupported offers reverse execution")
    icount = lambda: int(g.monitor("icount"))
    ticks = lambda: int.from_bytes(g.mem(sym["ticks"], 4), "little")
    check(g.cmd("bs") .startswith("T05replaylog:begin"), "bs at the start: replaylog:begin")
    check(g.cmd("Z0,%x,1" % sym["sched_tick"]) == "OK", "breakpoint at sched_tick")
    hits = []
    for i in range(3):
        check(stop_pc(g, g.cmd("c"), "continue to hit %d" % (i + 1)) == sym["sched_tick"], "hit %d at sched_tick" % (i + 1))
        hits.append((icount(), ticks(), g.reg(R_ESP)))
    check(hits[0][0] < hits[1][0] < hits[2][0], "three hits at instruction counts %s" % [h[0] for h in hits])
    r = g.cmd("bc")
    check(r.startswith("T05swbreak"), "bc stops at a breakpoint: %s" % r)
    at = (icount(), ticks(), g.reg(R_ESP))
    check(g.reg(R_EIP) == sym["sched_tick"] and at == hits[1],
          "bc lands on the previous hit: (icount, ticks, esp) %s, want %s" % (at, hits[1]))
    check(g.cmd("bs").startswith("T05"), "bs stops")
    check(icount() == hits[1][0] - 1, "bs goes back one instruction: %d, want %d" % (icount(), hits[1][0] - 1))
    check(g.cmd("bc").startswith("T05swbreak") and (icount(), ticks()) == hits[0][:2], "bc again: the first hit")
    check(g.cmd("bc").startswith("T05replaylog:begin") and icount() == 0, "bc before the first hit: the start")
    check(stop_pc(g, g.cmd("c"), "forward again") == sym["sched_tick"] and icount() == hits[0][0],
          "continue from the start: the first hit again")
    check(g.cmd("z0,%x,1" % sym["sched_tick"]) == "OK", "breakpoint removed")
    g.send("c")  # to the end of the replay: ringvm checks it and exits


def main():
    mode, port, symfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sym = {}
    with open(symfile) as f:
        for line in f:
            name, val = line.split()
            sym[name] = int(val, 16)
    g = Stub(port)
    try:
        {"pm": pm, "rm": rm, "rev": rev}[mode](g, sym)
    except (OSError, EOFError, ValueError) as e:
        check(False, "protocol: %s" % e)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
