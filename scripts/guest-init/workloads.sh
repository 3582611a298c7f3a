# Workloads of the ringvm Linux guest. /init sources this file inside the
# guest; scripts/linux-guest.sh runs the same file on the host with the
# same i386 busybox to produce expected.txt. Only busybox applets are used,
# so both runs execute the very same code.
#
# Output: "RINGVM-BEGIN <name> uptime=<s>" then "RINGVM-END <name> <result>".
# Only the END lines are compared; BEGIN lines carry the guest's uptime so
# that each workload's duration can be read from the log.

WL_TMP=${TMPDIR:-/tmp}
WL_BIN=${WL_BIN:-/bin} # where the busybox applet links are

wl_uptime() {
	if [ -r /proc/uptime ]; then cut -d' ' -f1 /proc/uptime; else echo 0; fi
}

# Stream 32 MiB through a pipe and hash it: block I/O, memcpy, MD5 rounds.
wl_md5zero() {
	dd if=/dev/zero bs=1M count=32 2>/dev/null | md5sum | cut -d' ' -f1
}

# Deflate ~4 MiB of generated text. The first 10 bytes of gzip output are
# the header with a timestamp, so the hash covers the rest; the size and
# the input's hash are reported too.
wl_gzip() {
	awk 'BEGIN { for (i = 1; i <= 72000; i++)
		printf "%06d the quick brown fox jumps over %d lazy dogs, %s\n", i, (i * 7919) % 100003, (i % 3 ? "fizz" : "buzz") }' \
		>"$WL_TMP/wl.txt" || return 1
	gzip -c <"$WL_TMP/wl.txt" >"$WL_TMP/wl.gz" || return 1
	echo "$(tail -c +11 "$WL_TMP/wl.gz" | md5sum | cut -d' ' -f1) $(wc -c <"$WL_TMP/wl.gz") $(wc -c <"$WL_TMP/wl.txt") $(md5sum <"$WL_TMP/wl.txt" | cut -d' ' -f1)"
	rm -f "$WL_TMP/wl.txt" "$WL_TMP/wl.gz"
}

# 200 x fork + execve: an explicit path makes ash fork and exec the
# binary rather than run a builtin or an in-process applet.
wl_forkexec() {
	n=0
	while [ $n -lt 200 ]; do
		"$WL_BIN/true" || return 1
		n=$((n + 1))
	done
	echo $n
}

# Fractional arithmetic through awk's doubles (the x87 in a 32-bit guest).
# Debian's busybox awk has no math library, so sqrt, exp, sin and pi come
# from Newton's method and series written out here.
wl_awk() {
	awk 'function atn(x,  t, s, k) { t = x; s = 0; for (k = 1; k < 60; k += 2) { s += t / k; t = -t * x * x } return s }
	BEGIN { s = 0; for (i = 1; i <= 200000; i++) s += 1 / i
		r = 1; for (k = 0; k < 40; k++) r = (r + 2 / r) / 2
		e = 0; t = 1; for (k = 1; k < 25; k++) { e += t; t /= k }
		x = 1; sn = 0; t = x; for (k = 1; k < 30; k += 2) { sn += t; t = -t * x * x / ((k + 1) * (k + 2)) }
		pi = 16 * atn(1 / 5) - 4 * atn(1 / 239)
		printf "%.10f %.10f %.10f %.10f %.10f %.6e\n", s, r, e, sn, pi, s / 3e-7 }'
}

wl_run() {
	name=$1
	shift
	echo "RINGVM-BEGIN $name uptime=$(wl_uptime)"
	r=$("$@" 2>&1) || r="FAILED $r"
	echo "RINGVM-END $name $r"
}

wl_run_all() {
	wl_run md5zero wl_md5zero
	wl_run gzip wl_gzip
	wl_run forkexec wl_forkexec
	wl_run awk wl_awk
	echo "RINGVM-DONE uptime=$(wl_uptime)"
}
