#!/usr/bin/python3
"""An example wallet service — the system under test. faultline never changes it.

Every 250 ms it reads the latest market price, places an order at the venue
(one persistent session, reopened after a timeout or a reset), settles the fill with the custodian (a new connection
per settlement, as many custody APIs do) and appends the settlement to its
ledger with fsync before it counts it as done. It has the defences a real one
has: connect and read timeouts, one retry, a ledger that is never half-written.

At the end it prints one JSON line: what it did, what failed, its worst latencies.
Exit status: 0 when every filled order ended settled or explicitly failed and
the ledger is consistent; 1 otherwise.
"""
import argparse
import json
import os
import socket
import time


class Lines:
    """Line reader over recv() that survives a timeout (socket.makefile does not)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                line, self.buf = self.buf, b""
                return line
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"


class Stats:
    def __init__(self):
        self.c = {"orders": 0, "fills": 0, "settled": 0, "settle_retries": 0,
                  "settle_failed": 0, "venue_timeouts": 0, "feed_reads": 0,
                  "feed_stale": 0, "ledger_entries": 0, "ledger_errors": 0}
        self.worst = {"venue_ms": 0.0, "custodian_ms": 0.0, "fsync_ms": 0.0}

    def lat(self, key, t0):
        ms = (time.monotonic() - t0) * 1000
        self.worst[key] = max(self.worst[key], round(ms, 1))


def settle(args, oid, usd, st):
    for attempt in range(2):
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", args.custodian), timeout=1.0) as s:
                s.settimeout(args.ack_timeout)
                s.sendall(b"SETTLE %d %.2f\n" % (oid, usd))
                ack = Lines(s).readline()
            st.lat("custodian_ms", t0)
            if ack.strip() == b"ACK %d" % oid:
                return True
        except OSError:
            st.lat("custodian_ms", t0)
        if attempt == 0:
            st.c["settle_retries"] += 1
    return False


def record(ledger, oid, usd, st):
    t0 = time.monotonic()
    try:
        os.write(ledger, b"%d settled %.2f\n" % (oid, usd))
        os.fsync(ledger)
        st.c["ledger_entries"] += 1
    except OSError:
        st.c["ledger_errors"] += 1
    st.lat("fsync_ms", t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--base", type=int, default=9101)
    ap.add_argument("--ledger-dir", default="/tmp/faultline-wallet")
    ap.add_argument("--ack-timeout", type=float, default=1.0)
    args = ap.parse_args()
    args.venue, args.custodian, args.feed = args.base, args.base + 100, args.base + 200
    os.makedirs(args.ledger_dir, exist_ok=True)
    ledger = os.open(os.path.join(args.ledger_dir, "ledger.log"),
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    st = Stats()
    feed = socket.create_connection(("127.0.0.1", args.feed), timeout=1.0)
    feed.settimeout(0.5)
    venue = None
    end = time.monotonic() + args.seconds
    oid = 0
    while time.monotonic() < end:
        try:
            # the latest price: take whatever the feed has sent since last time
            if not feed.recv(65536):
                break
            st.c["feed_reads"] += 1
        except socket.timeout:
            st.c["feed_stale"] += 1
        oid += 1
        st.c["orders"] += 1
        t0 = time.monotonic()
        try:
            if venue is None:  # (re)open the venue session
                venue = socket.create_connection(("127.0.0.1", args.venue), timeout=1.0)
                venue.settimeout(2.0)
                venuef = Lines(venue)
            venue.sendall(b"ORDER %d sell 1\n" % oid)
            fill = venuef.readline().split()
            st.lat("venue_ms", t0)
        except OSError:  # timeout, refused, reset: the session is unusable
            st.lat("venue_ms", t0)
            st.c["venue_timeouts"] += 1
            if venue is not None:
                venue.close()
            venue = None
            time.sleep(0.25)
            continue
        if len(fill) != 3:
            venue.close()
            venue = None
            continue
        st.c["fills"] += 1
        usd = float(fill[2])
        if settle(args, oid, usd, st):
            st.c["settled"] += 1
            record(ledger, oid, usd, st)
        else:
            st.c["settle_failed"] += 1
        time.sleep(0.25)
    os.close(ledger)
    ok = st.c["fills"] == st.c["settled"] + st.c["settle_failed"]
    print(json.dumps({"wallet": "done", "ok": ok, **st.c, "worst": st.worst}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
