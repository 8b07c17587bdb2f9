#!/usr/bin/python3
"""race.py A|B PORT LOG: two processes racing. A reads the custodian's first
bytes (they arrive at once) and logs "A-recv"; B logs "B-send" 20 ms later and
then sends to the venue. Unforced, A wins; `hold until venue send` makes B win."""
import os, socket, sys, time
role, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def note(s):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, s.encode() + b"\n"); os.close(fd)
s = socket.create_connection(("127.0.0.1", port))
if role == "A":      # reads the custodian's ack: first data arrives at once
    s.recv(100)
    note("A-recv")
else:                # sends the venue order a little later
    time.sleep(0.02)
    note("B-send")
    s.sendall(b"ORDER 2\n")
