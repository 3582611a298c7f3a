# Sourced by shell tests that grep ringvm's output for what it must say.
#   check WHAT PATTERN FILE   "ok WHAT" if grep finds PATTERN in FILE, else
#                             "FAIL WHAT", FILE's text, and sets fail=1
check() {
	if grep -q -- "$2" "$3"; then
		echo "  ok   $1"
	else
		echo "  FAIL $1: no '$2' in:"
		sed 's/^/    /' "$3"
		fail=1
	fi
}
