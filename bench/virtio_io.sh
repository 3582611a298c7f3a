#!/bin/sh
# Disk and network throughput inside the Debian guest (docs/virtio.md,
# "Measured"): busybox dd on a 128 MiB raw virtio disk (64 MiB sequential
# with 1 MiB blocks, 16 MiB with 4 KiB blocks, O_DIRECT), a 32 MiB HTTP
# fetch from the host through slirp (wget) and 32 MiB sent to a host
# socket (nc), timed by the guest's /proc/uptime; on ringvm (ENGINE,
# default bt) and, when installed, qemu-system-i386 -accel tcg with the
# same kernel, initrd, image and virtio devices.
#   sh bench/virtio_io.sh        (after make and make linux-guest)
BUILD=${BUILD:-build}
dir=${LINUX_GUEST_DIR:-guest-linux}
engine=${ENGINE:-bt}
w=$(mktemp -d)
trap 'kill $hp $sp 2>/dev/null; rm -rf "$w"' EXIT
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
http=${ports% *} sink=${ports#* }
head -c 32M /dev/zero >"$w/big.bin"
python3 -m http.server "$http" --bind 127.0.0.1 --directory "$w" >/dev/null 2>&1 &
hp=$!
python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.close()' "$sink" &
sp=$!
cat >"$w/bench.sh" <<G
t() { cut -d' ' -f1 /proc/uptime; }
run() { n=\$1; shift; s=\$(t); "\$@" >/dev/null 2>&1; e=\$(t); echo "RINGVM-B \$n \$s \$e"; }
run seq-write-64M dd if=/dev/zero of=/dev/vda bs=1M count=64 oflag=direct
run seq-read-64M dd if=/dev/vda of=/dev/null bs=1M count=64 iflag=direct
run 4k-write-16M dd if=/dev/zero of=/dev/vda bs=4k count=4096 oflag=direct
run 4k-read-16M dd if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct
run http-get-32M wget -q -O /dev/null http://10.0.2.2:$http/big.bin
s=\$(t); dd if=/dev/zero bs=1M count=32 2>/dev/null | nc 10.0.2.2 $sink; e=\$(t)
echo "RINGVM-B tcp-send-32M \$s \$e"
G
truncate -s 64K "$w/bench.sh"
truncate -s 128M "$w/disk.img"
append="$(cat "$dir/cmdline.txt") ringvm.net ringvm.script=/dev/vdb"
report() {
	tr -d '\r' | grep '^RINGVM-B ' | sort -u | awk -v who="$1" '{ printf "%-10s %-14s %7.2f s\n", who, $2, $4 - $3 }'
}
"$BUILD/ringvm" --accel "$engine" -m 256 --no-reboot --kernel "$dir/vmlinuz" --initrd "$dir/initrd.gz" \
	--append "$append" -drive "file=$w/disk.img,if=virtio" -drive "file=$w/bench.sh,if=virtio,readonly=on" \
	-nic user </dev/null 2>&1 | report "ringvm-$engine"
if command -v qemu-system-i386 >/dev/null; then
	qemu-system-i386 -accel tcg -m 256 -no-reboot -nographic -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" \
		-append "$append" -drive "file=$w/disk.img,if=virtio,format=raw" \
		-drive "file=$w/bench.sh,if=virtio,format=raw,readonly=on" -nic user,model=virtio-net-pci \
		</dev/null 2>&1 | report qemu-tcg
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
