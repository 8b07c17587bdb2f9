#!/usr/bin/python3
"""twofeeds.py PORT_A PORT_B N: two threads, each reading N lines from its
own feed, one recv per line; the interleaving of their calls is up to the
scheduler."""
import socket
import sys
import threading


def reader(port, n):
    s = socket.create_connection(("127.0.0.1", port))
    for _ in range(n):
        s.recv(64)
    s.close()


a, b, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ts = [threading.Thread(target=reader, args=(p, n)) for p in (a, b)]
for t in ts:
    t.start()
for t in ts:
    t.join()
