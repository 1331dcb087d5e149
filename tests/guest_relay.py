"""Relay one guest connection (stdin/stdout, from QEMU's guestfwd cmd:) to 127.0.0.1:PORT.

QEMU spawns this once per TCP connection the guest opens to the forwarded
address, so the guest can open as many as it likes; a chardev forward would
carry only the first one.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def relay(port: int) -> None:
    upstream = socket.create_connection(("127.0.0.1", port))
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "guest")
    selector.register(upstream, selectors.EVENT_READ, "host")
    guest_open = True
    while True:
        for key, _ in selector.select():
            if key.data == "guest":
                data = os.read(sys.stdin.fileno(), 65536)
                if not data:
                    selector.unregister(sys.stdin.fileno())
                    upstream.shutdown(socket.SHUT_WR)
                    guest_open = False
                    continue
                upstream.sendall(data)
            else:
                data = upstream.recv(65536)
                if not data:
                    return
                view = memoryview(data)
                while view:
                    written = os.write(sys.stdout.fileno(), view)
                    view = view[written:]
        if not guest_open and not selector.get_map():
            return


if __name__ == "__main__":
    relay(int(sys.argv[1]))
