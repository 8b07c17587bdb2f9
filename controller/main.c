/*
 * main.c — the `faultline` command line: parse, dispatch, exit codes.
 *
 * Commands: run, drill, exec, abort, mark, report, validate, model, scenarios,
 * schema, version, help.
 * Only commands whose output is data (validate's ok lines, model, scenarios,
 * report, version, help) print to stdout; everything else goes to stderr with the
 * "faultline: " prefix. run/drill fail with 125 on their own errors (like
 * env and timeout), the other commands with 1, usage errors with 2.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "mode.h"
#include "market/market.h"
#include "profile.h"
#include "report.h"
#include "schema.h"
#include "seccomp_sup.h"
#include "events.h"
#include "session.h"

#define FL__ERRBUF 65536

static const char usage_text[] =
	"usage: faultline COMMAND [OPTIONS]\n"
	"\n"
	"  run [-p PROFILE | -s SCENARIO] [-o TIMELINE] [--seed N] [--speed X]\n"
	"      [--user NAME] [--ctl PATH] [--duration S] [--ticks-every MS] [-q]\n"
	"      [--pin TIMELINE [--pin-force]] [--mode auto|preload|seccomp|both]\n"
	"      [--timens] [--no-bpf] [-v] -- CMD [ARGS...]\n"
	"        run CMD with libfaultline.so preloaded and the profile's faults\n"
	"        armed; exit with CMD's status (128+N for signal N), or 125 when\n"
	"        faultline fails, 126 when CMD cannot run, 127 when not found;\n"
	"        CMD runs in its own cgroup v2, observed by eBPF (kernel records)\n"
	"  drill (-s SCENARIO | -p PROFILE) --ctl PATH [-o TIMELINE] [--seed N]\n"
	"      [--speed X] [--user NAME] [--duration S] [--ticks-every MS] [-q]\n"
	"      [--cgroup PATH] [--no-bpf]\n"
	"        drive services already started with FAULTLINE_CTL=PATH and the\n"
	"        shim preloaded, or by `faultline exec --ctl PATH`, until the\n"
	"        scenario ends, --duration, or SIGINT\n"
	"      run and drill also take [--events PATH] [--metrics ADDR:PORT]\n"
	"  exec --ctl PATH [--ops OP,...] [-v] -- CMD [ARGS...]\n"
	"        run CMD under the seccomp supervisor's filter (a systemd unit's\n"
	"        ExecStart wrapper for static and Go services): untouched until\n"
	"        a `faultline drill --ctl PATH` attaches; exit with CMD's status\n"
	"  abort --ctl PATH      stop every fault of the drill at PATH now\n"
	"  mark --ctl PATH TEXT  record an operator action in the running drill\n"
	"  report TIMELINE [-o report.html] [-q]\n"
	"        what happened, budgets and time to stability; -o: one HTML file\n"
	"  validate FILE...      check profiles and scenarios; print every error\n"
	"  model -s SCENARIO [--seed N] [--format csv|jsonl] [--ticks-every MS]\n"
	"        print the scenario's market series (no program runs)\n"
	"  model -s SCENARIO --stats [--seed N] [--seeds K]\n"
	"        outcome metrics (drawdown, liquidations, cascade, depth, spread,\n"
	"        retrace) over K seeds from N (default 5), with the seed spread\n"
	"  scenarios [DIR]       list the bundled scenarios\n"
	"  schema profile|scenario  print the JSON Schema of the files validate\n"
	"        reads (for editors; validate stays the authority)\n"
	"  version               print the version\n"
	"\n"
	"  -o FILE      timeline, JSON Lines, created 0600 (not \"-\": stdout is\n"
	"               CMD's); without it a one-line summary goes to stderr\n"
	"  --seed N     overrides the profile's seed (default 1)\n"
	"  --speed X    scenario time runs X times faster than real time\n"
	"  --user NAME  run CMD as NAME (root only); the block is given to NAME\n"
	"  --ctl PATH   control block path (run: default a private temp dir)\n"
	"  --cgroup PATH  drill: the services' cgroup v2 directory, observed and\n"
	"               injected into by eBPF (a systemd unit's, for example)\n"
	"  --no-bpf     no eBPF observer or injectors\n"
	"  --pin TL     replay the faults of timeline TL, in order; it must be of\n"
	"               this profile (its sha256), unless --pin-force\n"
	"\n"
	"  --events PATH   the FAULTLINE_EVENTS socket (default CTL.events)\n"
	"  --metrics A:P   serve Prometheus text on http://A:P/metrics\n"
	"\n"
	"exit status 3: CMD exited 0 but a failure budget was broken\n"
	"environment: FAULTLINE_SHIM (path of libfaultline.so),\n"
	"             FAULTLINE_SCENARIOS (default directory for `scenarios`)\n";

static int bad_usage(const char *fmt, const char *arg, int code)
{
	fputs("faultline: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nfaultline: try 'faultline --help'\n", stderr);
	return code;
}

/* ---- option values ---------------------------------------------------------- */

static bool u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return *s && *s != '-' && !*end && !errno;
}

static bool pos_double(const char *s, double *out, bool zero_ok)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && isfinite(*out) &&
	       (*out > 0 || (zero_ok && *out == 0));
}

/* ---- run and drill ----------------------------------------------------------- */

enum {
	FL_OPT_SEED = 256, FL_OPT_SPEED, FL_OPT_USER, FL_OPT_CTL,
	FL_OPT_DURATION, FL_OPT_TICKS, FL_OPT_FORMAT, FL_OPT_PIN, FL_OPT_PIN_FORCE,
	FL_OPT_NO_BPF, FL_OPT_CGROUP,
	FL_OPT_STATS, FL_OPT_SEEDS,
	FL_OPT_MODE, FL_OPT_TIMENS,
	FL_OPT_EVENTS, FL_OPT_METRICS, FL_OPT_OPS,
};

static const struct option run_longopts[] = {
	{ "profile", required_argument, NULL, 'p' },
	{ "scenario", required_argument, NULL, 's' },
	{ "output", required_argument, NULL, 'o' },
	{ "timeline", required_argument, NULL, 'o' },
	{ "seed", required_argument, NULL, FL_OPT_SEED },
	{ "speed", required_argument, NULL, FL_OPT_SPEED },
	{ "user", required_argument, NULL, FL_OPT_USER },
	{ "ctl", required_argument, NULL, FL_OPT_CTL },
	{ "duration", required_argument, NULL, FL_OPT_DURATION },
	{ "ticks-every", required_argument, NULL, FL_OPT_TICKS },
	{ "pin", required_argument, NULL, FL_OPT_PIN },
	{ "no-bpf", no_argument, NULL, FL_OPT_NO_BPF },
	{ "cgroup", required_argument, NULL, FL_OPT_CGROUP },
	{ "pin-force", no_argument, NULL, FL_OPT_PIN_FORCE },
	{ "events", required_argument, NULL, FL_OPT_EVENTS },
	{ "metrics", required_argument, NULL, FL_OPT_METRICS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "mode", required_argument, NULL, FL_OPT_MODE },
	{ "timens", no_argument, NULL, FL_OPT_TIMENS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option of run/drill into o. Returns 0, or an exit code. */
static int run_opt(int c, const char *arg, struct fl_run_opts *o)
{
	double d;

	switch (c) {
	case 'p':
	case 's':
		if (o->profile)
			return bad_usage("give one of -p or -s%s", "", FL_EXIT_FAIL);
		o->profile = arg;
		o->scenario = c == 's';
		return 0;
	case 'o':
		if (!strcmp(arg, "-"))
			return bad_usage("-o -: stdout belongs to the command; "
					     "give a file%s", "", FL_EXIT_FAIL);
		o->timeline = arg;
		return 0;
	case FL_OPT_SEED:
		o->has_seed = true;
		return u64(arg, &o->seed) ? 0 :
		       bad_usage("--seed %s: expected an unsigned integer",
				     arg, FL_EXIT_FAIL);
	case FL_OPT_SPEED:
		return pos_double(arg, &o->speed, false) ? 0 :
		       bad_usage("--speed %s: expected a number > 0", arg,
				     FL_EXIT_FAIL);
	case FL_OPT_USER:
		o->user = arg;
		return 0;
	case FL_OPT_CTL:
		o->ctl = arg;
		return 0;
	case FL_OPT_DURATION:
		return pos_double(arg, &o->duration_s, true) ? 0 :
		       bad_usage("--duration %s: expected seconds >= 0", arg,
				     FL_EXIT_FAIL);
	case FL_OPT_TICKS:
		if (!pos_double(arg, &d, false) || d * 1e6 > 9e18)
			return bad_usage("--ticks-every %s: expected ms > 0", arg,
					     FL_EXIT_FAIL);
		o->ticks_every_ns = (int64_t)(d * 1e6);
		return 0;
	case FL_OPT_PIN:
		o->pin = arg;
		return 0;
	case FL_OPT_EVENTS:
		o->events = arg;
		return 0;
	case FL_OPT_METRICS:
		o->metrics = arg;
		return 0;
	case FL_OPT_PIN_FORCE:
		o->pin_force = true;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case FL_OPT_NO_BPF:
		o->no_bpf = true;
		return 0;
	case FL_OPT_CGROUP:
		o->cgroup = arg;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case FL_OPT_TIMENS:
		o->timens = true;
		return 0;
	case FL_OPT_MODE: {
		enum fl_mode m;
		if (fl_mode_parse(arg, &m) < 0)
			return bad_usage("--mode %s: expected auto, preload, seccomp "
					     "or both", arg, FL_EXIT_FAIL);
		o->mode = (int)m;
		return 0;
	}
	case 'h':
		fputs(usage_text, stdout);
		return -1;
	default:
		return bad_usage("bad option%s", "", FL_EXIT_FAIL);
	}
}

static int parse_run(int argc, char **argv, struct fl_run_opts *o)
{
	int c, rc;

	*o = (struct fl_run_opts){ .speed = 1.0, .duration_s = -1.0 };
	optind = 1;
	/* '+': stop at CMD, its options are its own. */
	while ((c = getopt_long(argc, argv, "+p:s:o:qvh", run_longopts,
				NULL)) != -1) {
		rc = run_opt(c, optarg, o);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct fl_run_opts o;
	int rc = parse_run(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (optind >= argc)
		return bad_usage("run: no command given (faultline run [OPTIONS] "
				     "-- CMD ARGS...)%s", "", FL_EXIT_FAIL);
	o.cmd = argv + optind;
	if (o.cgroup)
		return bad_usage("run: --cgroup is for drill (run makes CMD "
				     "its own cgroup)%s", "", FL_EXIT_FAIL);
	return fl_run_main(&o);
}

static int cmd_drill(int argc, char **argv)
{
	struct fl_run_opts o;
	int rc = parse_run(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (optind < argc)
		return bad_usage("drill: unexpected argument '%s' (drill runs no "
				     "command; use run)", argv[optind], FL_EXIT_FAIL);
	if (!o.profile)
		return bad_usage("drill: give -s SCENARIO or -p PROFILE%s", "",
				     FL_EXIT_FAIL);
	if (!o.ctl)
		return bad_usage("drill: give --ctl PATH (the FAULTLINE_CTL of "
				     "the services)%s", "", FL_EXIT_FAIL);
	return fl_run_main(&o);
}

/* ---- exec ------------------------------------------------------------------- */

/* "connect,recv,..." into a mask of ops the supervisor serves. */
static int parse_ops(const char *list, uint32_t *ops)
{
	char buf[256], *save = NULL;

	*ops = 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int op = fl_op_by_name(t);
		if (op <= 0 || op >= 32 || !(fl_sc_ops_all() & (1u << op))) {
			bad_usage("exec: --ops: '%s' is not an op the seccomp supervisor "
				  "serves (connect accept send recv read write open fsync "
				  "rename close)", t, FL_EXIT_FAIL);
			return -1;
		}
		*ops |= 1u << op;
	}
	return *ops ? 0 : -1;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ctl", required_argument, NULL, FL_OPT_CTL },
		{ "ops", required_argument, NULL, FL_OPT_OPS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ctl = NULL;
	uint32_t ops = fl_sc_ops_all();
	bool verbose = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else if (c == 'v') {
			verbose = true;
		} else if (c == FL_OPT_CTL) {
			ctl = optarg;
		} else if (c == FL_OPT_OPS) {
			if (parse_ops(optarg, &ops) < 0)
				return FL_EXIT_FAIL;
		} else {
			return bad_usage("exec: bad option%s", "", FL_EXIT_FAIL);
		}
	}
	if (!ctl)
		return bad_usage("exec: give --ctl PATH (the path drills will use)%s", "",
				 FL_EXIT_FAIL);
	if (optind >= argc)
		return bad_usage("exec: give the command (-- CMD ARGS...)%s", "", FL_EXIT_FAIL);
	return fl_sc_exec_main(ctl, ops, argv + optind, verbose);
}

/* ---- abort ------------------------------------------------------------------ */

/* How long `faultline abort` waits for the controller to answer. */
#define FL__ABORT_WAIT_MS 2000

static int cmd_abort(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ctl", required_argument, NULL, FL_OPT_CTL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		if (c != FL_OPT_CTL)
			return bad_usage("abort: bad option%s", "", 2);
		path = optarg;
	}
	if (!path || optind < argc)
		return bad_usage("usage: faultline abort --ctl PATH%s", "", 2);
	err = fl_block_abort(path, FL__ABORT_WAIT_MS);
	if (err < 0) {
		fprintf(stderr, "faultline: %s: %s\n", path,
			err == -EPROTO ? "not a faultline control socket (or another ABI version)" :
			err == -ECONNREFUSED ? "no live controller (its faults have stopped already)" :
			err == -EPERM ? "served by another user: refused" :
			err == -ETIMEDOUT ? "the controller did not answer" : strerror(-err));
		return 1;
	}
	return 0;
}

/* ---- mark ------------------------------------------------------------------- */

static int cmd_mark(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ctl", required_argument, NULL, FL_OPT_CTL },
		{ "events", required_argument, NULL, FL_OPT_EVENTS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ctl = NULL, *sock = NULL;
	char path[128], text[FL_EV_TEXT_MAX];
	size_t n = 0;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		if (c == FL_OPT_CTL)
			ctl = optarg;
		else if (c == FL_OPT_EVENTS)
			sock = optarg;
		else
			return bad_usage("mark: bad option%s", "", 2);
	}
	if ((!ctl == !sock) || optind >= argc)
		return bad_usage("usage: faultline mark (--ctl PATH | --events PATH) "
				     "TEXT...%s", "", 2);
	text[0] = '\0';
	for (int i = optind; i < argc; i++) {
		int w = snprintf(text + n, sizeof(text) - n, "%s%s", i > optind ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(text) - n)
			return bad_usage("mark: text longer than %s bytes", "1023", 2);
		n += (size_t)w;
	}
	if (ctl && fl_events_path_for(ctl, path, sizeof(path)) < 0)
		return bad_usage("mark: --ctl %s: path too long", ctl, 2);
	err = fl_events_send_mark(sock ? sock : path, text, 5000);
	if (err < 0) {
		fprintf(stderr, "faultline: mark: %s: %s\n", sock ? sock : path,
			err == -ENOENT || err == -ECONNREFUSED ? "no drill is running there" :
			err == -ETIMEDOUT ? "the drill did not read the mark within 5 s" :
			strerror(-err));
		return 1;
	}
	return 0;
}

/* ---- validate ----------------------------------------------------------------- */

static int validate_one(const char *file, char *err)
{
	struct fl_profile p;
	int rc = fl_profile_load(file, &p, err, FL__ERRBUF);

	if (rc == 0)
		printf("%s: ok\n", file);
	else if (err[0])
		fputs(err, stderr);
	else
		fprintf(stderr, "faultline: %s: %s\n", file, strerror(-rc));
	fl_profile__free(&p);
	return rc;
}

static int cmd_validate(int argc, char **argv)
{
	char *err;
	int bad = 0;

	if (argc < 2)
		return bad_usage("usage: faultline validate FILE...%s", "", 2);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	err = malloc(FL__ERRBUF);
	if (!err)
		return 1;
	for (int i = 1; i < argc; i++) {
		err[0] = '\0';
		bad |= validate_one(argv[i], err) != 0;
	}
	free(err);
	return bad ? 1 : 0;
}

/* ---- model ---------------------------------------------------------------------- */

struct model_opts {
	const char *file;
	uint64_t seed;
	bool has_seed;
	enum mkt_format fmt;
	int64_t every_ns;
	bool stats;
	int nseeds;
};

static int parse_model(int argc, char **argv, struct model_opts *m)
{
	static const struct option lo[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, FL_OPT_SEED },
		{ "format", required_argument, NULL, FL_OPT_FORMAT },
		{ "ticks-every", required_argument, NULL, FL_OPT_TICKS },
		{ "stats", no_argument, NULL, FL_OPT_STATS },
		{ "seeds", required_argument, NULL, FL_OPT_SEEDS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double d;
	uint64_t k;
	int c;

	*m = (struct model_opts){ .fmt = MKT_FMT_CSV, .nseeds = 5 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", lo, NULL)) != -1) {
		if (c == 's') {
			m->file = optarg;
		} else if (c == FL_OPT_SEED) {
			if (!u64(optarg, &m->seed))
				return bad_usage("--seed %s: expected an unsigned "
						     "integer", optarg, 2);
			m->has_seed = true;
		} else if (c == FL_OPT_FORMAT) {
			if (strcmp(optarg, "csv") && strcmp(optarg, "jsonl"))
				return bad_usage("--format %s: expected csv or jsonl",
						     optarg, 2);
			m->fmt = strcmp(optarg, "csv") ? MKT_FMT_JSONL : MKT_FMT_CSV;
		} else if (c == FL_OPT_TICKS) {
			if (!pos_double(optarg, &d, false) || d * 1e6 > 9e18)
				return bad_usage("--ticks-every %s: expected ms > 0",
						     optarg, 2);
			m->every_ns = (int64_t)(d * 1e6);
		} else if (c == FL_OPT_STATS) {
			m->stats = true;
		} else if (c == FL_OPT_SEEDS) {
			if (!u64(optarg, &k) || k < 1 || k > 64)
				return bad_usage("--seeds %s: expected 1 to 64", optarg, 2);
			m->nseeds = (int)k;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return -1;
		} else {
			return bad_usage("model: bad option%s", "", 2);
		}
	}
	if (!m->file || optind < argc)
		return bad_usage("usage: faultline model -s SCENARIO [--seed N] "
				     "[--format csv|jsonl] [--ticks-every MS] [--stats [--seeds K]]%s", "", 2);
	return 0;
}

static int model_write(const struct model_opts *m,
			   const struct fl_profile *p)
{
	uint64_t seed = m->has_seed ? m->seed : p->has_seed ? p->seed : 1;
	int64_t every = m->every_ns ? m->every_ns : mkt_params__dt_ns(p->market);
	int err = m->stats ? mkt_write_stats(p->market, seed, m->nseeds, stdout)
			   : mkt_write_series(p->market, seed, m->fmt, every, stdout);

	if (!err && fflush(stdout) != 0)
		err = -EIO;
	if (err < 0)
		fprintf(stderr, "faultline: model: %s\n", strerror(-err));
	return err < 0 ? 1 : 0;
}

static int cmd_model(int argc, char **argv)
{
	struct model_opts m;
	struct fl_profile p;
	char *err;
	int rc = parse_model(argc, argv, &m);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!(err = calloc(1, FL__ERRBUF)))
		return 1;
	rc = fl_profile_load(m.file, &p, err, FL__ERRBUF);
	if (rc < 0) {
		if (err[0])
			fputs(err, stderr);
		else
			fprintf(stderr, "faultline: %s: %s\n", m.file, strerror(-rc));
		rc = 1;
	} else if (!p.market) {
		fprintf(stderr, "faultline: %s: not a scenario (no \"market\")\n",
			m.file);
		rc = 1;
	} else {
		rc = model_write(&m, &p);
	}
	fl_profile__free(&p);
	free(err);
	return rc;
}

/* ---- scenarios ------------------------------------------------------------------ */

/* dirname of our executable, or "" */
static void exe_dir(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);

	char *d;

	out[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		return;
	d = dirname(out);
	memmove(out, d, strlen(d) + 1);
}

static const char *scenario_dir(char *buf, size_t len)
{
	const char *env = getenv("FAULTLINE_SCENARIOS");
	static const char *const rel[] = { "../scenarios", "../share/faultline/scenarios" };
	char exe[PATH_MAX];

	if (env && *env)
		return env;
	exe_dir(exe, sizeof(exe));
	for (size_t i = 0; exe[0] && i < sizeof(rel) / sizeof(rel[0]); i++) {
		char p[PATH_MAX * 2];

		snprintf(p, sizeof(p), "%s/%s", exe, rel[i]);
		if (len >= PATH_MAX && realpath(p, buf) && access(buf, R_OK | X_OK) == 0)
			return buf;
	}
	return "scenarios";
}

/* "Text up to and including the first '.' that ends a sentence." */
static int first_sentence(const char *s)
{
	const char *p = s;

	while ((p = strchr(p, '.')) != NULL) {
		if (p[1] == '\0' || p[1] == ' ' || p[1] == '\n')
			return (int)(p - s + 1);
		p++;
	}
	return (int)strlen(s);
}

static void scenario_line(const char *dir, const char *name, char *err)
{
	char path[PATH_MAX];
	struct fl_profile p;
	int n = (int)strlen(name) - 5; /* without ".json" */

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (fl_profile_load(path, &p, err, FL__ERRBUF) < 0)
		printf("%-28.*s (invalid: see faultline validate %s)\n", n, name, path);
	else
		printf("%-28.*s %.*s\n", n, name, first_sentence(p.description),
		       p.description);
	fl_profile__free(&p);
}

static int json_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

static int cmd_scenarios(int argc, char **argv)
{
	char buf[PATH_MAX];
	const char *dir = argc > 1 ? argv[1] : scenario_dir(buf, sizeof(buf));
	struct dirent **ents;
	char *err;
	int n;

	if (argc > 2 || (argc > 1 && argv[1][0] == '-'))
		return bad_usage("usage: faultline scenarios [DIR]%s", "", 2);
	n = scandir(dir, &ents, json_file, alphasort);
	if (n < 0) {
		fprintf(stderr, "faultline: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (n == 0)
		fprintf(stderr, "faultline: no scenarios (*.json) in %s\n", dir);
	err = malloc(FL__ERRBUF);
	for (int i = 0; i < n; i++) {
		if (err)
			scenario_line(dir, ents[i]->d_name, err);
		free(ents[i]);
	}
	free(ents);
	free(err);
	return err ? 0 : 1;
}

/* ---- schema -------------------------------------------------------------------- */

static int cmd_schema(int argc, char **argv)
{
	bool scenario = argc == 2 && !strcmp(argv[1], "scenario");
	cJSON *s;
	char *text;

	if (argc != 2 || (!scenario && strcmp(argv[1], "profile")))
		return bad_usage("usage: faultline schema profile|scenario%s", "", 2);
	s = fl_profile_schema(scenario);
	text = s ? fl_sch_print(s) : NULL;
	cJSON_Delete(s);
	if (!text) {
		fprintf(stderr, "faultline: schema: out of memory\n");
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- dispatch ---------------------------------------------------------------- */

static int cmd_version(int argc, char **argv)
{
	printf("faultline %s (control block ABI %u)\n", FL_VERSION, FL_ABI_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	fputs(usage_text, stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "run", cmd_run },
	{ "drill", cmd_drill },
	{ "exec", cmd_exec },
	{ "abort", cmd_abort },
	{ "mark", cmd_mark },
	{ "report", fl_report_main },
	{ "validate", cmd_validate },
	{ "model", cmd_model },
	{ "scenarios", cmd_scenarios },
	{ "schema", cmd_schema },
	{ "version", cmd_version },
	{ "--version", cmd_version },
	{ "-V", cmd_version },
	{ "help", cmd_help },
	{ "--help", cmd_help },
	{ "-h", cmd_help },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return bad_usage("unknown command '%s'", argv[1], 2);
}
