/*
 * faultline/ctl.h — the control block: the one ABI between the controller and
 * every process of the system under test.
 *
 * Two sealed memfds per drill, handed out by the controller over the unix
 * socket named by FAULTLINE_CTL (protocol at the end of this file):
 *  - the PLAN (header, targets, rules, pinning marks): written by the
 *    controller alone. Sealed against shrink, grow and future writes: a
 *    program can only map it read-only (mmap/mprotect PROT_WRITE and write()
 *    fail with EPERM); the controller keeps the writable mapping it made
 *    before sealing, so heartbeat, state, intensities and snap_ready still
 *    change live.
 *  - the SHARED area (call counters, gate waiters, pass counters, rule hit
 *    counts, the journal): written by every process. Sealed against shrink
 *    and grow, so no one can make a mapping of it fault (SIGBUS).
 * Both are mapped back to back, plan first, so `struct fl_ctl` is one
 * address range in every process and code indexes it as one struct.
 *
 * Invariants
 *  - Fixed sizes (FL_PLAN_SIZE, FL_SHARED_SIZE); `hdr.size` and `hdr.abi`
 *    must both match or the shim ignores the block (fail open).
 *  - `hdr.magic` is stored last, with release order, when the plan is ready.
 *  - Targets and rules change only under the seqlock `hdr.gen`. Scalar live
 *    fields (heartbeat, state, intensities, counters) are single atomics.
 *  - Nothing in here is a pointer: the block is mapped at different addresses
 *    in different processes.
 *  - Times are CLOCK_MONOTONIC nanoseconds as the kernel reports them (never a
 *    faked clock); "run time" is (now - hdr.epoch_mono_ns).
 *  - Each side validates what it reads: the shim every plan field it uses
 *    (once at attach, and every index again at use); the controller every
 *    journal record and counter (the program can write the shared area).
 */
#ifndef FAULTLINE_CTL_H
#define FAULTLINE_CTL_H

#include <stdatomic.h>
#include <stdint.h>

#include "faultline/ops.h"

#define FL_CTL_MAGIC 0x314b4c43544c4646ull /* "FFLTCLK1" little-endian */
#define FL_ABI_VERSION 3u

#define FL_MAX_TARGETS 64     /* target ids 1..63; 0 = "not a target" */
#define FL_MAX_RULES 128      /* rule ids 0..127 */
#define FL_NAME_MAX 32        /* target name, NUL included */
#define FL_PATH_MAX 224       /* path glob / unix path / host name */
#define FL_JOURNAL_SLOTS 8192 /* power of two */

/* Heartbeat: the controller refreshes it at least every FL_HEARTBEAT_NS; the
 * shim treats a heartbeat older than hdr.stale_ns as a dead controller and
 * passes everything through. */
#define FL_HEARTBEAT_NS 5000000ll    /* 5 ms */
#define FL_STALE_NS_DEFAULT 75000000ll /* 75 ms: faults stop within 100 ms */
/* The shim refuses a plan whose staleness bound is outside [HEARTBEAT, MAX]:
 * the dead-man switch must fire within a second whatever the plan says. */
#define FL_STALE_NS_MAX 1000000000ll

/* Drill state (hdr.state). Anything but ACTIVE means pass-through. */
enum fl_state {
	FL_STATE_INIT = 0,   /* being written */
	FL_STATE_ACTIVE = 1, /* inject */
	FL_STATE_ABORTED = 2,/* `faultline abort`, SIGINT/SIGTERM: pass-through */
	FL_STATE_DONE = 3,   /* drill over: pass-through */
};

enum fl_target_kind {
	FL_TK_NONE = 0,
	FL_TK_TCP,  /* addr/port, any host and/or any port */
	FL_TK_UDP,
	FL_TK_UNIX, /* pattern = socket path (glob) */
	FL_TK_PATH, /* pattern = file path glob */
	FL_TK_HOST, /* pattern = host name (glob) for op "resolve" */
};

#define FL_TF_ANY_HOST 0x1u
#define FL_TF_ANY_PORT 0x2u

struct fl_target {
	uint8_t kind;      /* enum fl_target_kind */
	uint8_t family;    /* AF_INET / AF_INET6 for tcp/udp with a host */
	uint16_t port;     /* host byte order */
	uint32_t flags;    /* FL_TF_* */
	uint8_t addr[16];  /* IPv4 in the first 4 bytes, or IPv6 */
	char name[FL_NAME_MAX];
	char pattern[FL_PATH_MAX];
};

/* `when` of a rule: all given conditions must hold. */
#define FL_RF_NTH 0x01u      /* nth_lo..nth_hi (inclusive, 1-based) */
#define FL_RF_WINDOW 0x02u   /* [win_from_ns, win_to_ns) of run time */
#define FL_RF_PROB 0x04u     /* prob_thresh */
#define FL_RF_CLOCK 0x08u    /* a clock rule: target/op unused */
#define FL_RF_UNTIL 0x10u    /* hold gate: until_* fields */
#define FL_RF_SCALED 0x20u   /* intensity (scenario binding) scales it */
#define FL_RF_KERNEL 0x40u   /* applied by the eBPF layer: not in the shim's chains */

enum fl_clock_id {
	FL_CLK_REALTIME = 0,
	FL_CLK_MONOTONIC = 1,
	FL_CLK_BOOTTIME = 2,
	FL_CLK__COUNT
};

struct fl_rule {
	uint8_t target;   /* target id (1..), 0 for clock rules */
	uint8_t op;       /* enum fl_op */
	uint8_t fault;    /* enum fl_fault */
	uint8_t clock;    /* enum fl_clock_id, for clock rules */
	uint32_t flags;   /* FL_RF_* */
	int32_t err;      /* errno (or negative EAI_* for resolve) */
	uint16_t next;    /* next rule id + 1 with the same (target, op); 0 = end */
	uint16_t pad0;
	uint64_t nth_lo, nth_hi;        /* hi = UINT64_MAX for "3+" */
	int64_t win_from_ns, win_to_ns; /* run time */
	uint64_t prob_thresh;           /* fire when prng < thresh; UINT64_MAX = always */
	int64_t ns;        /* delay / late_ack / timeout / max_ms (hold) / clock offset */
	int64_t jitter_ns; /* delay jitter: uniform in [-jitter, +jitter] */
	int64_t bytes;     /* short */
	int64_t ppm;       /* clock drift */
	/* hold gate: released when counters[until_target][until_op] >= until_nth */
	uint8_t until_target, until_op;
	uint16_t pad1;
	/* stale on a path target: 1 once the controller has snapshotted the
	 * matching files into hdr.snapdir/<rule>/ (see snapname.h) */
	_Atomic uint32_t snap_ready;
	uint64_t until_nth;
	/* live: the controller rewrites it each tick for scaled rules.
	 * 0..FL_INTENSITY_ONE scales probability and delay. */
	_Atomic uint32_t intensity;
	uint32_t pad3;
	uint64_t pad4; /* was the hit count: it lives in the shared area now */
	/* a gate (FL_RF_UNTIL) waits at most this long; on any fault but
	 * "hold" it is a precondition: wait for the event, then act (pinning) */
	int64_t until_max_ns;
};

#define FL_INTENSITY_ONE 1000000u

/* One journal record per injected fault (or gate event). 64 bytes. */
enum fl_jkind {
	FL_J_FAULT = 1,        /* a fault was injected */
	FL_J_GATE_OPEN = 2,    /* a hold was released by its event */
	FL_J_GATE_TIMEOUT = 3, /* a hold was released by max_ms */
	FL_J_ATTACH = 4,       /* a process attached to the block */
	FL_J_OUTCOME = 5,      /* what a fault that waited finally returned; its
				  FL_J_FAULT record was written when it began */
	FL_J_REFUSED = 6,      /* a process refused the plan and passes through;
				  err = enum fl_refusal */
};

/* Why a shim refused a plan (FL_J_REFUSED's err). */
enum fl_refusal {
	FL_REFUSE_HEADER = 1,  /* magic, abi, size, uid, counts */
	FL_REFUSE_STALE_NS,    /* staleness bound out of range */
	FL_REFUSE_TARGET,      /* kind, unterminated string */
	FL_REFUSE_RULE,        /* op, fault, link, gate, window, nth */
	FL_REFUSE_ERRNO,       /* errno the op's whitelist does not have */
	FL_REFUSE_SIZE,        /* short with < 1 byte, negative durations */
	FL_REFUSE_STRING,      /* snapdir unterminated or not absolute */
};

struct fl_jrec {
	_Atomic uint64_t seq; /* Vyukov ring sequence; do not touch */
	int64_t t_ns;         /* run time at the decision */
	int32_t pid, tid;
	uint16_t rule;
	uint8_t target, op, fault, kind;
	uint16_t pad;
	uint64_t nth;
	int64_t ret;      /* what the call returned to the program */
	int32_t err;      /* errno returned with it (0 on success) */
	uint32_t tick;    /* market tick in force at the decision (scenarios) */
	int64_t value_ns; /* delay applied, hold waited, ... */
};

/*
 * Journal protocol: a bounded multi-producer ring (Vyukov), one consumer (the
 * controller). Initially slot[i].seq = i.
 *  producer: pos = head; loop { s = slot[pos % N]; d = s.seq - pos;
 *            d == 0: CAS head pos -> pos+1, on success own the slot;
 *            d < 0: ring full -> dropped++, give up (never block);
 *            d > 0: pos = head, retry }
 *            fill fields, then store s.seq = pos + 1 (release).
 *            At most FL_JOURNAL_TRIES turns of the loop, then dropped++ and
 *            give up: the ring is writable by every process, and a forged
 *            head or sequence must not make anyone spin.
 *            The one implementation is faultline/journal.h.
 *  consumer: s = slot[tail % N]; if s.seq (acquire) == tail + 1: read it,
 *            store s.seq = tail + N (release), tail++. If s.seq == tail and
 *            head > tail for a long time, a producer died mid-write: skip the
 *            slot (seq = tail + N, tail++, dropped++).
 */
struct fl_journal {
	_Atomic uint64_t head; /* next slot a producer claims */
	uint8_t pad0[56];
	_Atomic uint64_t tail; /* next slot the controller reads */
	_Atomic uint64_t dropped;
	uint8_t pad1[48];
	struct fl_jrec slot[FL_JOURNAL_SLOTS];
};


struct fl_hdr {
	uint64_t magic;            /* FL_CTL_MAGIC, stored last */
	uint32_t abi;              /* FL_ABI_VERSION */
	uint32_t size;             /* sizeof(struct fl_ctl) */
	uint32_t owner_uid;        /* the shim trusts only its own euid's block */
	int32_t controller_pid;
	_Atomic int64_t heartbeat_ns; /* CLOCK_MONOTONIC of the last beat */
	int64_t stale_ns;          /* heartbeat older than this: pass-through */
	int64_t epoch_mono_ns;     /* run time 0 */
	int64_t epoch_real_ns;     /* CLOCK_REALTIME at run time 0 */
	uint64_t seed;
	_Atomic uint32_t gen;      /* seqlock over targets and rules */
	_Atomic uint32_t state;    /* enum fl_state; also a futex word: woken on change */
	uint32_t ntargets;         /* ids 1..ntargets-1 are used */
	uint32_t nrules;
	_Atomic uint64_t tick;     /* market tick in force (scenarios) */
	uint8_t pad[40];
	char snapdir[FL_PATH_MAX]; /* stale-read snapshots, "" = none */
	/* rule_head[t][op]: first rule id + 1 for target t and op, 0 = none */
	uint16_t rule_head[FL_MAX_TARGETS][FL_OP__COUNT];
};

/* The plan and the shared area are page-sized multiples so each is its own
 * memfd mapped at its own offset (checked at run time against the page size:
 * a system with bigger pages fails open). */
#define FL_PLAN_SIZE 40960u
#define FL_SHARED_SIZE 544768u

struct fl_ctl {
	/* ---- the plan: the controller writes, processes read ---------------- */
	union {
		struct {
			struct fl_hdr hdr;
			struct fl_target targets[FL_MAX_TARGETS]; /* [0] unused */
			struct fl_rule rules[FL_MAX_RULES];
			/* 1 where some gate (hold or pinning) waits on
			 * passed[t][op]: only those are kept (an untouched one
			 * costs a targeted call nothing) */
			uint8_t watched[FL_MAX_TARGETS][FL_OP__COUNT];
		};
		uint8_t plan_bytes_[FL_PLAN_SIZE];
	};
	/* ---- shared: every process writes ------------------------------------ */
	union {
		struct {
			/* calls seen per (target, op), shared by every process:
			 * nth = ++counter. */
			_Atomic uint64_t counters[FL_MAX_TARGETS][FL_OP__COUNT];
			/* processes waiting in a gate on passed[t][op]: the call
			 * that raises it FUTEX_WAKEs only when this is non-zero. */
			_Atomic uint32_t waiters[FL_MAX_TARGETS][FL_OP__COUNT];
			/* the highest nth per (target, op) whose call has
			 * HAPPENED: made and returned by the kernel, after any
			 * delay or gate of its own (shim/act.c). What every gate
			 * (hold and pinning `until`) waits for. Low 32 bits are a
			 * futex word. */
			_Atomic uint64_t passed[FL_MAX_TARGETS][FL_OP__COUNT];
			/* faults injected by each rule, all processes */
			_Atomic uint64_t hits[FL_MAX_RULES];
			struct fl_journal journal;
		};
		uint8_t shared_bytes_[FL_SHARED_SIZE];
	};
};

_Static_assert(sizeof(struct fl_ctl) == FL_PLAN_SIZE + FL_SHARED_SIZE,
	       "the plan and the shared area fill their pages exactly");
_Static_assert(FL_PLAN_SIZE % 4096 == 0 && FL_SHARED_SIZE % 4096 == 0,
	       "page multiples");

/*
 * Attach protocol. The controller listens on a unix STREAM socket at the
 * path in FAULTLINE_CTL (mode 0600, owned by the program's user).
 *  client: connect (non-blocking), check SO_PEERCRED (uid 0 or its own
 *          euid; the shim also refuses a path that is not a socket owned by
 *          root or itself, without group/other write), send one request byte:
 *            FL_REQ_ATTACH  reply: struct fl_hello + SCM_RIGHTS {plan, shared}
 *            FL_REQ_ABORT   the controller sets state ABORTED (pass-through
 *                           for every process), reply: struct fl_hello, no fds
 *  server: checks SO_PEERCRED of every client (root, its own uid or the
 *          program's user), answers one request and closes.
 *  The shim then checks the hello, that exactly two fds came, that each is a
 *  memfd of the right size with the seals above (F_GET_SEALS), maps them
 *  back to back (plan PROT_READ, shared PROT_READ|PROT_WRITE), closes them,
 *  and validates the plan before it uses anything in it.
 * Lifecycle, controller side: fill the plan (abi, size, owner_uid,
 * controller_pid, epochs, seed, stale_ns, heartbeat, rules), init the
 * journal, state = ACTIVE, magic (release), seal, then bind and listen.
 * Beat heartbeat_ns at least every FL_HEARTBEAT_NS. On abort/exit: state =
 * ABORTED or DONE, then FUTEX_WAKE(INT_MAX) on &hdr.state so every waiting
 * shim call returns at once; the socket is unlinked at the end (processes
 * that still map the block see DONE and pass through). A controller killed
 * with -9 leaves only its socket, which refuses connections and is replaced
 * by the next drill at that path (or removed by the next run's clean-up).
 */
#define FL_HELLO_MAGIC 0x4f4c4c4548544c46ull /* "FLTHELLO" */
#define FL_REQ_ATTACH 'A'
#define FL_REQ_ABORT 'X'

struct fl_hello {
	uint64_t magic;     /* FL_HELLO_MAGIC */
	uint32_t abi;       /* FL_ABI_VERSION */
	uint32_t status;    /* 0, or an errno for a refused request */
	uint32_t plan_size, shared_size;
};

#endif /* FAULTLINE_CTL_H */
