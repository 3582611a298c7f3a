#!/usr/bin/env python3
"""A QMP client for the tests: qmp.py SOCKET CMD [JSON-ARGS] [CMD [JSON-ARGS]]...
Connects, checks the greeting, negotiates, runs each command and prints
each reply (and any events) as one JSON line. Raw lines can be sent with
CMD '!RAW' followed by the text to send as is (then a reply is
awaited), '!SEND' TEXT sends without waiting, '!EVENT' NAME waits for
an event."""
import json, socket, sys, time

def connect(path, tries=100):
    for _ in range(tries):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.1)
    sys.exit("qmp.py: cannot connect to " + path)

class Conn:
    def __init__(self, path):
        self.s = connect(path)
        self.buf = b""
    def recv(self, timeout=30):
        self.s.settimeout(timeout)
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)
    def reply(self):
        while True:
            m = self.recv()
            if m is None:
                return None
            print(json.dumps(m), flush=True)
            if "return" in m or "error" in m:
                return m

def main():
    c = Conn(sys.argv[1])
    g = c.recv()
    print(json.dumps(g), flush=True)
    args = sys.argv[2:]
    i = 0
    while i < len(args):
        cmd = args[i]; i += 1
        if cmd == "!SEND":  # send without waiting for a reply
            c.s.sendall(args[i].encode()); i += 1
            continue
        if cmd == "!RAW":
            c.s.sendall(args[i].encode()); i += 1
            c.reply()
            continue
        if cmd == "!EVENT":  # wait for an event of this name
            name = args[i]; i += 1
            while True:
                m = c.recv(120)
                if m is None:
                    sys.exit("qmp.py: connection closed before event " + name)
                print(json.dumps(m), flush=True)
                if m.get("event") == name:
                    break
            continue
        msg = {"execute": cmd}
        if i < len(args) and args[i].startswith("{"):
            msg["arguments"] = json.loads(args[i]); i += 1
        c.s.sendall((json.dumps(msg) + "\n").encode())
        c.reply()

main()
