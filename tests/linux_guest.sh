# Sourced by the tests that boot the Debian Linux guest (t_linux_boot,
# t_linux_load). Callers set BUILD. Provides:
#
#   lg_stale           true when the guest needs (re)building
#   lg_prepare         the guest in $dir (LINUX_GUEST_DIR, default
#                      guest-linux), built when missing or older than
#                      scripts/guest-init/*; exits 77 when its packages
#                      cannot be downloaded, 1 on other failures
#   lg_boot LOG ENGINE APPEND [INITRD]
#                      boots it with --no-reboot, console to LOG; sets
#                      lg_status (exit status), lg_why (why the watchdog
#                      killed it, or empty) and lg_secs
#   lg_need REGEX WHAT the last boot's console log has a line matching
#                      REGEX: prints ok/FAIL, sets fail=1 if not
#   lg_results LOG     compares the guest's RINGVM-END lines in LOG with
#                      $dir/expected.txt, printing ok/FAIL per workload;
#                      false if any differs
#
# The watchdog judges progress, never speed (a loaded host makes a boot
# several times slower, and CI hosts are loaded): it kills ringvm only when
#   - the console printed nothing for RINGVM_LINUX_IDLE seconds (default
#     60) while ringvm slept nearly all that time: the guest is idle and
#     nothing wakes it, the hang a lost timer gives;
#   - the console printed nothing for RINGVM_LINUX_STALL seconds (default
#     600) whatever ringvm did (the longest silent stretch, the kernel
#     unpacking its initramfs, takes ~25 s on an idle host);
#   - RINGVM_LINUX_TIMEOUT seconds (default 3600) have passed: a last net.
# Before it kills ringvm it sends SIGUSR2, so the log ends with the
# board's wake-up state (CPU, armed timers, interrupt controllers).
dir=${LINUX_GUEST_DIR:-guest-linux}
ringvm=$BUILD/ringvm

# lg_stale: true when the guest in $dir is missing or older than its sources.
lg_stale() {
	for f in vmlinuz initrd.gz expected.txt cmdline.txt; do
		[ -f "$dir/$f" ] || return 0
	done
	for f in scripts/linux-guest.sh scripts/guest-init/*; do
		[ "$f" -nt "$dir/initrd.gz" ] && return 0
	done
	return 1
}

lg_prepare() {
	mkdir -p "$BUILD"
	if lg_stale; then
		echo "building the Linux guest in $dir"
		sh scripts/linux-guest.sh --out "$dir" >"$BUILD/linux-guest-build.log" 2>&1
		rc=$?
		if [ $rc -eq 2 ]; then
			tail -3 "$BUILD/linux-guest-build.log"
			echo "skip: the guest's Debian packages (linux-image-686:i386, busybox-static:i386) cannot be downloaded"
			exit 77
		elif [ $rc -ne 0 ]; then
			tail -20 "$BUILD/linux-guest-build.log"
			echo "FAIL: scripts/linux-guest.sh failed (status $rc)"
			exit 1
		fi
	fi
	if [ ! -x "$ringvm" ]; then
		echo "FAIL: $ringvm not built"
		exit 1
	fi
}

lg_boot() {
	lg_log=$1 lg_engine=$2 lg_append=$3 lg_initrd=${4:-$dir/initrd.gz}
	lg_idle=${RINGVM_LINUX_IDLE:-60}
	lg_stall=${RINGVM_LINUX_STALL:-600}
	lg_limit=${RINGVM_LINUX_TIMEOUT:-3600}
	# RINGVM_CPU=MODEL boots another CPU model (-cpu MODEL); a caller may
	# set lg_mem (default 256), lg_kernel (default $dir/vmlinuz) and
	# options of its own in lg_opts.
	lg_cpu="${RINGVM_CPU:+-cpu $RINGVM_CPU} ${lg_opts:-}"
	lg_m=${lg_mem:-256} lg_k=${lg_kernel:-$dir/vmlinuz}
	echo "booting: $ringvm $lg_cpu --accel $lg_engine -m $lg_m --no-reboot --kernel $lg_k --initrd $lg_initrd --append \"$lg_append\""
	lg_start=$(date +%s)
	"$ringvm" $lg_cpu --accel "$lg_engine" -m "$lg_m" --no-reboot --kernel "$lg_k" --initrd "$lg_initrd" \
		--append "$lg_append" </dev/null >"$lg_log" 2>&1 &
	lg_pid=$!
	lg_why=
	lg_last_size=-1
	lg_last_change=$lg_start
	lg_asleep=0 # seconds since the last output in which ringvm was seen asleep
	while kill -0 $lg_pid 2>/dev/null; do
		sleep 1
		lg_now=$(date +%s)
		lg_size=$(wc -c <"$lg_log")
		if [ "$lg_size" != "$lg_last_size" ]; then
			lg_last_size=$lg_size
			lg_last_change=$lg_now
			lg_asleep=0
		fi
		lg_state=$(sed 's/.*) //' "/proc/$lg_pid/stat" 2>/dev/null | cut -c1)
		[ "$lg_state" = S ] && lg_asleep=$((lg_asleep + 1))
		lg_quiet=$((lg_now - lg_last_change))
		if [ $((lg_now - lg_start)) -ge "$lg_limit" ]; then
			lg_why="no exit within ${lg_limit}s"
		elif [ $lg_quiet -ge "$lg_stall" ]; then
			lg_why="no console output for ${lg_stall}s"
		elif [ $lg_quiet -ge "$lg_idle" ] && [ $((lg_asleep * 10)) -ge $((lg_quiet * 9)) ]; then
			lg_why="no console output for ${lg_quiet}s with ringvm asleep ${lg_asleep}s of them: the guest waits and nothing wakes it"
		elif grep -aq 'rcu: INFO: .* detected stalls\|watchdog: BUG: soft lockup' "$lg_log"; then
			# the kernel's own watchdogs: it goes on printing, but a CPU
			# or task has stopped; the state is what is worth keeping
			lg_why="the kernel reported a stall: $(grep -a -m1 'detected stalls\|soft lockup' "$lg_log" | tr -d '\r')"
		fi
		if [ -n "$lg_why" ]; then
			# what the guest waits for, in the log (pc_diag.c)
			kill -USR2 $lg_pid 2>/dev/null
			sleep 1
			kill $lg_pid 2>/dev/null
			sleep 1
			kill -9 $lg_pid 2>/dev/null
			break
		fi
	done
	wait $lg_pid
	lg_status=$?
	lg_secs=$(($(date +%s) - lg_start))
	tr -d '\r' <"$lg_log" >"$lg_log.txt"
}

# lg_need REGEX WHAT: the last boot's console log ($lg_log.txt) has a line
# matching REGEX; prints ok or FAIL with WHAT, and sets fail=1 on a miss.
lg_need() {
	if grep -aq -- "$1" "$lg_log.txt"; then
		echo "  ok   $2"
	else
		echo "  FAIL $2: no line matching '$1'"
		fail=1
	fi
}

lg_results() {
	grep -a '^RINGVM-END ' "$1" >"$1.results"
	lg_ok=0
	while IFS= read -r want; do
		name=$(echo "$want" | cut -d' ' -f2)
		got=$(grep -a "^RINGVM-END $name " "$1.results" | head -1)
		if [ "$got" = "$want" ]; then
			echo "  ok   $name"
		else
			echo "  FAIL $name: expected '$want', got '${got:-nothing}'"
			lg_ok=1
		fi
	done <"$dir/expected.txt"
	return $lg_ok
}
