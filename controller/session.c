/*
 * session.c — `faultline run` and `faultline drill` (see session.h).
 *
 * Divisions: the session: set-up (profile, block, timeline), the loop's
 * handlers (heartbeat + journal, ticks, signals, child exit, duration), and
 * the end (final drain, state, records, exit code).
 *
 * Invariants
 *  - Nothing is spawned until the profile loaded, the block is ACTIVE with
 *    its magic, and the timeline is open: a bad profile never starts CMD.
 *  - SIGINT/SIGTERM/SIGHUP are blocked and read from a signalfd; the child
 *    gets the mask and dispositions we were started with back before exec.
 *    Every fd we hold is CLOEXEC.
 *  - Any way the drill stops early first sets the block to ABORTED and wakes
 *    every waiter, so faults stop before anything else happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block.h"
#include "bpf.h"
#include "ticker.h"
#include "loop.h"
#include "observe.h"
#include "mode.h"
#include "profile.h"
#include "pin.h"
#include "reach.h"
#include "session.h"
#include "snapshot.h"
#include "ticker.h"
#include "timeline.h"

/* ---- the session ------------------------------------------------------------ */

static const int handled_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
#define NSIGS ((int)(sizeof(handled_sigs) / sizeof(handled_sigs[0])))
#define DRAIN_CHUNK 256u
#define DRAIN_MAX 2048u

struct sess {
	const struct fl_run_opts *o;
	struct fl_bpf *bpf;
	struct fl_profile prof;
	bool has_prof;
	uint64_t seed;
	const char *seed_src;
	struct fl_user user;
	char shim[PATH_MAX];
	struct fl_block h;
	struct fl_timeline tl;
	struct fl_ticker tk;
	bool has_tk;
	struct fl_jdrain jd;
	struct fl_snap snap; /* stale-read snapshots */
	struct fl_loop *loop;
	int sfd;
	sigset_t oldmask;
	bool masked;
	struct sigaction oldact[_NSIG];
	long long tick_timer;
	bool tick_in_beat;  /* ticks stepped in the heartbeat's wake-ups */
	bool tick_over;     /* the scenario has ended */
	pid_t pid;
	int pidfd;
	bool child_done;
	int wstatus;
	bool ended;         /* faults over (abort, end of drill) */
	char why[64];       /* why the drill ended early */
	int exit_code;
	struct fl_obs *obs;  /* events, market socket, budgets, metrics (observe.h) */
	struct fl_layer layer; /* shim, seccomp supervisor or both (mode.h) */
	bool pin_forced;    /* --pin-force let another profile's timeline in */
	struct fl_reach reach; /* did the faults reach the command (run only) */
};

static void sess_init(struct sess *s, const struct fl_run_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->sfd = -1;
	s->pid = -1;
	s->pidfd = -1;
	fl_block_init(&s->h);
	for (int i = 0; i < _NSIG; i++)
		s->oldact[i].sa_handler = SIG_ERR; /* "not saved" */
}

static bool is_run(const struct sess *s)
{
	return s->o->cmd != NULL;
}

static int64_t run_ns(const struct sess *s, int64_t now)
{
	return now - s->h.ctl->hdr.epoch_mono_ns;
}

/* --pin: the profile's op rules become the recorded faults, in order. */
static int load_pin(struct sess *s)
{
	struct fl_pin_opts po = { s->o->profile, s->o->pin_force };
	struct fl_pin_result res;
	char err[1024] = "";
	int rc;

	if (!s->has_prof) {
		fprintf(stderr, "faultline: --pin %s: give the profile it was "
			"recorded with (-p or -s)\n", s->o->pin);
		return -EINVAL;
	}
	rc = fl_pin_apply(&s->prof, s->o->pin, &po, &res, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "faultline: --pin %s\n", err);
		return rc;
	}
	s->pin_forced = res.forced;
	if (res.forced)
		fprintf(stderr, "faultline: --pin %s: recorded under another "
			"profile; pinned anyway (--pin-force)\n", s->o->pin);
	if (res.has_seed && !s->o->has_seed) {
		s->seed = res.seed;
		s->seed_src = "pin";
	}
	if (!s->o->quiet)
		fprintf(stderr, "faultline: pinned %u recorded faults from %s into "
			"%u rules\n", res.faults, s->o->pin, s->prof.nrules);
	return 0;
}

static int load_profile(struct sess *s)
{
	const struct fl_run_opts *o = s->o;
	size_t len = 65536;
	char *err;
	int rc = 0;

	if (o->profile) {
		if (!(err = calloc(1, len)))
			return -ENOMEM;
		rc = fl_profile_load(o->profile, &s->prof, err, len);
		if (rc < 0 && err[0])
			fputs(err, stderr);
		else if (rc < 0)
			fprintf(stderr, "faultline: %s: %s\n", o->profile, strerror(-rc));
		free(err);
		if (rc < 0)
			return rc;
		s->has_prof = true;
		if (o->scenario && !s->prof.market) {
			fprintf(stderr, "faultline: %s: not a scenario (no \"market\"); "
				"use -p for a profile\n", o->profile);
			return -EINVAL;
		}
	}
	s->seed = o->has_seed ? o->seed : s->prof.has_seed ? s->prof.seed : 1;
	s->seed_src = o->has_seed ? "cli" : s->prof.has_seed ? "profile" : "default";
	return o->pin ? load_pin(s) : 0;
}

static int prepare(struct sess *s)
{
	const struct fl_run_opts *o = s->o;
	int err;

	if (o->user && (err = fl_user_lookup(o->user, &s->user)) < 0) {
		fprintf(stderr, "faultline: --user %s: %s\n", o->user,
			err == -ENOENT ? "no such user" : strerror(-err));
		return err;
	}
	if (is_run(s) && (err = fl_find_shim(s->shim, sizeof(s->shim))) < 0) {
		fprintf(stderr, "faultline: cannot find libfaultline.so (%s); "
			"set FAULTLINE_SHIM\n", strerror(-err));
		return err;
	}
	if (is_run(s) && (err = fl_reach_prepare(&s->reach, o->cmd,
						 s->has_prof && s->prof.nrules > 0,
						 &s->user, s->shim, sizeof(s->shim))) < 0)
		return err;
	return 0;
}

/* After every check that can refuse the run: a refused run never touches
 * the -o file (it may be the live timeline of the run that refused it). */
static int open_timeline(struct sess *s)
{
	const struct fl_run_opts *o = s->o;
	int err;

	if (o->timeline && (err = fl_timeline_open(&s->tl, o->timeline,
						   s->has_prof ? &s->prof : NULL)) < 0) {
		fprintf(stderr, "faultline: %s: %s\n", o->timeline, strerror(-err));
		return err;
	}
	if (!o->timeline)
		fl_timeline_open(&s->tl, NULL, s->has_prof ? &s->prof : NULL);
	return 0;
}

static int make_block(struct sess *s)
{
	struct fl_block_owner ow = { geteuid(), getegid(), false };
	int err;

	if (s->user.set)
		ow = (struct fl_block_owner){ s->user.uid, s->user.gid, true };
	err = fl_block_create(s->o->ctl, &ow, s->seed, &s->h);
	if (err < 0)
		fprintf(stderr, "faultline: cannot create the control block%s%s: %s\n",
			s->o->ctl ? " " : "", s->o->ctl ? s->o->ctl : "", strerror(-err));
	if (err < 0)
		return err;
	if (s->has_prof)
		fl_profile_publish(&s->prof, s->h.ctl);
	struct fl_snap_owner so = { s->user.set, s->user.uid, s->user.gid };
	if ((err = fl_snap_init(&s->snap, s->h.ctl, &so)) < 0) {
		fprintf(stderr, "faultline: cannot make the snapshot directory for "
			"stale reads: %s\n", strerror(-err));
		return err;
	}
	fl_snap_poll(&s->snap, s->h.ctl, 0);
	if (s->prof.market) {
		err = fl_ticker_init(&s->tk, &s->prof, s->h.ctl, s->seed, s->o->speed,
				     s->o->ticks_every_ns);
		if (err < 0) {
			fprintf(stderr, "faultline: %s: cannot start the market model: %s\n",
				s->o->profile, strerror(-err));
			return err;
		}
		s->has_tk = true;
	}
	err = fl_block_activate(&s->h);
	if (err == -EEXIST)
		fprintf(stderr, "faultline: %s: in use by a live controller, or "
			"not a faultline control socket\n", s->o->ctl ? s->o->ctl : "control socket");
	else if (err < 0)
		fprintf(stderr, "faultline: %s: %s\n", s->h.path[0] ? s->h.path :
			(s->o->ctl ? s->o->ctl : "control block"), strerror(-err));
	return err;
}

/* ---- handlers ------------------------------------------------------------ */

static void on_jrec(const struct fl_jrec *r, void *arg)
{
	struct sess *s = arg;

	fl_timeline_jrec(&s->tl, r);
	fl_obs_jrec(s->obs, r);
}

/* Drain in chunks, beating between them: a burst of records must not make
 * the heartbeat look dead to the shim. */
static void drain_journal(struct sess *s, int64_t now, unsigned max)
{
	unsigned n = 0, got;

	do {
		got = fl_block_drain(s->h.ctl, &s->jd, now, DRAIN_CHUNK,
				   on_jrec, s);
		n += got;
		if (got == DRAIN_CHUNK) {
			now = fl_now_mono();
			fl_block_beat(s->h.ctl, now);
		}
	} while (got == DRAIN_CHUNK && n < max);
}

/* Faults stop now: state, wake, record. */
static void end_faults(struct sess *s, enum fl_state st, const char *type,
		    const char *why)
{
	if (s->ended)
		return;
	s->ended = true;
	snprintf(s->why, sizeof(s->why), "%s", why);
	fl_block_set_state(s->h.ctl, st);
	fl_layer_release(&s->layer);
	fl_timeline_event(&s->tl, type, run_ns(s, fl_now_mono()), why);
	if (s->tick_timer > 0)
		fl_loop_timer_del(s->loop, s->tick_timer);
	s->tick_timer = 0;
}

/* A scenario's failure budget: once its faults are spent, the drill stops
 * injecting (the program keeps running), like an SLO error budget. */
static bool over_budget(const struct sess *s)
{
	uint64_t hits = 0;

	if (!s->has_prof || s->prof.budget_max_faults < 0)
		return false;
	for (unsigned i = 0; i < s->h.ctl->hdr.nrules && i < FL_MAX_RULES; i++)
		hits += atomic_load(&s->h.ctl->hits[i]);
	return (double)hits >= s->prof.budget_max_faults;
}

static void tick_work(struct sess *s, struct fl_loop *l);

static void on_beat(struct fl_loop *l, long long id, void *arg)
{
	struct sess *s = arg;
	int64_t now = fl_loop_now(l);

	fl_block_beat(s->h.ctl, now);
	fl_snap_poll(&s->snap, s->h.ctl, run_ns(s, now));
	fl_bpf_poll(s->bpf, &s->tl, s->h.ctl, run_ns(s, now));
	if (!s->ended && over_budget(s)) {
		end_faults(s, FL_STATE_DONE, "end", "failure budget (budgets.max_faults) spent");
		fl_obs_faults_spent(s->obs, run_ns(s, now));
	}
	if (!s->ended && fl_block_state(s->h.ctl) != FL_STATE_ACTIVE) {
		/* `faultline abort` (or someone with the file) ended it. */
		end_faults(s, FL_STATE_ABORTED, "abort", "faultline abort");
		if (!is_run(s))
			fl_loop_stop(l);
	}
	drain_journal(s, now, DRAIN_MAX);
	if (is_run(s))
		fl_reach_poll(&s->reach, s->tl.attaches, now, stderr);
	if (s->tick_in_beat)
		tick_work(s, l);
	fl_obs_beat(s->obs, run_ns(s, now));
}

/* Step every tick that is due. */
static void tick_work(struct sess *s, struct fl_loop *l)
{
	bool over;

	if (s->ended || s->tick_over)
		return;
	over = fl_ticker_advance(&s->tk, run_ns(s, fl_loop_now(l)), &s->tl);
	fl_bpf_intensities(s->bpf, s->tk.scaled, s->tk.inten, s->tk.nscaled);
	fl_obs_tick(s->obs, run_ns(s, fl_loop_now(l)));
	if (!over)
		return;
	/* Scenario over. A drill ends with it; a command keeps running with
	 * the last intensities. */
	s->tick_over = true;
	if (s->tick_timer > 0)
		fl_loop_timer_del(l, s->tick_timer);
	s->tick_timer = 0;
	if (!is_run(s)) {
		end_faults(s, FL_STATE_DONE, "end", "scenario end");
		fl_loop_stop(l);
	}
}

static void on_tick(struct fl_loop *l, long long id, void *arg)
{
	tick_work(arg, l);
}

static void on_duration(struct fl_loop *l, long long id, void *arg)
{
	struct sess *s = arg;

	end_faults(s, FL_STATE_DONE, "end", "duration");
	if (!is_run(s))
		fl_loop_stop(l);
}

static void forward_signal(struct sess *s, const struct signalfd_siginfo *si)
{
	/* A terminal's ^C reached the whole process group (SI_KERNEL), the
	 * command included: sending it again would deliver it twice. */
	if (s->pid > 0 && !s->child_done && si->ssi_code != SI_KERNEL)
		kill(s->pid, (int)si->ssi_signo);
}

static void on_signal(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct sess *s = arg;
	struct signalfd_siginfo si;
	char why[32];

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGPIPE)
			continue;
		snprintf(why, sizeof(why), "SIG%s", sigabbrev_np((int)si.ssi_signo));
		end_faults(s, FL_STATE_ABORTED, "abort", why);
		if (is_run(s))
			forward_signal(s, &si);
		else
			fl_loop_stop(l);
	}
}

static void on_child(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct sess *s = arg;
	int st;

	if (waitpid(s->pid, &st, WNOHANG) != s->pid)
		return;
	s->child_done = true;
	s->wstatus = st;
	fl_loop_stop(l);
}

/* ---- start and end ----------------------------------------------------------- */

static int setup_signals(struct sess *s)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < NSIGS; i++) {
		int sig = handled_sigs[i];

		sigaddset(&set, sig);
		sigaction(sig, NULL, &s->oldact[sig]);
		/* A background job starts with SIGINT ignored; we still want to
		 * hear it (it is blocked and read from the signalfd), and the
		 * command gets the original disposition back. */
		if (s->oldact[sig].sa_handler == SIG_IGN)
			sigaction(sig, &dfl, NULL);
	}
	if (sigprocmask(SIG_BLOCK, &set, &s->oldmask) < 0)
		return -errno;
	s->masked = true;
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sfd < 0)
		return -errno;
	return (int)fl_loop_fd_add(s->loop, s->sfd, on_signal, s);
}

static int spawn_cmd(struct sess *s)
{
	struct fl_spawn sp = {
		.argv = s->o->cmd, .user = &s->user,
		.mask = &s->oldmask, .old_act = s->oldact, .nold_act = _NSIG,
		.cgroup_procs = fl_bpf_cgroup_procs(s->bpf),
	};
	bool preload = fl_layer_spawn(&s->layer, &sp);
	char **env = fl_env_build(preload ? s->shim : NULL, s->h.path);
	enum fl_spawn_stage stage;
	int err;

	if (!env || fl_obs_env(s->obs, &env) < 0) {
		fl_env__free(env);
		return -ENOMEM;
	}
	sp.envp = env; /* fl_obs_env made a new array */
	err = fl_spawn(&sp, &s->pid, &stage);
	fl_env__free(env);
	if (err < 0) {
		fprintf(stderr, "faultline: %s: %s%s\n", s->o->cmd[0],
			stage == FL_SPAWN_SETUP ? "cannot set it up (time namespace, "
				"seccomp filter, user switch): " :
			stage == FL_SPAWN_CGROUP ? "cannot join its cgroup: " : "",
			strerror(-err));
		s->exit_code = fl_spawn_exit_code(stage, err);
		return err;
	}
	fl_reach_spawned(&s->reach, s->pid, fl_now_mono());
	if ((err = fl_layer_start(&s->layer, s->loop, s->h.ctl)) < 0) {
		fprintf(stderr, "faultline: seccomp supervisor: %s\n", strerror(-err));
		return err;
	}
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (s->pidfd < 0)
		return -errno;
	return (int)fl_loop_fd_add(s->loop, s->pidfd, on_child, s);
}

static void write_start(struct sess *s)
{
	struct fl_tl_start st = {
		.mode = is_run(s) ? "run" : "drill",
		.seed = s->seed,
		.seed_source = s->seed_src,
		.profile = s->o->profile,
		.ctl = s->h.path,
		.cmd = s->o->cmd,
		.pid = s->pid,
		.epoch_real_ns = s->h.ctl->hdr.epoch_real_ns,
		.speed = s->o->speed,
		.layer = is_run(s) ? fl_mode_name(s->layer.mode) :
			 s->layer.natt ? "seccomp" : NULL,
		.layer_reason = is_run(s) || s->layer.natt ? s->layer.why : NULL,
		.pin = s->o->pin,
		.pin_force = s->o->pin_force,
		.pin_forced = s->pin_forced,
	};

	fl_timeline_start(&s->tl, &st);
	fl_bpf_start(s->bpf, &s->tl);
	if (s->has_tk)
		fl_ticker_record(&s->tk, &s->tl);
	fl_obs_started(s->obs);
}

static int open_obs(struct sess *s)
{
	struct fl_obs_opts oo = {
		.ctl_path = s->h.path, .events_path = s->o->events,
		.metrics_addr = s->o->metrics, .market = s->has_tk,
		.status = isatty(2), .quiet = s->o->quiet, .chown = s->user.set,
		.uid = s->user.uid, .gid = s->user.gid, .speed = s->o->speed,
		.p = s->has_prof ? &s->prof : NULL, .tl = &s->tl, .ctl = s->h.ctl,
		.tk = s->has_tk ? &s->tk : NULL,
	};
	int err = fl_obs_open(&oo, &s->obs);

	return err < 0 ? err : fl_obs_add_to_loop(s->obs, s->loop);
}

static int setup_timers(struct sess *s)
{
	long long id;

	/* Beat a little more often than the ABI's bound, so a late wake-up
	 * still keeps it. */
	id = fl_loop_timer_add(s->loop, 0, FL_HEARTBEAT_NS * 4 / 5, on_beat, s);
	if (id < 0)
		return (int)id;
	/* Ticks faster than the heartbeat are stepped in its wake-ups, in
	 * batches: a wake-up costs more than a tick (a bare 1 kHz io_uring
	 * timer alone is ~2 % of a core here), and intensities then reach the
	 * shim at most one beat late. */
	s->tick_in_beat = s->has_tk &&
			  fl_ticker_period_ns(&s->tk) < FL_HEARTBEAT_NS * 4 / 5;
	if (s->has_tk && !s->tick_in_beat) {
		id = fl_loop_timer_add(s->loop, fl_ticker_period_ns(&s->tk),
				       fl_ticker_period_ns(&s->tk), on_tick, s);
		if (id < 0)
			return (int)id;
		s->tick_timer = id;
	}
	if (s->o->duration_s >= 0) {
		id = fl_loop_timer_add(s->loop, (int64_t)(s->o->duration_s * 1e9), 0,
				       on_duration, s);
		if (id < 0)
			return (int)id;
	}
	return 0;
}

/* The eBPF layer (bpf.h): kernel records per tick, or per second. */
static int open_bpf(struct sess *s)
{
	int64_t per = s->has_tk ? fl_ticker_period_ns(&s->tk) : 0;
	struct fl_bpf_opts bo = {
		.p = s->has_prof ? &s->prof : NULL, .run = is_run(s),
		.cgroup = s->o->cgroup, .off = s->o->no_bpf, .quiet = s->o->quiet,
		.period_ns = per > 0 && per < 100000000 ? 100000000 : per,
	};

	int err = fl_bpf_open(&s->bpf, &bo);

	/* the kernel rules start at the scenario's first intensities */
	if (err >= 0 && s->has_tk)
		fl_bpf_intensities(s->bpf, s->tk.scaled, s->tk.inten, s->tk.nscaled);
	return err;
}

/* Which layer reaches CMD (mode.h); a rule it cannot serve stops here,
 * before CMD starts. */
static int layer_setup(struct sess *s)
{
	char err[1024];
	int r;

	fl_layer_choose(&s->layer, (enum fl_mode)s->o->mode, s->o->cmd,
			s->user.set ? s->user.uid : geteuid(),
			s->user.set ? s->user.gid : getegid(), s->o->verbose);
	r = fl_layer_prepare(&s->layer, s->h.ctl, s->o->timens, s->o->verbose, err,
			     sizeof(err));
	if (r < 0)
		fprintf(stderr, "faultline: %s: %s\n", s->o->profile ? s->o->profile
			: "profile", err);
	return r;
}

/* A drill: the services `faultline exec` started on our ctl path. */
static int exec_attach(struct sess *s)
{
	char err[1024];
	int r = fl_layer_attach_exec(&s->layer, s->h.path, s->h.ctl, s->o->verbose,
				     err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "faultline: %s: %s\n", s->o->profile ? s->o->profile
			: "profile", err);
	return r;
}

static int start_cmd(struct sess *s)
{
	int err = fl_loop_new(&s->loop);

	if (err < 0) {
		fprintf(stderr, "faultline: io_uring: %s\n", strerror(-err));
		return err;
	}
	if ((err = setup_signals(s)) < 0) {
		fprintf(stderr, "faultline: signals: %s\n", strerror(-err));
		return err;
	}
	if ((err = fl_block_serve(&s->h, s->loop)) < 0) {
		fprintf(stderr, "faultline: %s: %s\n", s->h.path, strerror(-err));
		return err;
	}
	if ((err = open_obs(s)) < 0)
		return err;
	if (!is_run(s) && (err = fl_layer_start(&s->layer, s->loop, s->h.ctl)) < 0) {
		fprintf(stderr, "faultline: seccomp supervisor: %s\n", strerror(-err));
		return err;
	}
	if (is_run(s) && (err = spawn_cmd(s)) < 0) {
		if (!s->exit_code)
			fprintf(stderr, "faultline: cannot watch the command: %s\n",
				strerror(-err));
		write_start(s);
		fl_timeline_event(&s->tl, "error", 0, strerror(-err));
		return err;
	}
	write_start(s);
	if ((err = setup_timers(s)) < 0)
		fprintf(stderr, "faultline: timers: %s\n", strerror(-err));
	return err;
}

static void cmd_tail(const struct sess *s, char *buf, size_t len)
{
	const char *cmd = s->o->cmd ? s->o->cmd[0] : NULL;
	int st = s->wstatus, n = 0;

	if (!cmd) {
		snprintf(buf, len, "; drill over (%s)", s->ended ? s->why : "done");
		return;
	}
	if (s->ended)
		n = snprintf(buf, len, "; faults stopped at %s", s->why);
	buf += n;
	len -= (size_t)n;
	if (!s->child_done)
		snprintf(buf, len, "; %s did not run", cmd);
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "; %s killed by SIG%s", cmd,
			 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	else
		snprintf(buf, len, "; %s exited %d", cmd, fl_wait_exit_code(st));
}

static void finish(struct sess *s)
{
	struct fl_tl_summary sum;
	char tail[PATH_MAX + 64];
	int err;

	if (!s->h.ctl)
		return;
	drain_journal(s, fl_now_mono(), 2 * FL_JOURNAL_SLOTS);
	fl_block_set_state(s->h.ctl, FL_STATE_DONE);
	fl_bpf_final(s->bpf, &s->tl, s->h.ctl, run_ns(s, fl_now_mono()));
	if (s->child_done) {
		fl_timeline_exit(&s->tl, WIFEXITED(s->wstatus) ? WEXITSTATUS(s->wstatus) : -1,
				 WIFSIGNALED(s->wstatus) ? WTERMSIG(s->wstatus) : 0);
		s->exit_code = fl_wait_exit_code(s->wstatus);
	} else if (is_run(s) && s->exit_code) {
		fl_timeline_exit(&s->tl, s->exit_code, 0);
	}
	fl_timeline_summarize(&s->tl, s->h.ctl, s->has_prof ? s->prof.nrules : 0, &sum);
	fl_obs_finish(s->obs, run_ns(s, fl_now_mono()), &sum);
	sum.journal_malformed = s->jd.malformed;
	sum.journal_resync = s->jd.resync;
	sum.journal_skipped = s->jd.skipped;
	sum.ctl_refused = s->h.refused;
	sum.rule_extra = fl_bpf_summary_rule;
	sum.rule_extra_arg = s->bpf;
	if (is_run(s) && s->child_done)
		sum.unreached = fl_reach_end(&s->reach, s->tl.attaches, stderr);
	fl_timeline_summary(&s->tl, &sum);
	cmd_tail(s, tail, sizeof(tail));
	/* A command that never ran has had its error said already. */
	if (!s->o->timeline && !s->o->quiet && (s->child_done || !is_run(s)))
		fl_timeline_summary_line(stderr, &sum, tail);
	if (!s->o->quiet && (s->child_done || !is_run(s)))
		fl_timeline_unfired_line(stderr, &sum, s->has_prof ? &s->prof : NULL);
	err = fl_timeline_close(&s->tl);
	if (err < 0)
		fprintf(stderr, "faultline: %s: %s\n", s->o->timeline, strerror(-err));
}

static void sess_free(struct sess *s)
{
	if (s->pid > 0 && !s->child_done)
		waitpid(s->pid, NULL, WNOHANG);
	fl_obs_close(s->obs);
	fl_bpf_close(s->bpf);
	fl_layer_fini(&s->layer);
	fl_block_close(&s->h);
	fl_reach_free(&s->reach);
	fl_snap_free(&s->snap);
	fl_timeline_close(&s->tl);
	if (s->has_tk)
		fl_ticker__free(&s->tk);
	fl_loop__free(s->loop);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->masked)
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	for (int i = 0; i < NSIGS; i++)
		if (s->oldact[handled_sigs[i]].sa_handler != SIG_ERR)
			sigaction(handled_sigs[i], &s->oldact[handled_sigs[i]], NULL);
	fl_profile__free(&s->prof);
}

int fl_run_main(const struct fl_run_opts *o)
{
	struct sess *s = malloc(sizeof(*s));
	int rc, err;

	if (!s) {
		fprintf(stderr, "faultline: out of memory\n");
		return FL_EXIT_FAIL;
	}
	sess_init(s, o);
	err = load_profile(s);
	if (!err)
		err = prepare(s);
	if (!err)
		err = make_block(s);
	if (!err && is_run(s))
		err = layer_setup(s);
	if (!err && !is_run(s))
		err = exec_attach(s);
	/* "no process attached" means something only when the shim is the layer */
	s->reach.preload = s->layer.mode == FL_MODE_PRELOAD;
	if (!err)
		err = open_timeline(s);
	if (!err)
		err = open_bpf(s);
	if (!err)
		err = start_cmd(s);
	if (!err && (err = fl_loop_run(s->loop)) < 0)
		fprintf(stderr, "faultline: event loop: %s\n", strerror(-err));
	finish(s);
	rc = s->exit_code ? s->exit_code : err < 0 ? FL_EXIT_FAIL : 0;
	if (!is_run(s) && err == 0)
		rc = 0;
	rc = fl_obs_verdict(s->obs, rc);
	sess_free(s);
	free(s);
	return rc;
}
