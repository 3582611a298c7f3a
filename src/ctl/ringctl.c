/* ringctl: the domain toolstack, with xl's verbs (docs/domains.md). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/ctl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringctl VERB [ARGS]\n"
		"  create CONFIG [-c]      start a domain from an xl-style config (-c: attach its console)\n"
		"  list [NAME]             name, id, state, memory, engine, CPU seconds\n"
		"  top [-n N]              list every second with instructions and exits per second\n"
		"  console NAME            attach (Ctrl-] detaches; without a terminal: until it ends)\n"
		"  pause NAME / unpause NAME\n"
		"  shutdown [-w] NAME      ACPI power button (else Ctrl-Alt-Del); -w waits for the end\n"
		"  reboot [-w] NAME        Ctrl-Alt-Del through the keyboard controller\n"
		"  destroy NAME            stop it now\n"
		"  save [-c] NAME FILE     save it to FILE and destroy it (-c: keep it running)\n"
		"  restore FILE [NAME]     start a saved domain\n"
		"  migrate NAME HOST:PORT  live-migrate to a ringvm waiting there\n"
		"  receive NAME [HOST:]PORT  start a domain that waits for a migration\n"
		"  dmesg NAME              ringvm's messages for the domain\n"
		"Domains live in $RINGVM_RUNDIR, else $XDG_RUNTIME_DIR/ringvm, else /tmp/ringvm-UID.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	umask(077); /* every file a domain has is its owner's only */
	const char *verb = argv[1];
	argc--;
	argv++;
	static const struct {
		const char *verb;
		int (*fn)(int argc, char **argv);
	} verbs[] = { { "create", cmd_create }, { "restore", cmd_restore }, { "receive", cmd_receive },
		      { "list", cmd_list },     { "top", cmd_top },         { "console", cmd_console },
		      { "dmesg", cmd_dmesg } };
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].verb))
			return verbs[i].fn(argc, argv);
	static const char *const ctl[] = { "pause", "unpause", "shutdown", "reboot", "destroy", "save", "migrate", NULL };
	for (int i = 0; ctl[i]; i++)
		if (!strcmp(verb, ctl[i]))
			return cmd_control(verb, argc, argv);
	ctl_err("unknown verb '%s'", verb);
	usage(stderr);
	return 1;
}
