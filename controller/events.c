/*
 * events.c — the FAULTLINE_EVENTS server (see events.h).
 *
 * Divisions: parsing one line (the only cJSON here); the socket; clients.
 *
 * Invariants
 *  - A client's bytes are untrusted: a line longer than FL_EV_MAX_LINE is
 *    discarded up to its newline and counted once; NUL bytes make a line
 *    malformed; a client that closes mid-line loses that partial line
 *    (counted: a record without its newline may be cut).
 *  - Removing a client always deletes its loop interest before closing the
 *    fd, so a late completion never names a reused fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "events.h"
#include "loop.h"

/* ---- parsing --------------------------------------------------------------- */

const char *fl_event_type_name(enum fl_event_type t)
{
	switch (t) {
	case FL_EV_PROBE: return "probe";
	case FL_EV_METRIC: return "metric";
	case FL_EV_INVARIANT: return "invariant";
	case FL_EV_MARK: return "mark";
	}
	return "?";
}

static int why_set(char *why, size_t len, const char *s)
{
	if (why && len)
		snprintf(why, len, "%s", s);
	return -EINVAL;
}

/* Copy string member `key` into out (< outlen bytes). Missing: 1 if
 * optional, else an error. */
static int get_str(const cJSON *o, const char *key, bool required, char *out,
		   size_t outlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return required ? -EINVAL : 1;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return -EINVAL;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int get_bool(const cJSON *o, const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsBool(v))
		return -EINVAL;
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A finite number; *out untouched (and 1) when missing and optional. */
static int get_num(const cJSON *o, const char *key, bool required, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return required ? -EINVAL : 1;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return -EINVAL;
	*out = v->valuedouble;
	return 0;
}

static int parse_fields(const cJSON *o, struct fl_event *e, char *why, size_t wl)
{
	switch (e->type) {
	case FL_EV_PROBE:
		if (get_str(o, "name", true, e->name, sizeof(e->name)) || !e->name[0])
			return why_set(why, wl, "probe: \"name\" must be a string of 1..63 bytes");
		if (get_bool(o, "ok", &e->ok) < 0)
			return why_set(why, wl, "probe: \"ok\" must be true or false");
		if (get_num(o, "latency_ms", false, &e->latency_ms) < 0 ||
		    e->latency_ms < 0)
			return why_set(why, wl, "probe: \"latency_ms\" must be a number >= 0");
		return 0;
	case FL_EV_METRIC:
		if (get_str(o, "name", true, e->name, sizeof(e->name)) || !e->name[0])
			return why_set(why, wl, "metric: \"name\" must be a string of 1..63 bytes");
		if (get_num(o, "value", true, &e->value) < 0)
			return why_set(why, wl, "metric: \"value\" must be a finite number");
		return 0;
	case FL_EV_INVARIANT:
		if (get_str(o, "name", true, e->name, sizeof(e->name)) || !e->name[0])
			return why_set(why, wl, "invariant: \"name\" must be a string of 1..63 bytes");
		if (get_bool(o, "ok", &e->ok) < 0)
			return why_set(why, wl, "invariant: \"ok\" must be true or false");
		if (get_str(o, "detail", false, e->text, sizeof(e->text)) < 0)
			return why_set(why, wl, "invariant: \"detail\" must be a string < 1024 bytes");
		return 0;
	case FL_EV_MARK:
		if (get_str(o, "text", true, e->text, sizeof(e->text)) || !e->text[0])
			return why_set(why, wl, "mark: \"text\" must be a string of 1..1023 bytes");
		return 0;
	}
	return why_set(why, wl, "unknown type");
}

int fl_event_parse(const char *line, size_t len, struct fl_event *out,
		   char *why, size_t whylen)
{
	static const char *const types[] = { NULL, "probe", "metric", "invariant", "mark" };
	const char *end = NULL;
	cJSON *o;
	const cJSON *t;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	out->latency_ms = NAN;
	if (memchr(line, '\0', len))
		return why_set(why, whylen, "a NUL byte in the line");
	o = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return why_set(why, whylen, "not a JSON object");
	}
	while (end && end < line + len && strchr(" \t\r", *end))
		end++;
	if (end != line + len) {
		why_set(why, whylen, "garbage after the object");
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(o, "type");
	for (int i = 1; i < 5 && cJSON_IsString(t); i++)
		if (!strcmp(t->valuestring, types[i]))
			out->type = (enum fl_event_type)i;
	if (!out->type) {
		why_set(why, whylen, "\"type\" must be probe, metric, invariant or mark");
		goto out;
	}
	if (get_str(o, "src", false, out->src, sizeof(out->src)) < 0) {
		why_set(why, whylen, "\"src\" must be a string < 32 bytes");
		goto out;
	}
	rc = parse_fields(o, out, why, whylen);
out:
	cJSON_Delete(o);
	return rc;
}

int fl_events_path_for(const char *ctl, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.events", ctl);

	/* sun_path is 108 bytes with its NUL */
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/* ---- the server ---------------------------------------------------------------- */

struct client {
	int fd;
	long long watch;
	size_t len;
	bool skipping; /* inside an overlong line: drop up to its newline */
	char buf[FL_EV_MAX_LINE + 1];
};

struct fl_events {
	char path[108];
	int lfd;
	long long lwatch;
	struct fl_loop *loop;
	fl_event_fn *fn;
	void *arg;
	struct client *cl[FL_EV_MAX_CONN];
	struct fl_events_stats st;
};

int fl__unix_listen(const char *path, const struct fl_events_owner *own, int *fd_out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		/* a live server answers; only a dead one's file is removed.
		 * (A server killed a moment ago may still answer: its io_uring
		 * is torn down asynchronously. Callers who know the path is
		 * theirs, because they own the block it is named after, pass
		 * own->replace.) */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !(own && own->replace) &&
		    connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(fd);
			return -EEXIST;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* bind creates the file with ~umask; tighten before anyone can use it
	 * by listening only after the chmod. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0600) < 0 ||
	    (own && own->chown && chown(path, own->uid, own->gid) < 0) ||
	    listen(fd, 64) < 0) {
		err = -errno;
		close(fd);
		unlink(path);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int fl_events_open(const char *path, const struct fl_events_owner *own,
		   fl_event_fn *fn, void *arg, struct fl_events **out)
{
	struct fl_events *ev = calloc(1, sizeof(*ev));
	int err;

	if (!ev)
		return -ENOMEM;
	if (strlen(path) >= sizeof(ev->path)) {
		free(ev);
		return -ENAMETOOLONG;
	}
	strcpy(ev->path, path);
	ev->fn = fn;
	ev->arg = arg;
	err = fl__unix_listen(path, own, &ev->lfd);
	if (err < 0) {
		free(ev);
		return err;
	}
	*out = ev;
	return 0;
}

const char *fl_events_path(const struct fl_events *ev)
{
	return ev->path;
}

void fl_events_stats(const struct fl_events *ev, struct fl_events_stats *out)
{
	*out = ev->st;
}

static void client_drop(struct fl_events *ev, int i)
{
	struct client *c = ev->cl[i];

	if (c->len && !c->skipping)
		ev->st.malformed++; /* a last line without its newline */
	c->len = 0;
	if (ev->loop && c->watch > 0)
		fl_loop_fd_del(ev->loop, c->watch);
	close(c->fd);
	free(c);
	ev->cl[i] = NULL;
}

static void deliver(struct fl_events *ev, const char *line, size_t len)
{
	struct fl_event e;

	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines between records are harmless */
	if (fl_event_parse(line, len, &e, NULL, 0) < 0) {
		ev->st.malformed++;
		return;
	}
	ev->st.records++;
	ev->fn(&e, ev->arg);
}

/* Split what is buffered into lines; keep the tail. */
static void client_lines(struct fl_events *ev, struct client *c, const char *p,
			 size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (c->skipping) {
			/* the rest of an overlong line */
		} else if (c->len + take > FL_EV_MAX_LINE) {
			ev->st.malformed++;
			c->skipping = true;
			c->len = 0;
		} else {
			memcpy(c->buf + c->len, p, take);
			c->len += take;
		}
		if (nl) {
			if (!c->skipping)
				deliver(ev, c->buf, c->len);
			c->len = 0;
			c->skipping = false;
			take++;
		}
		p += take;
		n -= take;
	}
}

/* Read up to the budget. Returns false when the client is gone. */
static bool client_read(struct fl_events *ev, struct client *c)
{
	char tmp[8192];
	size_t got = 0;

	while (got < FL_EV_READ_BUDGET) {
		ssize_t n = read(c->fd, tmp, sizeof(tmp));

		if (n > 0) {
			got += (size_t)n;
			client_lines(ev, c, tmp, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return true;
}

static void on_client(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct fl_events *ev = arg;

	for (int i = 0; i < FL_EV_MAX_CONN; i++) {
		if (ev->cl[i] && ev->cl[i]->fd == fd) {
			if (!client_read(ev, ev->cl[i]))
				client_drop(ev, i);
			return;
		}
	}
}

static int client_add(struct fl_events *ev, int fd)
{
	for (int i = 0; i < FL_EV_MAX_CONN; i++) {
		struct client *c;

		if (ev->cl[i])
			continue;
		if (!(c = calloc(1, sizeof(*c))))
			return -ENOMEM;
		c->fd = fd;
		if (ev->loop) {
			long long w = fl_loop_fd_add(ev->loop, fd, on_client, ev);

			if (w < 0) {
				free(c);
				return (int)w;
			}
			c->watch = w;
		}
		ev->cl[i] = c;
		return i;
	}
	return -EMFILE;
}

/* Accept every pending connection. */
static void accept_all(struct fl_events *ev)
{
	int fd;

	while ((fd = accept4(ev->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		ev->st.clients++;
		if (client_add(ev, fd) < 0) {
			ev->st.refused++;
			close(fd);
		}
	}
}

static void on_listen(struct fl_loop *l, int fd, int revents, void *arg)
{
	accept_all(arg);
}

int fl_events_add_to_loop(struct fl_events *ev, struct fl_loop *l)
{
	long long id = fl_loop_fd_add(l, ev->lfd, on_listen, ev);

	if (id < 0)
		return (int)id;
	ev->loop = l;
	ev->lwatch = id;
	return 0;
}

void fl_events_drain(struct fl_events *ev)
{
	if (!ev)
		return;
	accept_all(ev);
	for (int i = 0; i < FL_EV_MAX_CONN; i++) {
		if (!ev->cl[i])
			continue;
		/* read until EAGAIN, whatever the budget: nothing else runs now */
		bool alive;

		while ((alive = client_read(ev, ev->cl[i])) &&
		       recv(ev->cl[i]->fd, &(char){ 0 }, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
			;
		if (!alive) {
			client_drop(ev, i);
		} else if (ev->cl[i]->len && !ev->cl[i]->skipping) {
			/* the drill is over: half a line will not be finished */
			ev->st.malformed++;
			ev->cl[i]->skipping = true;
		}
	}
}

void fl_events_close(struct fl_events *ev)
{
	if (!ev)
		return;
	for (int i = 0; i < FL_EV_MAX_CONN; i++)
		if (ev->cl[i])
			client_drop(ev, i);
	if (ev->loop && ev->lwatch > 0)
		fl_loop_fd_del(ev->loop, ev->lwatch);
	close(ev->lfd);
	unlink(ev->path);
	free(ev);
}

/* ---- the client side ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fl_events_send_mark(const char *path, const char *text, int timeout_ms)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	cJSON *o;
	char *line, buf[64];
	int fd, err;

	if (!text[0] || strlen(text) >= FL_EV_TEXT_MAX || strlen(path) >= sizeof(a.sun_path))
		return -EINVAL;
	strcpy(a.sun_path, path);
	if (!(o = cJSON_CreateObject()) || !cJSON_AddStringToObject(o, "type", "mark") ||
	    !cJSON_AddStringToObject(o, "text", text) ||
	    !cJSON_AddStringToObject(o, "src", "faultline mark") ||
	    !(line = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_Delete(o);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	if (!err && !(err = write_all(fd, line, strlen(line))))
		err = write_all(fd, "\n", 1);
	free(line);
	if (!err && shutdown(fd, SHUT_WR) < 0)
		err = -errno;
	/* the controller closes once it has read our line */
	while (!err) {
		struct pollfd p = { fd, POLLIN, 0 };
		int n = poll(&p, 1, timeout_ms);
		ssize_t r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	return err;
}
