#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal and copy what it draws to a file.

usage: on_tty.py OUTFILE COMMAND [ARG...]   (exit status: the command's)

script(1) was used before; with its stdin at end of file it hangs up the
terminal as soon as it has read that end, and on a busy host that was before
the guest had drawn anything. Here nothing is fed in: the terminal stays
open until the command exits, and everything it wrote is read out.
"""
import os
import subprocess
import sys

out, argv = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
os.close(slave)
data = bytearray()
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: every holder of the slave side has closed it
        break
    if not chunk:
        break
    data += chunk
rc = child.wait()
with open(out, "wb") as f:
    f.write(data)
sys.exit(rc)
