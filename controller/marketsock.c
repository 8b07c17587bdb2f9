/*
 * marketsock.c — the FAULTLINE_MARKET broadcaster (see marketsock.h).
 *
 * Each client has a linear buffer: queued bytes at [off, off+len). Every
 * tick first flushes what is queued, then appends the new line if it fits.
 * A client whose reads return EOF or an error is removed (interest deleted
 * before the fd is closed).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "marketsock.h"

struct msclient {
	int fd;
	long long watch;
	size_t off, len;
	char buf[FL_MS_CLIENT_BUF];
};

struct fl_marketsock {
	char path[108];
	int lfd;
	long long lwatch;
	struct fl_loop *loop;
	bool ended;
	struct msclient *cl[FL_MS_MAX_CONN];
	struct fl_ms_stats st;
};

int fl_marketsock_path_for(const char *ctl, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.market", ctl);

	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int fl_marketsock_open(const char *path, const struct fl_events_owner *own,
		       struct fl_marketsock **out)
{
	struct fl_marketsock *ms = calloc(1, sizeof(*ms));
	int err;

	if (!ms)
		return -ENOMEM;
	if (strlen(path) >= sizeof(ms->path)) {
		free(ms);
		return -ENAMETOOLONG;
	}
	strcpy(ms->path, path);
	if ((err = fl__unix_listen(path, own, &ms->lfd)) < 0) {
		free(ms);
		return err;
	}
	*out = ms;
	return 0;
}

const char *fl_marketsock_path(const struct fl_marketsock *ms)
{
	return ms->path;
}

void fl_marketsock_stats(const struct fl_marketsock *ms, struct fl_ms_stats *out)
{
	*out = ms->st;
}

static void drop(struct fl_marketsock *ms, int i)
{
	if (ms->loop && ms->cl[i]->watch > 0)
		fl_loop_fd_del(ms->loop, ms->cl[i]->watch);
	close(ms->cl[i]->fd);
	free(ms->cl[i]);
	ms->cl[i] = NULL;
}

/* Anything a client writes is discarded; EOF or an error ends it. */
static void on_client(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct fl_marketsock *ms = arg;
	char sink[512];
	ssize_t n;

	for (int i = 0; i < FL_MS_MAX_CONN; i++) {
		if (!ms->cl[i] || ms->cl[i]->fd != fd)
			continue;
		while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			drop(ms, i);
		return;
	}
}

static void accept_all(struct fl_marketsock *ms)
{
	int fd;

	while ((fd = accept4(ms->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct msclient *c = NULL;
		int i;

		ms->st.clients++;
		for (i = 0; i < FL_MS_MAX_CONN && ms->cl[i]; i++)
			;
		if (i == FL_MS_MAX_CONN || !(c = calloc(1, sizeof(*c)))) {
			ms->st.refused++;
			close(fd);
			continue;
		}
		c->fd = fd;
		if (ms->loop && (c->watch = fl_loop_fd_add(ms->loop, fd, on_client, ms)) < 0) {
			ms->st.refused++;
			close(fd);
			free(c);
			continue;
		}
		ms->cl[i] = c;
	}
}

static void on_listen(struct fl_loop *l, int fd, int revents, void *arg)
{
	accept_all(arg);
}

int fl_marketsock_add_to_loop(struct fl_marketsock *ms, struct fl_loop *l)
{
	long long id = fl_loop_fd_add(l, ms->lfd, on_listen, ms);

	if (id < 0)
		return (int)id;
	ms->loop = l;
	ms->lwatch = id;
	return 0;
}

/* Send what is queued. Returns false when the client is gone. */
static bool flush(struct msclient *c)
{
	while (c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			c->off += (size_t)n;
			c->len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	c->off = 0;
	return true;
}

/* Queue `line` to every client; `must` lines (the end) skip the count. */
static void broadcast(struct fl_marketsock *ms, const char *line, size_t n, bool tick)
{
	for (int i = 0; i < FL_MS_MAX_CONN; i++) {
		struct msclient *c = ms->cl[i];

		if (!c)
			continue;
		if (!flush(c)) {
			drop(ms, i);
			continue;
		}
		if (c->off + c->len + n > sizeof(c->buf) && c->off) {
			memmove(c->buf, c->buf + c->off, c->len);
			c->off = 0;
		}
		if (c->len + n > sizeof(c->buf)) {
			ms->st.dropped += tick;
			continue;
		}
		memcpy(c->buf + c->off + c->len, line, n);
		c->len += n;
		ms->st.lines += tick;
		if (!flush(c))
			drop(ms, i);
	}
}

static int put(char *b, size_t cap, size_t at, const char *fmt, double v)
{
	if (at >= cap)
		return 0;
	if (!isfinite(v))
		return snprintf(b + at, cap - at, fmt[0] == ',' ? ",null" : "null");
	return snprintf(b + at, cap - at, fmt, v);
}

void fl_marketsock_tick(struct fl_marketsock *ms, const struct fl_ms_tick *t)
{
	char b[8192];
	size_t n;

	if (!ms || ms->ended)
		return;
	accept_all(ms);
	n = (size_t)snprintf(b, sizeof(b), "{\"type\":\"tick\",\"tick\":%llu,\"t_ms\":",
			     (unsigned long long)t->tick);
	n += (size_t)put(b, sizeof(b), n, "%.3f", t->t_ms);
	n += (size_t)snprintf(b + n, sizeof(b) - n, ",\"market_s\":");
	n += (size_t)put(b, sizeof(b), n, "%.3f", t->market_s);
	n += (size_t)snprintf(b + n, sizeof(b) - n, ",\"signals\":{");
	for (int i = 0; i < t->nsig && n < sizeof(b); i++) {
		n += (size_t)snprintf(b + n, sizeof(b) - n, "%s\"%s\":", i ? "," : "", t->names[i]);
		n += (size_t)put(b, sizeof(b), n, "%.9g", t->vals[i]);
	}
	n += (size_t)snprintf(b + n, n < sizeof(b) ? sizeof(b) - n : 0, "},\"venues\":{");
	for (int i = 0; i < t->nvenues && n < sizeof(b); i++)
		n += (size_t)snprintf(b + n, sizeof(b) - n, "%s\"%s\":\"%s\"", i ? "," : "",
				      t->venue_names[i], t->venue_status[i]);
	n += (size_t)snprintf(b + n, n < sizeof(b) ? sizeof(b) - n : 0, "}}\n");
	if (n >= sizeof(b))
		return; /* cannot happen with the signal table we have */
	broadcast(ms, b, n, true);
}

void fl_marketsock_end(struct fl_marketsock *ms)
{
	static const char end[] = "{\"type\":\"end\"}\n";

	if (!ms || ms->ended)
		return;
	accept_all(ms);
	broadcast(ms, end, sizeof(end) - 1, false);
	ms->ended = true;
}

void fl_marketsock_close(struct fl_marketsock *ms)
{
	if (!ms)
		return;
	for (int i = 0; i < FL_MS_MAX_CONN; i++)
		if (ms->cl[i]) {
			flush(ms->cl[i]);
			drop(ms, i);
		}
	if (ms->loop && ms->lwatch > 0)
		fl_loop_fd_del(ms->loop, ms->lwatch);
	close(ms->lfd);
	unlink(ms->path);
	free(ms);
}
