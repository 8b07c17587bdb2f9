#!/usr/bin/python3
"""The wallet's dependencies, as plain loopback services (not under test):

  custodian  127.0.0.1:9201  "SETTLE <id> <usd>\n" -> "ACK <id>\n"   (one request per connection)
  venue      127.0.0.1:9101  "ORDER <id> <side> <qty>\n" -> "FILLED <id> <px>\n" (persistent)
  feed       127.0.0.1:9301  streams "PX <price>\n" every 100 ms

Ports can be moved with --base (custodian = base+100, venue = base, feed = base+200).
Prints READY once every listener is bound.
"""
import argparse
import socket
import threading
import time


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    return s


def serve(sock, handler):
    def loop():
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=guard, args=(handler, conn), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def guard(handler, conn):
    try:
        handler(conn)
    except OSError:
        pass
    finally:
        conn.close()


def custodian(conn):
    line = conn.makefile("rb").readline().split()
    if len(line) == 3 and line[0] == b"SETTLE":
        conn.sendall(b"ACK " + line[1] + b"\n")


def venue(conn):
    px = 100000.0
    for line in conn.makefile("rb"):
        parts = line.split()
        if len(parts) == 4 and parts[0] == b"ORDER":
            px *= 0.9995 if parts[2] == b"sell" else 1.0005
            conn.sendall(b"FILLED %s %.2f\n" % (parts[1], px))


def feed(conn):
    px = 100000.0
    while True:
        px *= 0.9999
        conn.sendall(b"PX %.2f\n" % px)
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=int, default=9101)
    a = ap.parse_args()
    socks = [(listener(a.base + 100), custodian), (listener(a.base), venue),
             (listener(a.base + 200), feed)]
    for s, h in socks:
        serve(s, h)
    print("READY", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
