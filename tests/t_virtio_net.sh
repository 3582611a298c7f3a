#!/bin/sh
# virtio-net over libslirp with the Debian guest (docs/virtio.md), one
# boot: /init gets an address by DHCP from slirp (ringvm.net); the guest
# fetches a 300 KB file with busybox wget from an HTTP server this test
# runs on the host's loopback, through slirp's gateway 10.0.2.2, and its
# checksum must match; then it serves a page with busybox httpd on port
# 80, which the host must fetch through -netdev user,hostfwd=tcp::P-:80.
# virtio-net's receive queue must interrupt through MSI-X (PCI-MSI in
# /proc/interrupts, with a count).
BUILD=${BUILD:-build}
. tests/linux_guest.sh
. tests/virtio_guest.sh
lg_prepare
command -v python3 >/dev/null || { echo "skip: python3 is needed for the host's HTTP server"; exit 77; }
t=$BUILD/t_virtio_net
rm -rf "$t"
mkdir -p "$t/www"
fail=0
head -c 300000 /dev/urandom >"$t/www/payload.bin"
sum=$(sha256sum <"$t/www/payload.bin" | cut -d' ' -f1)

# Two free loopback ports: the host's HTTP server and the forwarded one.
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
hport=${ports% *} fport=${ports#* }
python3 -m http.server "$hport" --bind 127.0.0.1 --directory "$t/www" >"$t/http.log" 2>&1 &
http_pid=$!
trap 'kill $http_pid 2>/dev/null' EXIT

cat >"$t/s.sh" <<G
echo "RINGVM-T addr \$(ifconfig eth0 | sed -n 's/.*inet addr:\([0-9.]*\).*/\1/p')"
if wget -q -O /tmp/p http://10.0.2.2:$hport/payload.bin; then
	echo "RINGVM-T fetched \$(sha256sum </tmp/p | cut -d' ' -f1)"
else
	echo "RINGVM-T fetch failed"
fi
grep virtio /proc/interrupts | sed 's/^ */RINGVM-T irq /'
mkdir -p /www
echo "page from the guest" >/www/index.html
httpd -p 80 -h /www
echo "RINGVM-T serving"
sleep 600
G
vg_script "$t/s.sh"
vg_start "$t/boot.log" "ringvm.net ringvm.script=/dev/vda" \
	-drive "file=$t/s.sh,if=virtio,readonly=on" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$fport-:80" -device virtio-net-pci,netdev=n0
page=
if vg_wait "$t/boot.log" "^RINGVM-T serving" 300; then
	page=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=20).read().decode().strip())' "$fport" 2>&1)
	kill $vg_pid
fi
vg_end 10
tr -d '\r' <"$t/boot.log" >"$t/boot.txt"
grep -a '^RINGVM-\(T\|NET\)' "$t/boot.txt" | sed 's/^/  guest: /'
grep -aq '^RINGVM-NET eth0 10\.0\.2\.15 router 10\.0\.2\.2' "$t/boot.txt" ||
	{ echo "FAIL: no DHCP lease of 10.0.2.15 with router 10.0.2.2 from slirp"; fail=1; }
grep -aq "^RINGVM-T fetched $sum" "$t/boot.txt" ||
	{ echo "FAIL: the file the guest fetched from the host does not have the checksum $sum"; fail=1; }
[ "$(vg_irqs "$t/boot.txt" PCI-MSI 'virtio[0-9]*-input\.0')" -gt 0 ] ||
	{ echo "FAIL: virtio-net's receive interrupts did not come through MSI-X"; fail=1; }
if [ "$page" = "page from the guest" ]; then
	echo "  host: fetched '$page' through hostfwd port $fport"
else
	echo "FAIL: through hostfwd the host got '$page'"
	fail=1
fi
if [ $fail -ne 0 ]; then
	echo "--- last lines of the console:"
	tail -25 "$t/boot.txt"
	exit 1
fi
echo "ok"
