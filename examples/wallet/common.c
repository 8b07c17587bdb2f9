/* common.c — see common.h. */
#include "common.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

double wl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void wl_sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1e3), (long)(fmod(ms, 1e3) * 1e6) };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int wl_listen(int port)
{
	struct sockaddr_in a = loopback(port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int wl_connect(int port, int timeout_ms, int io_timeout_ms)
{
	struct sockaddr_in a = loopback(port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	/* SO_SNDTIMEO bounds a blocking connect too. */
	set_timeouts(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = errno == EINPROGRESS || errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (err) {
		close(fd);
		return err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeouts(fd, io_timeout_ms);
	return fd;
}

int wl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void wl_ready(void)
{
	fputs("READY\n", stdout);
	fflush(stdout);
}

void wl_serve(const char *who, int port, void *(*conn)(void *))
{
	int lfd = wl_listen(port);

	if (lfd < 0) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d: %s\n", who, port, strerror(-lfd));
		exit(1);
	}
	wl_market_start(who);
	wl_ready();
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, conn, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
}

void wl_lines_init(struct wl_lines *l, int fd)
{
	l->fd = fd;
	l->len = 0;
}

int wl_readline(struct wl_lines *l, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);

		if (nl) {
			size_t n = (size_t)(nl - l->buf);
			size_t c = n < cap - 1 ? n : cap - 1;

			memcpy(out, l->buf, c);
			out[c] = '\0';
			if (c && out[c - 1] == '\r')
				out[--c] = '\0';
			l->len -= n + 1;
			memmove(l->buf, nl + 1, l->len);
			return (int)c;
		}
		if (l->len == sizeof(l->buf))
			l->len = 0; /* a line longer than we accept: drop it */
		ssize_t r = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);

		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		l->len += (size_t)r;
	}
}

void wl_usage_fail(const char *prog, const char *arg)
{
	fprintf(stderr, "%s: bad or unknown argument '%s' (see the header of examples/wallet/%s.c)\n",
		prog, arg, prog);
	exit(2);
}

static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
	if (strcmp(argv[*i], name))
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s: %s needs a value\n", argv[0], name);
		exit(2);
	}
	return argv[++*i];
}

bool wl_flag_int(int argc, char **argv, int *i, const char *name, long long *v)
{
	const char *s = flag_value(argc, argv, i, name);
	char *end;

	if (!s)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || *end || end == s) {
		fprintf(stderr, "%s: %s: expected an integer, got '%s'\n", argv[0], name, s);
		exit(2);
	}
	return true;
}

bool wl_flag_num(int argc, char **argv, int *i, const char *name, double *v)
{
	const char *s = flag_value(argc, argv, i, name);
	char *end;

	if (!s)
		return false;
	*v = strtod(s, &end);
	if (*end || end == s || !isfinite(*v)) {
		fprintf(stderr, "%s: %s: expected a number, got '%s'\n", argv[0], name, s);
		exit(2);
	}
	return true;
}

bool wl_flag_str(int argc, char **argv, int *i, const char *name, const char **v)
{
	const char *s = flag_value(argc, argv, i, name);

	if (s)
		*v = s;
	return s != NULL;
}

uint64_t wl_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double wl_rng_unit(uint64_t *s)
{
	return (double)(wl_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

double wl_calm_spot(void)
{
	return 60000.0 * (1.0 + 0.002 * sin(wl_now_ms() / 60000.0 * 2 * M_PI));
}

/* ---- the FAULTLINE_MARKET subscriber ---------------------------------- */

static pthread_mutex_t mkt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wl_market mkt;
static const char *mkt_who = "example";

static double sig(const cJSON *s, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, name);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int venue_level(const char *s)
{
	if (!strcmp(s, "down"))
		return 3;
	if (!strcmp(s, "stale"))
		return 2;
	return !strcmp(s, "slow");
}

/* One line of the market socket: a tick updates the snapshot, "end" marks
 * the drill's end (the last values stay: the market did not vanish). */
static void market_line(const char *line)
{
	cJSON *j = cJSON_Parse(line);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "signals");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "venues");
	const cJSON *e;

	if (!cJSON_IsString(type))
		goto out;
	pthread_mutex_lock(&mkt_lock);
	if (!strcmp(type->valuestring, "end")) {
		mkt.ended = true;
	} else if (!strcmp(type->valuestring, "tick") && cJSON_IsObject(s)) {
		int worst = 0;

		mkt.tick = (uint64_t)sig(j, "tick", (double)mkt.tick);
		mkt.spot = sig(s, "spot", mkt.spot);
		mkt.spread_bps = sig(s, "spread_bps", mkt.spread_bps);
		mkt.depth_usd = sig(s, "depth_usd", mkt.depth_usd);
		if (!mkt.live)
			mkt.depth0_usd = mkt.depth_usd;
		mkt.liq_queue_usd = sig(s, "liq_queue_usd", mkt.liq_queue_usd);
		mkt.liq_usd_per_s_5m = sig(s, "liquidations_usd_per_s_5m", mkt.liq_usd_per_s_5m);
		mkt.stress = sig(s, "stress", mkt.stress);
		cJSON_ArrayForEach(e, v)
			if (cJSON_IsString(e) && venue_level(e->valuestring) > worst)
				worst = venue_level(e->valuestring);
		mkt.venue_status = worst;
		mkt.live = true;
	}
	pthread_mutex_unlock(&mkt_lock);
out:
	cJSON_Delete(j);
}

static void *market_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct wl_lines *l = malloc(sizeof(*l));
	char line[WL_LINE_MAX];
	int n;

	if (!l)
		return NULL;
	wl_lines_init(l, fd);
	while ((n = wl_readline(l, line, sizeof(line))) >= 0)
		market_line(line);
	pthread_mutex_lock(&mkt_lock);
	mkt.ended = true;
	pthread_mutex_unlock(&mkt_lock);
	free(l);
	close(fd);
	return NULL;
}

int wl_market_start(const char *who)
{
	const char *path = getenv("FAULTLINE_MARKET");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	pthread_t t;
	int fd;

	mkt_who = who;
	pthread_mutex_lock(&mkt_lock);
	mkt = (struct wl_market){ .spot = 60000, .spread_bps = 2, .depth_usd = 40e6,
				  .depth0_usd = 40e6 };
	pthread_mutex_unlock(&mkt_lock);
	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "%s: FAULTLINE_MARKET path too long; running calm\n", who);
		return 0;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "%s: cannot connect to FAULTLINE_MARKET %s (%s); running calm\n",
			who, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (pthread_create(&t, NULL, market_thread, (void *)(intptr_t)fd)) {
		close(fd);
		return -EAGAIN;
	}
	pthread_detach(t);
	return 0;
}

void wl_market_get(struct wl_market *m)
{
	pthread_mutex_lock(&mkt_lock);
	*m = mkt;
	pthread_mutex_unlock(&mkt_lock);
	if (!m->live)
		m->spot = wl_calm_spot();
}
