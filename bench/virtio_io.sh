#!/bin/sh
# Disk and network throughput inside the Debian guest, ringvm beside
# QEMU-TCG (docs/virtio.md, "Measured"; part of `make bench`, alone as
# `make bench-virtio`). The guest runs, on a raw virtio disk of 2 x MIB
# MiB (BENCH_VIRTIO_MIB, default 64), with O_DIRECT so that every request
# reaches the device:
#   - busybox dd, sequential, MIB MiB in 1 MiB blocks, write then read;
#   - busybox dd, sequential, MIB/4 MiB in 4 KiB blocks, write then read;
#   - bench/randio (a tiny static program brought in on a third drive),
#     MIB/8 MiB of 4 KiB writes then reads at random 4 KiB-aligned offsets
#     in the first MIB MiB, one request at a time;
#   - MIB/2 MiB fetched from the host with wget (slirp, host to guest) and
#     sent to a host socket with nc (guest to host);
# each timed by the guest's /proc/uptime (the whole run by the host's
# clock); on ringvm (ENGINE, default bt) and qemu-system-i386 -accel tcg
# (BENCH_QEMU) with the same kernel, initrd, image and virtio devices
# (virtio-blk-pci, virtio-net-pci).
# Prints a markdown table with the ratios; exits 1 if a run did not
# produce every figure. Consoles in $BUILD/bench/virtio-*.log.
#   sh bench/virtio_io.sh        (after make build/ringvm build/bench/randio)
BUILD=${BUILD:-build}
dir=${LINUX_GUEST_DIR:-guest-linux}
engine=${ENGINE:-bt}
qemu=${BENCH_QEMU:-qemu-system-i386}
mib=${BENCH_VIRTIO_MIB:-64}
limit=${BENCH_TIMEOUT:-900}
randio=$BUILD/bench/randio
case $mib in '' | *[!0-9]*) echo "virtio_io: BENCH_VIRTIO_MIB must be a number of MiB" >&2; exit 1 ;; esac
[ "$mib" -ge 8 ] || { echo "virtio_io: BENCH_VIRTIO_MIB must be at least 8" >&2; exit 1; }
[ -x "$randio" ] || { echo "virtio_io: $randio is missing (make $randio)" >&2; exit 1; }
mkdir -p "$BUILD/bench"
w=$(mktemp -d)
trap 'kill $hp $sp 2>/dev/null; rm -rf "$w"' EXIT
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
http=${ports% *} sink=${ports#* }
net=$((mib / 2)) small=$((mib / 4)) ops=$((mib * 32))
head -c "${net}M" /dev/zero >"$w/big.bin"
python3 -m http.server "$http" --bind 127.0.0.1 --directory "$w" >/dev/null 2>&1 &
hp=$!
python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.close()' "$sink" &
sp=$!
rsize=$(wc -c <"$randio")
cat >"$w/bench.sh" <<G
t() { cut -d' ' -f1 /proc/uptime; }
run() { n=\$1; shift; s=\$(t); "\$@" >/dev/null 2>/tmp/err; st=\$?; e=\$(t); echo "RINGVM-B \$n \$s \$e \$st"; }
head -c $rsize /dev/vdc >/tmp/randio && chmod +x /tmp/randio
run seq-write dd if=/dev/zero of=/dev/vda bs=1M count=$mib oflag=direct
run seq-read dd if=/dev/vda of=/dev/null bs=1M count=$mib iflag=direct
run 4k-seq-write dd if=/dev/zero of=/dev/vda bs=4k count=$((small * 256)) oflag=direct
run 4k-seq-read dd if=/dev/vda of=/dev/null bs=4k count=$((small * 256)) iflag=direct
run 4k-rand-write /tmp/randio w /dev/vda $ops $((mib * 1024)) 12345
run 4k-rand-read /tmp/randio r /dev/vda $ops $((mib * 1024)) 54321
run http-get wget -q -O /dev/null http://10.0.2.2:$http/big.bin
s=\$(t); dd if=/dev/zero bs=1M count=$net 2>/dev/null | nc 10.0.2.2 $sink; st=\$?; e=\$(t)
echo "RINGVM-B tcp-send \$s \$e \$st"
G
truncate -s 64K "$w/bench.sh"
cp "$randio" "$w/randio.img"
truncate -s 64K "$w/randio.img"
append="$(cat "$dir/cmdline.txt") ringvm.net ringvm.script=/dev/vdb"
# "NAME SECONDS" per row that finished with status 0.
# "NAME SECONDS" per row that finished with status 0, then the host's
# seconds for the whole run (from $1 and $2: date +%s.%N before and after).
figures() {
	tr -d '\r' <"$1" | grep '^RINGVM-B ' | sort -u | awk '$5 == 0 { printf "%s %.2f\n", $2, $4 - $3 }'
	awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { printf "whole-run %.2f\n", b - a }'
}
truncate -s 0 "$w/disk.img"
truncate -s "$((2 * mib))M" "$w/disk.img"
t0=$(date +%s.%N)
timeout "$limit" "$BUILD/ringvm" --accel "$engine" -m 256 --no-reboot --kernel "$dir/vmlinuz" --initrd "$dir/initrd.gz" \
	--append "$append" -drive "file=$w/disk.img,if=virtio" -drive "file=$w/bench.sh,if=virtio,readonly=on" \
	-drive "file=$w/randio.img,if=virtio,readonly=on" -nic user </dev/null >"$BUILD/bench/virtio-ringvm.log" 2>&1
figures "$BUILD/bench/virtio-ringvm.log" "$t0" >"$w/ringvm.txt"
have_qemu=0
if command -v "$qemu" >/dev/null; then
	have_qemu=1
	truncate -s 0 "$w/disk.img"
	truncate -s "$((2 * mib))M" "$w/disk.img"
	t0=$(date +%s.%N)
	timeout "$limit" "$qemu" -accel tcg -m 256 -no-reboot -nographic -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" \
		-append "$append" -drive "file=$w/disk.img,if=virtio,format=raw" \
		-drive "file=$w/bench.sh,if=virtio,format=raw,readonly=on" \
		-drive "file=$w/randio.img,if=virtio,format=raw,readonly=on" -nic user,model=virtio-net-pci \
		</dev/null >"$BUILD/bench/virtio-qemu.log" 2>&1
	figures "$BUILD/bench/virtio-qemu.log" "$t0" >"$w/qemu.txt"
fi
echo "### Virtio disk and network in the Linux guest: seconds, one run each (bench/virtio_io.sh)"
echo
awk -v engine="$engine" -v have_qemu=$have_qemu -v mib=$mib -v small=$small -v ops=$ops -v net=$net \
	-v rfile="$w/ringvm.txt" -v qfile="$w/qemu.txt" '
BEGIN {
	n = split("seq-write seq-read 4k-seq-write 4k-seq-read 4k-rand-write 4k-rand-read http-get tcp-send whole-run", row, " ")
	what["seq-write"] = "dd, " mib " MiB in 1 MiB blocks, O_DIRECT"
	what["seq-read"] = what["seq-write"]
	what["4k-seq-write"] = "dd, " small " MiB in 4 KiB blocks, O_DIRECT"
	what["4k-seq-read"] = what["4k-seq-write"]
	what["4k-rand-write"] = "randio, " ops " x 4 KiB at random offsets in " mib " MiB, O_DIRECT"
	what["4k-rand-read"] = what["4k-rand-write"]
	what["http-get"] = "wget " net " MiB from the host (host to guest)"
	what["tcp-send"] = "nc " net " MiB to a host socket (guest to host)"
	what["whole-run"] = "host seconds, start to power-off (firmware, boot, the rows above)"
	while ((getline l < rfile) > 0) { split(l, f, " "); r[f[1]] = f[2] }
	if (have_qemu)
		while ((getline l < qfile) > 0) { split(l, f, " "); q[f[1]] = f[2] }
	printf "| workload | ringvm %s | QEMU-TCG | %s/QEMU | what |\n", engine, engine
	printf "|---|--:|--:|--:|---|\n"
	bad = 0
	for (i = 1; i <= n; i++) {
		k = row[i]
		rv = (k in r) ? r[k] : "—"
		qv = (k in q) ? q[k] : "—"
		ra = ((k in r) && (k in q) && q[k] > 0) ? sprintf("%.2fx", r[k] / q[k]) : "—"
		printf "| %s | %s | %s | %s | %s |\n", k, rv, qv, ra, what[k]
		if (!(k in r) || (have_qemu && !(k in q)))
			bad = 1
	}
	print ""
	if (!have_qemu)
		print "QEMU-TCG: not measured (no qemu-system-i386)."
	if (bad)
		print "FAILED: a run did not finish every row (consoles: virtio-ringvm.log, virtio-qemu.log)."
	exit bad
}'
st=$?
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $st
