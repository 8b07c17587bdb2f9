/*
 * block.c — the controller's side of the control block (see block.h and
 * include/faultline/ctl.h for the protocol).
 *
 * Divisions: clocks; creating (memfds, header, journal, private paths and
 * their clean-up); activating (magic, seals, the socket); serving requests;
 * client side (abort, attach); state and heartbeat; the journal consumer.
 *
 * Invariants
 *  - The plan is writable through our mapping only: it is sealed against
 *    future writes before any client can get it, after we mapped it.
 *  - A socket path is bound only when the block is complete, so no shim
 *    ever gets a half-written plan; bind() itself makes "one controller per
 *    path" atomic.
 *  - We never unlink what is not ours: a live controller's socket, a file
 *    that is not a faultline block, or a socket that replaced ours.
 *  - Nothing read from the shared area is trusted beyond its type.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "faultline/journal.h"
#include "loop.h"

/* An old-ABI block file whose heartbeat is this old belongs to no live
 * controller, even if its pid now names some other process. */
#define OLD_STALE_AFTER_NS 10000000000ll
#define PLAN_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
#define SHARED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define REAP_EVERY_NS 250000000ll
#define ACCEPTS_PER_WAKE 64

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int64_t fl_now_mono(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t fl_now_real(void)
{
	return clock_ns(CLOCK_REALTIME);
}

void fl_block_init(struct fl_block *b)
{
	memset(b, 0, sizeof(*b));
	b->plan_fd = b->shared_fd = b->lfd = -1;
	for (int i = 0; i < FL_BLOCK_CONNS; i++)
		b->conn[i].fd = -1;
}

static int futex_wake(void *addr)
{
	/* Not FUTEX_PRIVATE: the waiters are other processes mapping the memfd. */
	return (int)syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int set_path(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* ---- creating ------------------------------------------------------------ */

static void init_header(struct fl_ctl *ctl, const struct fl_block_owner *o, uint64_t seed)
{
	struct fl_hdr *hd = &ctl->hdr;
	int64_t now = fl_now_mono();

	hd->abi = FL_ABI_VERSION;
	hd->size = (uint32_t)sizeof(struct fl_ctl);
	hd->owner_uid = (uint32_t)o->uid;
	hd->controller_pid = (int32_t)getpid();
	hd->stale_ns = FL_STALE_NS_DEFAULT;
	hd->epoch_mono_ns = now;
	hd->epoch_real_ns = fl_now_real();
	hd->seed = seed;
	hd->ntargets = 1; /* no targets, no rules until a profile is published */
	hd->nrules = 0;
	atomic_store_explicit(&hd->heartbeat_ns, now, memory_order_relaxed);
	atomic_store_explicit(&hd->state, FL_STATE_INIT, memory_order_relaxed);
}

static void init_journal(struct fl_journal *j)
{
	atomic_store_explicit(&j->head, 0, memory_order_relaxed);
	atomic_store_explicit(&j->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&j->dropped, 0, memory_order_relaxed);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS; i++)
		atomic_store_explicit(&j->slot[i].seq, i, memory_order_relaxed);
}

static int make_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Map both memfds back to back, writable (our mapping, made before the
 * plan is sealed against future writes, stays writable). */
static int map_both(struct fl_block *b)
{
	char *base = mmap(NULL, sizeof(struct fl_ctl), PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return -errno;
	if (mmap(base, FL_PLAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 b->plan_fd, 0) == MAP_FAILED ||
	    mmap(base + FL_PLAN_SIZE, FL_SHARED_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, b->shared_fd, 0) == MAP_FAILED) {
		int err = -errno;
		munmap(base, sizeof(struct fl_ctl));
		return err;
	}
	b->ctl = (struct fl_ctl *)(void *)base;
	return 0;
}

static const char *runtime_base(const struct fl_block_owner *o)
{
	const char *x = getenv("XDG_RUNTIME_DIR");

	/* XDG_RUNTIME_DIR is ours alone (0700): another user cannot reach a
	 * socket inside it. */
	if (o->chown && o->uid != geteuid())
		return "/tmp";
	if (x && x[0] == '/' && access(x, W_OK | X_OK) == 0)
		return x;
	return "/tmp";
}

/* Does a live server answer at path? 1 live, 0 dead, -errno.
 * Dead is only what refuses connections. A killed controller's listening
 * socket can outlive it for a moment (its io_uring is torn down
 * asynchronously) and accept or close unanswered: so a listener that does
 * not answer is asked again, until it refuses (dead) or answers (live).
 * One that keeps accepting without answering for PROBE_BUDGET_MS is taken
 * for live: it may be a controller between bind and serving (another drill
 * starting at this path) or a stopped one, and its path is not ours to
 * take. */
#define PROBE_WAIT_MS 100
#define PROBE_BUDGET_MS 2000
static int probe_once(const char *path)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	char req = '?', buf[sizeof(struct fl_hello)];
	int fd, r, err;

	if ((err = set_path(&sa, path)) < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	if (r < 0) {
		close(fd);
		if (err == EAGAIN) /* a full backlog: somebody is alive */
			return 1;
		return err == ECONNREFUSED || err == ENOENT ? 0 : -err;
	}
	r = 2; /* accepted, not answered (yet) */
	if (send(fd, &req, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, PROBE_WAIT_MS) == 1 && (pfd.revents & POLLIN) &&
		    recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			r = 1;
	}
	close(fd);
	return r;
}

static int socket_live(const char *path)
{
	int64_t end = fl_now_mono() + PROBE_BUDGET_MS * 1000000ll;
	int r;

	while ((r = probe_once(path)) == 2) {
		if (fl_now_mono() >= end)
			return 1;
		/* a closed-unanswered listener: the next connect is refused
		 * once the dead controller's socket is gone */
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return r;
}

/* Is the regular file at path an old-ABI block nobody drives any more? */
static bool old_block_stale(const char *path)
{
	struct fl_hdr hd;
	struct stat st;
	bool stale = false;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= (off_t)sizeof(hd) && st.st_size <= (off_t)(1 << 20) &&
	    pread(fd, &hd, sizeof(hd), 0) == (ssize_t)sizeof(hd) &&
	    (hd.magic == FL_CTL_MAGIC || hd.magic == 0))
		stale = hd.controller_pid <= 0 ||
			(kill(hd.controller_pid, 0) < 0 && errno != EPERM) ||
			fl_now_mono() - atomic_load(&hd.heartbeat_ns) > OLD_STALE_AFTER_NS;
	close(fd);
	return stale;
}

/* Clear the way for a socket at path: 0 (nothing there, or a dead
 * controller's socket or old block removed) or -EEXIST / -errno. */
static int clear_path(const char *path)
{
	struct stat st;
	int live;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISSOCK(st.st_mode)) {
		live = socket_live(path);
		if (live != 0)
			return live > 0 ? -EEXIST : live;
	} else if (!S_ISREG(st.st_mode) || !old_block_stale(path)) {
		return -EEXIST;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* The private sockets (and old-ABI private dirs) of killed runs in base:
 * removed when nobody answers and the controller named in the socket's
 * name is gone (a starting run's socket refuses connections between bind
 * and listen: another run starting then must not take it for dead). Ours
 * only, unless we are root. */
static void clean_private(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	int n = 0;

	if (!d)
		return;
	while ((e = readdir(d)) && n < 4096) {
		n++;
		if (strncmp(e->d_name, "faultline.", 10) != 0 ||
		    snprintf(p, sizeof(p), "%s/%s", base, e->d_name) >= (int)sizeof(p) ||
		    lstat(p, &st) < 0 || (st.st_uid != geteuid() && geteuid() != 0))
			continue;
		size_t len = strlen(e->d_name);
		int pid = 0;
		if (S_ISSOCK(st.st_mode) && len > 4 &&
		    strcmp(e->d_name + len - 4, ".ctl") == 0) {
			/* faultline.PID.RAND.ctl: while PID lives, the socket may
			 * be between bind and listen (refusing connections) */
			if (sscanf(e->d_name, "faultline.%d.", &pid) == 1 && pid > 0 &&
			    (kill(pid, 0) == 0 || errno == EPERM))
				continue;
			if (socket_live(p) == 0)
				unlink(p);
		} else if (S_ISDIR(st.st_mode) && len == 16 &&
			   snprintf(q, sizeof(q), "%s/ctl", p) < (int)sizeof(q) &&
			   old_block_stale(q)) {
			/* a v1 private dir: its block and the dir, if empty */
			unlink(q);
			rmdir(p);
		}
	}
	closedir(d);
}

static int private_path(struct fl_block *b, const struct fl_block_owner *o)
{
	const char *base = runtime_base(o);
	uint64_t r = 0;
	int n;

	clean_private(base);
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)fl_now_real() ^ ((uint64_t)getpid() << 32);
	n = snprintf(b->path, sizeof(b->path), "%s/faultline.%d.%016llx.ctl", base,
		     (int)getpid(), (unsigned long long)r);
	if (n < 0 || (size_t)n >= sizeof(b->path) || n >= 108)
		return -ENAMETOOLONG;
	return 0;
}

int fl_block_create(const char *path, const struct fl_block_owner *o,
		    uint64_t seed, struct fl_block *b)
{
	struct sockaddr_un sa;
	int err;

	fl_block_init(b);
	b->peer_uid = o->uid;
	b->peer_gid = o->gid;
	b->chown = o->chown;
	if (path) {
		if ((err = set_path(&sa, path)) < 0)
			return err;
		strcpy(b->path, path);
	} else if ((err = private_path(b, o)) < 0) {
		goto fail;
	}
	if ((b->plan_fd = make_memfd("faultline-plan", FL_PLAN_SIZE)) < 0 ||
	    (b->shared_fd = make_memfd("faultline-shared", FL_SHARED_SIZE)) < 0) {
		err = b->plan_fd < 0 ? b->plan_fd : b->shared_fd;
		goto fail;
	}
	if ((err = map_both(b)) < 0)
		goto fail;
	init_header(b->ctl, o, seed);
	init_journal(&b->ctl->journal);
	return 0;
fail:
	fl_block_close(b);
	return err;
}

/* ---- activating ------------------------------------------------------------ */

static int bind_socket(struct fl_block *b)
{
	struct sockaddr_un sa;
	struct stat st;
	int err;

	if ((err = set_path(&sa, b->path)) < 0)
		return err;
	if ((err = clear_path(b->path)) < 0)
		return err;
	b->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->lfd < 0)
		return -errno;
	if (bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EADDRINUSE ? -EEXIST : -errno;
	if (lstat(b->path, &st) < 0)
		return -errno;
	b->bound = true;
	b->sock_dev = st.st_dev;
	b->sock_ino = st.st_ino;
	/* Nobody can connect before listen(): mode and owner first. The mode
	 * is a courtesy; every client is authenticated by SO_PEERCRED. */
	if (fchmodat(AT_FDCWD, b->path, 0600, 0) < 0)
		return -errno;
	if (b->chown && fchownat(AT_FDCWD, b->path, b->peer_uid, b->peer_gid,
				 AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (listen(b->lfd, 128) < 0)
		return -errno;
	return 0;
}

int fl_block_activate(struct fl_block *b)
{
	struct fl_ctl *ctl = b->ctl;
	int err;

	fl_block_beat(ctl, fl_now_mono());
	atomic_store_explicit(&ctl->hdr.state, FL_STATE_ACTIVE, memory_order_relaxed);
	/* Magic last, with release: a shim that sees it sees all of the above. */
	atomic_store_explicit((_Atomic uint64_t *)&ctl->hdr.magic, FL_CTL_MAGIC,
			      memory_order_release);
	if (fcntl(b->plan_fd, F_ADD_SEALS, PLAN_SEALS) < 0 ||
	    fcntl(b->shared_fd, F_ADD_SEALS, SHARED_SEALS) < 0)
		return -errno;
	b->sealed = true;
	err = bind_socket(b);
	if (err < 0 && !b->bound)
		b->path[0] = '\0'; /* not ours: fl_block_close leaves it alone */
	return err;
}

/* ---- serving ------------------------------------------------------------------ */

static bool peer_allowed(const struct fl_block *b, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr))
		return false;
	return cr.uid == 0 || cr.uid == geteuid() || cr.uid == b->peer_uid;
}

static void answer(struct fl_block *b, int fd, char req)
{
	struct fl_hello h = { FL_HELLO_MAGIC, FL_ABI_VERSION, 0, FL_PLAN_SIZE, FL_SHARED_SIZE };
	struct iovec iov = { &h, sizeof(h) };
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&cm, 0, sizeof(cm));
	if (req == FL_REQ_ATTACH && b->sealed) {
		int fds[2] = { b->plan_fd, b->shared_fd };
		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
		b->served++;
	} else if (req == FL_REQ_ABORT) {
		fl_block_set_state(b->ctl, FL_STATE_ABORTED);
	} else {
		h.status = EPROTO;
		b->refused++;
	}
	/* A fresh socket's buffer always has room for one small message. */
	sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void conn_drop(struct fl_block *b, struct fl_block_conn *c)
{
	if (c->id > 0 && b->loop)
		fl_loop_fd_del(b->loop, c->id);
	close(c->fd);
	c->fd = -1;
	c->id = 0;
}

/* Read the request byte: 1 answered (or refused), 0 not there yet. */
static int try_request(struct fl_block *b, int fd)
{
	char req;
	ssize_t n = recv(fd, &req, 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 1)
		answer(b, fd, req);
	else
		b->refused++;
	return 1;
}

static void on_conn(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct fl_block *b = arg;

	for (int i = 0; i < FL_BLOCK_CONNS; i++)
		if (b->conn[i].fd == fd) {
			if (try_request(b, fd) || (revents & (POLLHUP | POLLERR)))
				conn_drop(b, &b->conn[i]);
			return;
		}
}

static void park(struct fl_block *b, int fd)
{
	for (int i = 0; i < FL_BLOCK_CONNS; i++) {
		struct fl_block_conn *c = &b->conn[i];
		if (c->fd >= 0)
			continue;
		long long id = fl_loop_fd_add(b->loop, fd, on_conn, b);
		if (id < 0)
			break;
		*c = (struct fl_block_conn){ fd, id, fl_now_mono() };
		return;
	}
	b->refused++; /* no room: the client retries later */
	close(fd);
}

static void on_listen(struct fl_loop *l, int lfd, int revents, void *arg)
{
	struct fl_block *b = arg;

	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (!peer_allowed(b, fd)) {
			b->refused++;
			close(fd);
		} else if (try_request(b, fd)) {
			close(fd);
		} else {
			park(b, fd);
		}
	}
}

static void on_reap(struct fl_loop *l, long long id, void *arg)
{
	struct fl_block *b = arg;
	int64_t now = fl_now_mono();

	for (int i = 0; i < FL_BLOCK_CONNS; i++)
		if (b->conn[i].fd >= 0 && now - b->conn[i].since_ns > FL_BLOCK_CONN_NS) {
			b->refused++;
			conn_drop(b, &b->conn[i]);
		}
}

int fl_block_serve(struct fl_block *b, struct fl_loop *l)
{
	long long id;

	if (b->lfd < 0)
		return -EBADF;
	b->loop = l;
	if ((id = fl_loop_fd_add(l, b->lfd, on_listen, b)) < 0)
		return (int)id;
	b->lid = id;
	if ((id = fl_loop_timer_add(l, REAP_EVERY_NS, REAP_EVERY_NS, on_reap, b)) < 0)
		return (int)id;
	b->reap_id = id;
	return 0;
}

void fl_block_close(struct fl_block *b)
{
	struct stat st;

	for (int i = 0; i < FL_BLOCK_CONNS; i++)
		if (b->conn[i].fd >= 0)
			conn_drop(b, &b->conn[i]);
	if (b->loop && b->lid > 0)
		fl_loop_fd_del(b->loop, b->lid);
	if (b->loop && b->reap_id > 0)
		fl_loop_timer_del(b->loop, b->reap_id);
	if (b->bound && b->path[0] && lstat(b->path, &st) == 0 &&
	    st.st_dev == b->sock_dev && st.st_ino == b->sock_ino)
		unlink(b->path);
	if (b->lfd >= 0)
		close(b->lfd);
	if (b->ctl)
		munmap(b->ctl, sizeof(struct fl_ctl));
	if (b->plan_fd >= 0)
		close(b->plan_fd);
	if (b->shared_fd >= 0)
		close(b->shared_fd);
	fl_block_init(b);
}

/* ---- client side ------------------------------------------------------------- */

/* Connect to path, check the server, send req, wait for the hello. Up to
 * two fds are stored in fds (-1 otherwise), extra ones closed. */
static int request(const char *path, char req, int timeout_ms,
		   struct fl_hello *h, int fds[2])
{
	struct sockaddr_un sa;
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct pollfd pfd;
	struct stat st;
	int fd, err, got = 0;
	ssize_t n;

	fds[0] = fds[1] = -1;
	if ((err = set_path(&sa, path)) < 0)
		return err;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EPROTO;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = -errno;
	else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		err = -errno;
	else if (cr.uid != 0 && cr.uid != geteuid())
		err = -EPERM;
	else if (send(fd, &req, 1, MSG_NOSIGNAL) != 1)
		err = -ECONNREFUSED; /* the listener went away: nobody serves */
	if (err)
		goto out;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, timeout_ms) != 1) {
		err = -ETIMEDOUT;
		goto out;
	}
	memset(&cm, 0, sizeof(cm));
	n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int x;
			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < 2)
				fds[got++] = x;
			else
				close(x);
		}
	}
	if (n == 0 || (n < 0 && errno == ECONNRESET)) /* closed unanswered: a
						       dying controller's listener */
		err = -ECONNREFUSED;
	else if (n != (ssize_t)sizeof(*h) || h->magic != FL_HELLO_MAGIC ||
		 h->abi != FL_ABI_VERSION)
		err = -EPROTO;
	else if (h->status)
		err = -(int)h->status;
out:
	if (err)
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
	close(fd);
	return err;
}

int fl_block_abort(const char *path, int timeout_ms)
{
	struct fl_hello h;
	int fds[2];
	int err = request(path, FL_REQ_ABORT, timeout_ms, &h, fds);

	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

static bool has_seals(int fd, off_t size, int seals)
{
	struct stat st;
	int have;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != size)
		return false;
	have = fcntl(fd, F_GET_SEALS);
	return have >= 0 && (have & seals) == seals;
}

int fl_block_attach(const char *path, int timeout_ms, struct fl_ctl **out)
{
	struct fl_hello h;
	int fds[2], err;
	char *base = MAP_FAILED;

	*out = NULL;
	err = request(path, FL_REQ_ATTACH, timeout_ms, &h, fds);
	if (err)
		return err;
	err = -EPROTO;
	if (fds[1] < 0 || h.plan_size != FL_PLAN_SIZE || h.shared_size != FL_SHARED_SIZE ||
	    !has_seals(fds[0], FL_PLAN_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) ||
	    !has_seals(fds[1], FL_SHARED_SIZE, F_SEAL_SHRINK | F_SEAL_GROW))
		goto out;
	base = mmap(NULL, sizeof(struct fl_ctl), PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	err = -errno;
	if (base == MAP_FAILED)
		goto out;
	if (mmap(base, FL_PLAN_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fds[0], 0) == MAP_FAILED ||
	    mmap(base + FL_PLAN_SIZE, FL_SHARED_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fds[1], 0) == MAP_FAILED) {
		err = -errno;
		munmap(base, sizeof(struct fl_ctl));
		goto out;
	}
	*out = (struct fl_ctl *)(void *)base;
	err = 0;
out:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

void fl_block_unmap(struct fl_ctl *c)
{
	if (c)
		munmap(c, sizeof(*c));
}

/* ---- state and heartbeat --------------------------------------------------------- */

void fl_block_beat(struct fl_ctl *ctl, int64_t now_ns)
{
	atomic_store_explicit(&ctl->hdr.heartbeat_ns, now_ns, memory_order_release);
}

enum fl_state fl_block_state(const struct fl_ctl *ctl)
{
	return (enum fl_state)atomic_load_explicit((_Atomic uint32_t *)&ctl->hdr.state,
						   memory_order_acquire);
}

void fl_block_set_state(struct fl_ctl *ctl, enum fl_state state)
{
	uint32_t cur = atomic_load(&ctl->hdr.state);

	do {
		if (cur == FL_STATE_ABORTED && state != FL_STATE_ABORTED)
			break;
	} while (!atomic_compare_exchange_weak(&ctl->hdr.state, &cur, (uint32_t)state));
	futex_wake(&ctl->hdr.state);
	/* Held calls sleep on their gate counter, not on state: wake those
	 * too so they see the new state now rather than at their timeout.
	 * `waiters` is written by the program: a wake too many is harmless. */
	for (int t = 0; t < FL_MAX_TARGETS; t++)
		for (int op = 0; op < FL_OP__COUNT; op++)
			if (atomic_load_explicit(&ctl->waiters[t][op], memory_order_relaxed)) {
				futex_wake(&ctl->counters[t][op]);
				futex_wake(&ctl->passed[t][op]);
			}
}

/* ---- journal ------------------------------------------------------------------------ */

#define JMASK ((uint64_t)FL_JOURNAL_SLOTS - 1)
#define JPAYLOAD offsetof(struct fl_jrec, t_ns)

bool fl_jrec_valid(const struct fl_jrec *r)
{
	switch (r->kind) {
	case FL_J_ATTACH:
	case FL_J_REFUSED:
		return true;
	case FL_J_FAULT:
	case FL_J_GATE_OPEN:
	case FL_J_GATE_TIMEOUT:
	case FL_J_OUTCOME:
		return r->rule < FL_MAX_RULES && r->target < FL_MAX_TARGETS &&
		       r->op < FL_OP__COUNT && r->fault < FL_FAULT__COUNT;
	default:
		return false;
	}
}

/* Give slot `tail` back to producers and advance our (private) tail; the
 * shared tail is only informative. */
static void jrelease(struct fl_journal *j, struct fl_jdrain *d, struct fl_jrec *s)
{
	atomic_store_explicit(&s->seq, d->tail + FL_JOURNAL_SLOTS, memory_order_release);
	d->tail++;
	atomic_store_explicit(&j->tail, d->tail, memory_order_release);
}

/* The slot at tail is not ready. Empty (seq == tail, head not past it):
 * wait. Claimed but unfilled, or holding a sequence no honest producer
 * writes: skip it once it has stayed so for FL_JOURNAL_STUCK_NS. Returns
 * true when skipped (the caller loops on). */
static bool jstuck(struct fl_journal *j, struct fl_jdrain *d, struct fl_jrec *s,
		   uint64_t seq, int64_t now)
{
	if (seq == d->tail && atomic_load_explicit(&j->head, memory_order_acquire) <= d->tail)
		return false; /* empty (head may be forged low: then we wait) */
	if (d->stuck_pos != d->tail + 1) {
		d->stuck_pos = d->tail + 1;
		d->stuck_since_ns = now;
		return false;
	}
	if (now - d->stuck_since_ns < FL_JOURNAL_STUCK_NS)
		return false;
	if (seq != d->tail)
		d->resync++;
	jrelease(j, d, s);
	atomic_fetch_add_explicit(&j->dropped, 1, memory_order_relaxed);
	d->skipped++;
	d->stuck_pos = 0;
	return true;
}

unsigned fl_block_drain(struct fl_ctl *ctl, struct fl_jdrain *d, int64_t now_ns,
			unsigned max, fl_jrec_fn *fn, void *arg)
{
	struct fl_journal *j = &ctl->journal;
	unsigned n = 0;

	/* Bounded whatever the program writes into the ring meanwhile. */
	for (uint64_t turn = 0; n < max && turn < (uint64_t)max + 2; turn++) {
		struct fl_jrec *s = &j->slot[d->tail & JMASK];
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		struct fl_jrec r;

		if (seq == d->tail + 1) {
			memcpy((char *)&r + JPAYLOAD, (char *)s + JPAYLOAD, sizeof(r) - JPAYLOAD);
			jrelease(j, d, s);
			d->stuck_pos = 0;
			if (!fl_jrec_valid(&r)) {
				d->malformed++;
				continue;
			}
			d->read++;
			n++;
			fn(&r, arg);
		} else if (seq == d->tail + 1 - FL_JOURNAL_SLOTS) {
			/* A producer we skipped as dead finished after all, one
			 * lap late: its record is already counted as dropped;
			 * hand the slot back so the ring does not jam. */
			atomic_store_explicit(&s->seq, d->tail, memory_order_release);
		} else if (!jstuck(j, d, s, seq, now_ns)) {
			break;
		}
	}
	return n;
}

int fl_block_journal_put(struct fl_ctl *ctl, const struct fl_jrec *rec)
{
	return fl_journal_push(&ctl->journal, rec) == FL_JPUSH_OK ? 0 : -ENOBUFS;
}
