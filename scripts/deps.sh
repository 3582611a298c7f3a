#!/bin/sh
# Installs the Debian packages ringvm needs to build and test, when missing.
# Called by the Makefile before building; safe to run again.
set -e
need=""
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in gcc make libzydis-dev libslirp-dev gcc-multilib clang cpio python3 librsvg2-bin seabios grub-pc-bin e2fsprogs libjson-c-dev libseccomp-dev gdb; do
  have "$p" || need="$need $p"
done
for p in $EXTRA_PKGS; do have "$p" || need="$need $p"; done
[ -z "$need" ] && exit 0
echo "deps: installing$need" >&2
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
