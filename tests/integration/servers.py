#!/usr/bin/python3
"""Small loopback servers for the integration tests.

    servers.py http PORT [BODY]       HTTP/1.0, one response per connection
    servers.py echo PORT              line echo, a thread per connection
    servers.py forking-echo PORT      line echo, a fork()ed child per connection
    servers.py silent PORT            accepts, then never answers
    servers.py feed PORT COUNT MS     sends COUNT numbered lines, MS apart, then closes
    servers.py epoll-echo PORT        line echo, one thread, selectors (epoll), all
                                      sockets non-blocking; accept errors are
                                      logged to stderr ("accept error: ENAME")
                                      and the loop goes on, as real servers do

Each binds 127.0.0.1:PORT, then prints READY (flushed) so the harness can
wait for the event instead of sleeping.
"""
import os
import signal
import socket
import sys
import threading
import time


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    print("READY", flush=True)
    sys.stdout.close()
    os.close(1)
    return s


def http(conn, body):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    payload = body.encode()
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                 % (len(payload), payload))


def echo(conn, _):
    f = conn.makefile("rb")
    for line in f:
        conn.sendall(line)


def silent(conn, _):
    while conn.recv(4096):
        pass


def feed(conn, args):
    count, ms = int(args[0]), int(args[1])
    for i in range(count):
        conn.sendall(b"tick %d\n" % i)
        time.sleep(ms / 1000.0)


def serve_threads(s, fn, arg):
    while True:
        conn, _ = s.accept()

        def run(c=conn):
            try:
                fn(c, arg)
            except OSError:
                pass
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


def serve_forking(s, fn, arg):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        conn, _ = s.accept()
        if os.fork() == 0:
            s.close()
            try:
                fn(conn, arg)
            except OSError:
                pass
            os._exit(0)
        conn.close()


def serve_epoll(s):
    import errno
    import selectors
    sel = selectors.DefaultSelector()
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, None)
    bufs = {}
    while True:
        for key, ev in sel.select():
            sock = key.fileobj
            if sock is s:
                try:
                    conn, _ = s.accept()
                except BlockingIOError:
                    continue
                except OSError as e:
                    print("accept error: %s" % errno.errorcode.get(e.errno, e.errno),
                          file=sys.stderr, flush=True)
                    continue
                conn.setblocking(False)
                bufs[conn] = [b"", b""]  # input, output
                sel.register(conn, selectors.EVENT_READ, None)
                continue
            inb, outb = bufs[sock]
            closed = False
            if ev & selectors.EVENT_READ:
                try:
                    chunk = sock.recv(65536)
                    if chunk:
                        inb += chunk
                    else:
                        closed = True
                except BlockingIOError:
                    pass
                except OSError as e:
                    print("recv error: %s" % errno.errorcode.get(e.errno, e.errno),
                          file=sys.stderr, flush=True)
                    closed = True
                while b"\n" in inb:
                    line, inb = inb.split(b"\n", 1)
                    outb += line + b"\n"
            if outb and not closed:
                try:
                    outb = outb[sock.send(outb):]
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
            if closed:
                sel.unregister(sock)
                del bufs[sock]
                sock.close()
                continue
            bufs[sock] = [inb, outb]
            sel.modify(sock, selectors.EVENT_READ |
                       (selectors.EVENT_WRITE if outb else 0), None)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    rest = sys.argv[3:]
    s = listen(port)
    if mode == "http":
        serve_threads(s, http, rest[0] if rest else "hello from faultline tests\n")
    elif mode == "echo":
        serve_threads(s, echo, None)
    elif mode == "forking-echo":
        serve_forking(s, echo, None)
    elif mode == "silent":
        serve_threads(s, silent, None)
    elif mode == "feed":
        serve_threads(s, feed, rest)
    elif mode == "epoll-echo":
        serve_epoll(s)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
