/* QEMU-style device options (see devopts.h, docs/virtio.md). */
#include "cli/devopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/net_slirp.h"

#define MAX_KEYS 16

struct kv {
	char *key, *val; /* val NULL: a bare word */
};

static char *keep(struct devopts *o, char *s)
{
	if (s && o->nstrings < (int)(sizeof(o->strings) / sizeof(o->strings[0]))) {
		o->strings[o->nstrings++] = s;
		return s;
	}
	free(s);
	return NULL;
}

/* Split "a,b=c,d=e" in place (s is ours). Returns the count, -1 if too many. */
static int split(char *s, struct kv *kv)
{
	int n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == MAX_KEYS)
			return -1;
		char *eq = strchr(tok, '=');
		if (eq)
			*eq = 0;
		kv[n++] = (struct kv){ tok, eq ? eq + 1 : NULL };
	}
	return n;
}

static int bad(char *err, size_t errlen, const char *kind, const char *arg, const char *why)
{
	snprintf(err, errlen, "-%s '%s': %s", kind, arg, why);
	return -1;
}

static int on_off(const char *v, int *out)
{
	if (!v || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static void copy_id(char *dst, const char *src)
{
	snprintf(dst, 32, "%s", src);
}

static int parse_drive(struct devopts *o, const char *arg, struct kv *kv, int n, char *err, size_t errlen)
{
	struct vio_drive d = { NULL, false, VBLK_WRITEBACK };
	const char *ifname = NULL, *id = NULL;
	for (int i = 0; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;
		int b;
		if (!v && strcmp(k, "readonly"))
			return bad(err, errlen, "drive", arg, "expected key=value pairs");
		if (!strcmp(k, "file")) {
			d.file = v;
		} else if (!strcmp(k, "if")) {
			ifname = v;
		} else if (!strcmp(k, "id")) {
			id = v;
		} else if (!strcmp(k, "format")) {
			if (strcmp(v, "raw"))
				return bad(err, errlen, "drive", arg, "only format=raw is supported (no qcow2)");
		} else if (!strcmp(k, "readonly")) {
			if (on_off(v, &b) < 0)
				return bad(err, errlen, "drive", arg, "readonly= takes on or off");
			d.readonly = b;
		} else if (!strcmp(k, "cache")) {
			if (!strcmp(v, "writethrough") || !strcmp(v, "directsync"))
				d.cache = VBLK_WRITETHROUGH;
			else if (!strcmp(v, "unsafe"))
				d.cache = VBLK_UNSAFE;
			else if (!strcmp(v, "writeback") || !strcmp(v, "none"))
				d.cache = VBLK_WRITEBACK;
			else
				return bad(err, errlen, "drive", arg,
					   "cache= takes writeback, none, writethrough, directsync or unsafe");
		} else if (!strcmp(k, "media")) {
			if (strcmp(v, "disk"))
				return bad(err, errlen, "drive", arg, "only media=disk is supported");
		} else {
			return bad(err, errlen, "drive", arg, "unknown key (file, if, id, format, readonly, cache, media)");
		}
	}
	if (!d.file)
		return bad(err, errlen, "drive", arg, "needs file=IMAGE");
	if (ifname && !strcmp(ifname, "none")) {
		if (!id)
			return bad(err, errlen, "drive", arg, "if=none needs id= (for -device virtio-blk-pci,drive=ID)");
		if (o->ndrive == DEVOPTS_MAX)
			return bad(err, errlen, "drive", arg, "too many drives");
		copy_id(o->drive[o->ndrive].id, id);
		o->drive[o->ndrive++].d = d;
		return 0;
	}
	if (!ifname || strcmp(ifname, "virtio"))
		return bad(err, errlen, "drive", arg, "only if=virtio (or if=none with -device virtio-blk-pci) is supported");
	if (o->cfg.ndrives == VIO_MAX_DRIVES)
		return bad(err, errlen, "drive", arg, "too many virtio drives (at most 4)");
	o->cfg.drive[o->cfg.ndrives++] = d;
	return 0;
}

/* The options of a user network: hostfwd= rules (checked now). */
static int parse_user(struct vio_nic *nic, const char *kind, const char *arg, struct kv *kv, int n, bool nic_opt,
		      const char **id, char *err, size_t errlen)
{
	memset(nic, 0, sizeof(*nic));
	if (n == 0 || kv[0].val || strcmp(kv[0].key, "user"))
		return bad(err, errlen, kind, arg, "only the user network (user,...) is supported");
	for (int i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;
		if (!v)
			return bad(err, errlen, kind, arg, "expected key=value pairs after 'user'");
		if (!strcmp(k, "hostfwd")) {
			int udp, hp, gp;
			struct in_addr ha, ga;
			if (net_slirp_parse_fwd(v, &udp, &ha, &hp, &ga, &gp, err, errlen) < 0)
				return -1;
			if (nic->nfwd == VIO_MAX_FWD)
				return bad(err, errlen, kind, arg, "too many hostfwd rules");
			nic->fwd[nic->nfwd++] = (char *)v;
		} else if (!strcmp(k, "id") && !nic_opt) {
			*id = v;
		} else if (!strcmp(k, "model") && nic_opt) {
			if (strcmp(v, "virtio-net-pci") && strcmp(v, "virtio"))
				return bad(err, errlen, kind, arg, "only model=virtio-net-pci is supported");
		} else {
			return bad(err, errlen, kind, arg, nic_opt ? "unknown key (hostfwd, model)" : "unknown key (id, hostfwd)");
		}
	}
	return 0;
}

static int parse_device(struct devopts *o, const char *arg, struct kv *kv, int n, char *err, size_t errlen)
{
	if (n == 0 || kv[0].val)
		return bad(err, errlen, "device", arg, "expected a device name first");
	const char *name = kv[0].key, *ref = NULL, *refkey = NULL;
	if (!strcmp(name, "virtio-net-pci"))
		refkey = "netdev";
	else if (!strcmp(name, "virtio-blk-pci"))
		refkey = "drive";
	else if (!strcmp(name, "virtconsole"))
		refkey = "chardev";
	else if (strcmp(name, "virtio-rng-pci") && strcmp(name, "virtio-serial-pci") && strcmp(name, "virtio-serial"))
		return bad(err, errlen, "device", arg,
			   "unknown device (virtio-blk-pci, virtio-net-pci, virtio-rng-pci, virtio-serial-pci, virtconsole)");
	for (int i = 1; i < n; i++) {
		if (!refkey || !kv[i].val || strcmp(kv[i].key, refkey))
			return bad(err, errlen, "device", arg, refkey ? "unknown key" : "takes no options");
		ref = kv[i].val;
	}
	if (refkey && !ref) {
		snprintf(err, errlen, "-device '%s': needs %s=ID", arg, refkey);
		return -1;
	}
	if (!strcmp(name, "virtio-rng-pci")) {
		o->cfg.rng = true;
	} else if (!strcmp(name, "virtio-net-pci")) {
		if (o->nnic_ref == VIO_MAX_NICS)
			return bad(err, errlen, "device", arg, "too many network cards (at most 2)");
		copy_id(o->nic_ref[o->nnic_ref++], ref);
	} else if (!strcmp(name, "virtio-blk-pci")) {
		if (o->nblk_ref == VIO_MAX_DRIVES)
			return bad(err, errlen, "device", arg, "too many drives (at most 4)");
		copy_id(o->blk_ref[o->nblk_ref++], ref);
	} else if (!strcmp(name, "virtconsole")) {
		if (o->cfg.console)
			return bad(err, errlen, "device", arg, "only one virtconsole");
		o->cfg.console = true;
		copy_id(o->con_chardev, ref);
	}
	return 0;
}

static int parse_chardev(struct devopts *o, const char *arg, struct kv *kv, int n, char *err, size_t errlen)
{
	if (n == 0 || kv[0].val || (strcmp(kv[0].key, "file") && strcmp(kv[0].key, "stdio")))
		return bad(err, errlen, "chardev", arg, "only file,id=ID,path=FILE and stdio,id=ID are supported");
	if (o->nchardev == DEVOPTS_MAX)
		return bad(err, errlen, "chardev", arg, "too many");
	const char *id = NULL, *path = NULL;
	for (int i = 1; i < n; i++) {
		if (kv[i].val && !strcmp(kv[i].key, "id"))
			id = kv[i].val;
		else if (kv[i].val && !strcmp(kv[i].key, "path"))
			path = kv[i].val;
		else
			return bad(err, errlen, "chardev", arg, "unknown key (id, path)");
	}
	bool stdio = !strcmp(kv[0].key, "stdio");
	if (!id || (!stdio && !path))
		return bad(err, errlen, "chardev", arg, stdio ? "needs id=ID" : "needs id=ID and path=FILE");
	copy_id(o->chardev[o->nchardev].id, id);
	o->chardev[o->nchardev].path = (char *)path;
	o->chardev[o->nchardev++].stdio = stdio;
	return 0;
}

int devopts_add(struct devopts *o, const char *kind, const char *arg, char *err, size_t errlen)
{
	char *s = keep(o, strdup(arg));
	if (!s)
		return bad(err, errlen, kind, arg, "out of memory or too many device options");
	struct kv kv[MAX_KEYS];
	int n = split(s, kv);
	if (n < 0)
		return bad(err, errlen, kind, arg, "too many options");
	if (!strcmp(kind, "drive"))
		return parse_drive(o, arg, kv, n, err, errlen);
	if (!strcmp(kind, "device"))
		return parse_device(o, arg, kv, n, err, errlen);
	if (!strcmp(kind, "chardev"))
		return parse_chardev(o, arg, kv, n, err, errlen);
	if (!strcmp(kind, "nic")) {
		if (o->cfg.nnics == VIO_MAX_NICS)
			return bad(err, errlen, kind, arg, "too many network cards (at most 2)");
		if (parse_user(&o->cfg.nic[o->cfg.nnics], kind, arg, kv, n, true, NULL, err, errlen) < 0)
			return -1;
		o->cfg.nnics++;
		return 0;
	}
	/* netdev */
	if (o->nnetdev == DEVOPTS_MAX)
		return bad(err, errlen, kind, arg, "too many");
	const char *id = NULL;
	if (parse_user(&o->netdev[o->nnetdev].n, kind, arg, kv, n, false, &id, err, errlen) < 0)
		return -1;
	if (!id)
		return bad(err, errlen, kind, arg, "needs id=ID");
	copy_id(o->netdev[o->nnetdev++].id, id);
	return 0;
}

int devopts_finish(struct devopts *o, char *err, size_t errlen)
{
	for (int r = 0; r < o->nnic_ref; r++) {
		int i = 0;
		while (i < o->nnetdev && strcmp(o->netdev[i].id, o->nic_ref[r]))
			i++;
		if (i == o->nnetdev || o->netdev[i].used) {
			snprintf(err, errlen, "-device virtio-net-pci: %s netdev '%s'", i == o->nnetdev ? "no" : "already used",
				 o->nic_ref[r]);
			return -1;
		}
		if (o->cfg.nnics == VIO_MAX_NICS) {
			snprintf(err, errlen, "too many network cards (at most 2)");
			return -1;
		}
		o->netdev[i].used = 1;
		o->cfg.nic[o->cfg.nnics++] = o->netdev[i].n;
	}
	for (int i = 0; i < o->nnetdev; i++)
		if (!o->netdev[i].used)
			fprintf(stderr, "ringvm: warning: netdev '%s' has no -device virtio-net-pci\n", o->netdev[i].id);
	for (int r = 0; r < o->nblk_ref; r++) {
		int i = 0;
		while (i < o->ndrive && strcmp(o->drive[i].id, o->blk_ref[r]))
			i++;
		if (i == o->ndrive || o->drive[i].used) {
			snprintf(err, errlen, "-device virtio-blk-pci: %s drive '%s'", i == o->ndrive ? "no" : "already used",
				 o->blk_ref[r]);
			return -1;
		}
		if (o->cfg.ndrives == VIO_MAX_DRIVES) {
			snprintf(err, errlen, "too many virtio drives (at most 4)");
			return -1;
		}
		o->drive[i].used = 1;
		o->cfg.drive[o->cfg.ndrives++] = o->drive[i].d;
	}
	if (o->cfg.console) {
		int i = 0;
		while (i < o->nchardev && strcmp(o->chardev[i].id, o->con_chardev))
			i++;
		if (i == o->nchardev) {
			snprintf(err, errlen, "-device virtconsole: no chardev '%s'", o->con_chardev);
			return -1;
		}
		o->cfg.console_path = o->chardev[i].stdio ? NULL : o->chardev[i].path;
	}
	return 0;
}

void devopts_free(struct devopts *o)
{
	for (int i = 0; i < o->nstrings; i++)
		free(o->strings[i]);
	o->nstrings = 0;
}
