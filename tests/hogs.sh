# Sourced by tests that load the host on purpose: one busy loop per core.
#   hogs_start SECONDS   start them, each ending by itself after SECONDS
#   hogs_stop            end them (call it from an EXIT trap too)
# Needs timeout(1); callers skip without it.
hogs=
hogs_start() {
	hogs_n=0
	while [ $hogs_n -lt "$(nproc 2>/dev/null || echo 2)" ]; do
		timeout "$1" sh -c 'while :; do :; done' &
		hogs="$hogs $!"
		hogs_n=$((hogs_n + 1))
	done
}
hogs_stop() {
	[ -n "$hogs" ] && kill $hogs 2>/dev/null
	hogs=
}
