/*
 * timeline.c — JSON Lines writer for the run's timeline (see timeline.h),
 * and the SHA-256 that fingerprints the profile in the start record.
 *
 * Divisions: JSON output helpers; records; summary; SHA-256.
 *
 * Invariants
 *  - Every line is one complete JSON object: strings are escaped and made
 *    valid UTF-8, non-finite numbers are written as null.
 *  - Times are printed from integers ("%lld.%03lld"), not through doubles, so
 *    the same run gives the same bytes.
 *  - Journal records come from the SUT's side and are not trusted: indices
 *    are range-checked before they name anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budgets.h"
#include "events.h"
#include "market/market.h" /* FL_VERSION */
#include "profile.h"
#include "timeline.h"

/* ---- JSON output --------------------------------------------------------- */

int fl_utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf5)
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void fl_json_put_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		int n;

		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = fl_utf8_len(s)) > 0) {
			fwrite(s, 1, (size_t)n, f);
			s += n;
		} else {
			fputs("\\ufffd", f);
			s++;
		}
	}
	fputc('"', f);
}

static void put_str_or_null(FILE *f, const char *s)
{
	if (s)
		fl_json_put_str(f, s);
	else
		fputs("null", f);
}

/* ns as milliseconds with 3 decimals, exactly. */
static void put_ms(FILE *f, int64_t ns)
{
	int64_t us = ns / 1000;

	fprintf(f, "%s%lld.%03lld", us < 0 ? "-" : "", llabs(us) / 1000,
		llabs(us) % 1000);
}

static void put_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.9g", v);
	else
		fputs("null", f);
}

static void line_end(struct fl_timeline *tl)
{
	fputs("}\n", tl->f);
	if (ferror(tl->f) && !tl->err)
		tl->err = -EIO;
}

/* ---- records ------------------------------------------------------------- */

int fl_timeline_open(struct fl_timeline *tl, const char *path,
		     const struct fl_profile *p)
{
	int fd;

	memset(tl, 0, sizeof(*tl));
	tl->p = p;
	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* An existing file keeps its mode through O_TRUNC: the timeline names
	 * the SUT's peers and paths, so it is the controller's alone. */
	if (fchmod(fd, 0600) < 0 && errno != EPERM) {
		int err = -errno;

		close(fd);
		return err;
	}
	tl->f = fdopen(fd, "w");
	if (!tl->f) {
		int err = -errno;

		close(fd);
		return err;
	}
	setvbuf(tl->f, NULL, _IOLBF, 0);
	return 0;
}

int fl_timeline_close(struct fl_timeline *tl)
{
	int err = tl->err;

	if (tl->f && fclose(tl->f) != 0 && !err)
		err = -errno;
	tl->f = NULL;
	return err;
}

static void put_sha(FILE *f, const char *profile)
{
	char hex[65];

	if (profile && fl_sha256_file(profile, hex) == 0)
		fprintf(f, "\"%s\"", hex);
	else
		fputs("null", f);
}

void fl_timeline_start(struct fl_timeline *tl, const struct fl_tl_start *s)
{
	FILE *f = tl->f;

	if (!f)
		return;
	fprintf(f, "{\"type\":\"start\",\"version\":\"%s\",\"abi\":%u,\"mode\":",
		FL_VERSION, FL_ABI_VERSION);
	put_str_or_null(f, s->mode);
	fprintf(f, ",\"seed\":%" PRIu64 ",\"seed_source\":", s->seed);
	put_str_or_null(f, s->seed_source);
	fputs(",\"profile\":", f);
	put_str_or_null(f, s->profile);
	fputs(",\"profile_sha256\":", f);
	put_sha(f, s->profile);
	fputs(",\"cmd\":", f);
	if (s->cmd) {
		fputc('[', f);
		for (char *const *a = s->cmd; *a; a++) {
			fputs(a == s->cmd ? "" : ",", f);
			fl_json_put_str(f, *a);
		}
		fputc(']', f);
	} else {
		fputs("null", f);
	}
	fputs(s->pid > 0 ? ",\"pid\":" : ",\"pid\":null", f);
	if (s->pid > 0)
		fprintf(f, "%d", s->pid);
	fputs(",\"ctl\":", f);
	put_str_or_null(f, s->ctl);
	fputs(",\"speed\":", f);
	put_num(f, s->speed);
	fprintf(f, ",\"epoch_real_ns\":%lld", (long long)s->epoch_real_ns);
	if (s->layer) {
		fputs(",\"layer\":", f);
		fl_json_put_str(f, s->layer);
		fputs(",\"layer_reason\":", f);
		put_str_or_null(f, s->layer_reason);
	}
	if (s->pin) {
		fputs(",\"pin\":", f);
		fl_json_put_str(f, s->pin);
		fprintf(f, ",\"pin_force\":%s,\"pin_forced\":%s",
			s->pin_force ? "true" : "false", s->pin_forced ? "true" : "false");
	}
	line_end(tl);
}

static const char *jkind_name(int kind)
{
	switch (kind) {
	case FL_J_FAULT: return "fault";
	case FL_J_GATE_OPEN: return "gate_open";
	case FL_J_GATE_TIMEOUT: return "gate_timeout";
	case FL_J_ATTACH: return "attach";
	case FL_J_OUTCOME: return "outcome";
	default: return "unknown";
	}
}

static void count_rec(struct fl_timeline *tl, const struct fl_jrec *r)
{
	if (r->kind == FL_J_FAULT) {
		tl->faults++;
		if (r->rule < FL_MAX_RULES)
			tl->per_rule[r->rule]++;
	} else if (r->kind == FL_J_ATTACH || r->kind == FL_J_OUTCOME ||
		   r->kind == FL_J_REFUSED) {
		tl->attaches += r->kind == FL_J_ATTACH;
	} else {
		tl->gates++;
	}
}

static const char *target_name(const struct fl_timeline *tl, unsigned t)
{
	if (!tl->p || t == 0 || t >= tl->p->ntargets || t >= FL_MAX_TARGETS)
		return NULL;
	return tl->p->targets[t].name;
}

static void put_errno(FILE *f, int err)
{
	const char *name = fl_errno_name(err);

	if (!name && err > 0)
		name = strerrorname_np(err); /* EINPROGRESS and others no rule names */
	if (err == 0)
		fputs("null", f);
	else if (name)
		fprintf(f, "\"%s\"", name);
	else
		fprintf(f, "%d", err); /* not one we name: keep the number */
}

void fl_timeline_jrec(struct fl_timeline *tl, const struct fl_jrec *r)
{
	FILE *f = tl->f;

	count_rec(tl, r);
	if (!f)
		return;
	if (r->kind == FL_J_ATTACH) {
		fputs("{\"type\":\"attach\",\"t_ms\":", f);
		put_ms(f, r->t_ns);
		fprintf(f, ",\"pid\":%d,\"tid\":%d", (int)r->pid, (int)r->tid);
		line_end(tl);
		return;
	}
	if (r->kind == FL_J_REFUSED) {
		/* a process that refused the plan and passes through */
		static const char *const why[] = { "?", "header", "stale_ns", "target",
						   "rule", "errno", "size", "string" };
		unsigned w = r->err > 0 && r->err < 8 ? (unsigned)r->err : 0;
		fputs("{\"type\":\"refused\",\"t_ms\":", f);
		put_ms(f, r->t_ns);
		fprintf(f, ",\"pid\":%d,\"tid\":%d,\"why\":\"%s\"", (int)r->pid,
			(int)r->tid, why[w]);
		line_end(tl);
		return;
	}
	if (r->kind == FL_J_OUTCOME) {
		/* the end of a fault whose record was written when it began */
		fputs("{\"type\":\"outcome\",\"t_ms\":", f);
		put_ms(f, r->t_ns);
		fprintf(f, ",\"pid\":%d,\"tid\":%d,\"rule\":%u,\"nth\":%" PRIu64
			",\"waited_ms\":", (int)r->pid, (int)r->tid, (unsigned)r->rule, r->nth);
		put_ms(f, r->value_ns);
		fprintf(f, ",\"ret\":%lld,\"errno\":", (long long)r->ret);
		put_errno(f, r->err);
		line_end(tl);
		return;
	}
	fputs("{\"type\":\"fault\",\"t_ms\":", f);
	put_ms(f, r->t_ns);
	fprintf(f, ",\"pid\":%d,\"tid\":%d,\"rule\":%u,\"target\":", (int)r->pid,
		(int)r->tid, (unsigned)r->rule);
	put_str_or_null(f, target_name(tl, r->target));
	fprintf(f, ",\"op\":\"%s\",\"nth\":%" PRIu64 ",\"fault\":\"%s\",\"value_ms\":",
		fl_op_name(r->op), r->nth, fl_fault_name(r->fault));
	put_ms(f, r->value_ns);
	fprintf(f, ",\"ret\":%lld,\"errno\":", (long long)r->ret);
	put_errno(f, r->err);
	fprintf(f, ",\"kind\":\"%s\"", jkind_name(r->kind));
	if (tl->p && tl->p->market) /* the market tick whose intensities decided it */
		fprintf(f, ",\"tick\":%u", (unsigned)r->tick);
	line_end(tl);
}

void fl_timeline_tick(struct fl_timeline *tl, uint64_t tick, int64_t t_ns,
		      int64_t at_ns, const char *const *names, const double *vals, int nsig,
		      const int *rules, const double *intens, int nrules)
{
	FILE *f = tl->f;

	tl->ticks++;
	if (!f)
		return;
	fprintf(f, "{\"type\":\"tick\",\"tick\":%" PRIu64 ",\"t_ms\":", tick);
	put_ms(f, t_ns);
	if (at_ns >= 0) {
		fputs(",\"at_ms\":", f);
		put_ms(f, at_ns);
	}
	fputs(",\"signals\":{", f);
	for (int i = 0; i < nsig; i++) {
		fputs(i ? "," : "", f);
		fl_json_put_str(f, names[i]);
		fputc(':', f);
		put_num(f, vals[i]);
	}
	fputs("},\"intensity\":{", f);
	for (int i = 0; i < nrules; i++) {
		fprintf(f, "%s\"%d\":", i ? "," : "", rules[i]);
		put_num(f, intens[i]);
	}
	fputc('}', f);
	line_end(tl);
}

void fl_timeline_event(struct fl_timeline *tl, const char *type, int64_t t_ns,
		       const char *why)
{
	if (!tl->f)
		return;
	fputs("{\"type\":", tl->f);
	fl_json_put_str(tl->f, type);
	fputs(",\"t_ms\":", tl->f);
	put_ms(tl->f, t_ns);
	fputs(",\"reason\":", tl->f);
	put_str_or_null(tl->f, why);
	line_end(tl);
}

void fl_timeline_kernel(struct fl_timeline *tl, int64_t t_ns,
			void (*body)(FILE *f, void *arg), void *arg)
{
	if (!tl->f)
		return;
	fputs("{\"type\":\"kernel\",\"t_ms\":", tl->f);
	put_ms(tl->f, t_ns);
	body(tl->f, arg);
	line_end(tl);
}

void fl_timeline_exit(struct fl_timeline *tl, int status, int sig)
{
	if (!tl->f)
		return;
	if (sig > 0)
		fprintf(tl->f, "{\"type\":\"exit\",\"status\":%d,\"signal\":%d",
			128 + sig, sig);
	else
		fprintf(tl->f, "{\"type\":\"exit\",\"status\":%d,\"signal\":null",
			status);
	line_end(tl);
}

void fl_timeline_user(struct fl_timeline *tl, int64_t t_ns, int64_t tick,
		      const struct fl_event *e)
{
	FILE *f = tl->f;

	if (!f)
		return;
	fprintf(f, "{\"type\":\"%s\",\"t_ms\":", fl_event_type_name(e->type));
	put_ms(f, t_ns);
	if (tick >= 0)
		fprintf(f, ",\"tick\":%lld", (long long)tick);
	if (e->type != FL_EV_MARK) {
		fputs(",\"name\":", f);
		fl_json_put_str(f, e->name);
	}
	if (e->type == FL_EV_PROBE || e->type == FL_EV_INVARIANT)
		fprintf(f, ",\"ok\":%s", e->ok ? "true" : "false");
	if (e->type == FL_EV_PROBE && isfinite(e->latency_ms)) {
		fputs(",\"latency_ms\":", f);
		put_num(f, e->latency_ms);
	}
	if (e->type == FL_EV_METRIC) {
		fputs(",\"value\":", f);
		put_num(f, e->value);
	}
	if (e->type == FL_EV_MARK || (e->type == FL_EV_INVARIANT && e->text[0])) {
		fputs(e->type == FL_EV_MARK ? ",\"text\":" : ",\"detail\":", f);
		fl_json_put_str(f, e->text);
	}
	if (e->src[0]) {
		fputs(",\"src\":", f);
		fl_json_put_str(f, e->src);
	}
	line_end(tl);
}

static void put_limit(FILE *f, bool *first, const char *key, double v)
{
	if (v < 0)
		return;
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	put_num(f, v);
	*first = false;
}

void fl_timeline_budgets(struct fl_timeline *tl, const struct fl_budget_limits *l,
			 double shock0_ms, double shock1_ms)
{
	FILE *f = tl->f;
	bool first = true;

	if (!f)
		return;
	fputs("{\"type\":\"budgets\",\"limits\":{", f);
	put_limit(f, &first, "probe_p99_ms", l->probe_p99_ms);
	put_limit(f, &first, "probe_error_rate", l->probe_error_rate);
	put_limit(f, &first, "invariant_violations", l->invariant_violations);
	put_limit(f, &first, "time_to_stable_s", l->time_to_stable_s);
	put_limit(f, &first, "max_faults", l->max_faults);
	if (l->nmetric) {
		fprintf(f, "%s\"metric_max\":{", first ? "" : ",");
		for (int i = 0; i < l->nmetric; i++) {
			fputs(i ? "," : "", f);
			fl_json_put_str(f, l->metric_max[i].name);
			fputc(':', f);
			put_num(f, l->metric_max[i].max);
		}
		fputc('}', f);
	}
	fputs("},\"shock_ms\":", f);
	if (isfinite(shock0_ms) && isfinite(shock1_ms))
		fprintf(f, "[%.3f,%.3f]", shock0_ms, shock1_ms);
	else
		fputs("null", f);
	fprintf(f, ",\"window_ms\":%g,\"sustain_windows\":%d", FL_BG_WINDOW_MS,
		FL_BG_SUSTAIN);
	line_end(tl);
}

/* ---- summary --------------------------------------------------------------- */

void fl_timeline_summarize(const struct fl_timeline *tl, const struct fl_ctl *ctl,
			   uint32_t nrules, struct fl_tl_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->nrules = nrules < FL_MAX_RULES ? nrules : FL_MAX_RULES;
	for (uint32_t i = 0; i < out->nrules; i++) {
		uint64_t h = ctl ? atomic_load_explicit(&ctl->hits[i],
							memory_order_relaxed)
				 : 0;

		/* The block's counter sees faults whose journal record was
		 * dropped; the journal is the floor if the SUT scribbled on
		 * the counter. */
		out->hits[i] = h > tl->per_rule[i] ? h : tl->per_rule[i];
		out->faults += out->hits[i];
	}
	out->attached = tl->attaches;
	if (ctl)
		out->dropped = atomic_load_explicit(&ctl->journal.dropped,
						    memory_order_relaxed);
}

static void put_ms_or_null(FILE *f, const char *key, double ms)
{
	fprintf(f, ",\"%s\":", key);
	if (isfinite(ms))
		fprintf(f, "%.3f", ms);
	else
		fputs("null", f);
}

static void put_verdicts(FILE *f, const struct fl_verdicts *o)
{
	fputs(",\"budgets\":[", f);
	for (int i = 0; i < o->n; i++) {
		const struct fl_verdict *v = &o->v[i];

		fprintf(f, "%s{\"budget\":", i ? "," : "");
		fl_json_put_str(f, v->budget);
		fputs(",\"limit\":", f);
		put_num(f, v->limit);
		fputs(",\"measured\":", f);
		put_num(f, v->measured);
		fprintf(f, ",\"state\":\"%s\"", v->cap ? "cap" : v->broken ? "broken" : "held");
		put_ms_or_null(f, "burn_ms", v->burn_ms);
		put_ms_or_null(f, "broke_ms", v->broke_ms);
		if (v->note[0]) {
			fputs(",\"note\":", f);
			fl_json_put_str(f, v->note);
		}
		fputc('}', f);
	}
	fprintf(f, "],\"broken\":%d", o->nbroken);
	fputs(",\"first_broken\":", f);
	put_str_or_null(f, o->first_broken ? o->first_broken->budget : NULL);
	put_ms_or_null(f, "first_burn_ms", o->first_burn_ms);
	put_ms_or_null(f, "first_violation_ms", o->first_violation_ms);
	put_ms_or_null(f, "detect_ms", o->detect_ms);
	put_ms_or_null(f, "time_to_stable_ms", o->tts_ms);
	fprintf(f, ",\"never_stable\":%s", o->tts_never ? "true" : "false");
}

/* Clock rules act on every clock read and count no hits: "never fired"
 * would be noise for them. */
static bool is_clock_rule(const struct fl_profile *p, uint32_t i)
{
	return p && i < p->nrules && (p->rules[i].flags & FL_RF_CLOCK);
}

void fl_timeline_summary(struct fl_timeline *tl, const struct fl_tl_summary *s)
{
	FILE *f = tl->f;

	if (!f)
		return;
	fprintf(f, "{\"type\":\"summary\",\"faults\":%" PRIu64 ",\"per_rule\":[",
		s->faults);
	for (uint32_t i = 0; i < s->nrules; i++) {
		fprintf(f, "%s{\"rule\":%u,\"hits\":%" PRIu64, i ? "," : "", i,
			s->hits[i]);
		if (s->rule_extra)
			s->rule_extra(f, i, s->rule_extra_arg);
		fputc('}', f);
	}
	fprintf(f, "],\"dropped\":%" PRIu64 ",\"ticks\":%" PRIu64
		",\"attached\":%" PRIu64 ",\"unreached\":", s->dropped, tl->ticks,
		s->attached);
	put_str_or_null(f, s->unreached);
	fputs(",\"never_fired\":[", f);
	for (uint32_t i = 0, n = 0; i < s->nrules; i++)
		if (!s->hits[i] && !is_clock_rule(tl->p, i))
			fprintf(f, "%s%u", n++ ? "," : "", i);
	fputc(']', f);
	fprintf(f, ",\"journal_malformed\":%" PRIu64 ",\"journal_resync\":%" PRIu64
		",\"journal_skipped\":%" PRIu64 ",\"ctl_refused\":%" PRIu64,
		s->journal_malformed, s->journal_resync, s->journal_skipped, s->ctl_refused);
	if (s->has_events)
		fprintf(f, ",\"events\":%" PRIu64 ",\"events_malformed\":%" PRIu64
			",\"events_refused\":%" PRIu64, s->events, s->events_malformed,
			s->events_refused);
	if (s->verdicts)
		put_verdicts(f, s->verdicts);
	line_end(tl);
}

void fl_timeline_summary_line(FILE *f, const struct fl_tl_summary *s,
			      const char *tail)
{
	bool first = true;

	fprintf(f, "faultline: %" PRIu64 " fault%s injected", s->faults,
		s->faults == 1 ? "" : "s");
	for (uint32_t i = 0; i < s->nrules; i++) {
		if (!s->hits[i])
			continue;
		fprintf(f, "%srule %u: %" PRIu64, first ? " (" : ", ", i, s->hits[i]);
		first = false;
	}
	fprintf(f, "%s, %" PRIu64 " dropped%s\n", first ? "" : ")", s->dropped,
		tail ? tail : "");
}

void fl_timeline_unfired_line(FILE *f, const struct fl_tl_summary *s,
			      const struct fl_profile *p)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < s->nrules; i++) {
		const struct fl_rule *r = p && i < p->nrules ? &p->rules[i] : NULL;

		if (s->hits[i] || is_clock_rule(p, i))
			continue;
		fprintf(f, "%s%u", n++ ? ", " : "faultline: rules that never fired: ", i);
		if (r)
			fprintf(f, " (%s %s)", fl_op_name(r->op), fl_fault_name(r->fault));
	}
	if (n)
		fputc('\n', f);
}

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------- */

struct sha_ctx {
	uint32_t h[8];
	uint8_t buf[64];
	size_t nbuf;
	uint64_t len;
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define FL__ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], v[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = FL__ROR(w[i - 15], 7) ^ FL__ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = FL__ROR(w[i - 2], 17) ^ FL__ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = FL__ROR(v[4], 6) ^ FL__ROR(v[4], 11) ^ FL__ROR(v[4], 25);
		uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t t1 = v[7] + s1 + ch + sha_k[i] + w[i];
		uint32_t s0 = FL__ROR(v[0], 2) ^ FL__ROR(v[0], 13) ^ FL__ROR(v[0], 22);
		uint32_t mj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);

		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + s0 + mj;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

static void sha_init(struct sha_ctx *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
					0xa54ff53a, 0x510e527f, 0x9b05688c,
					0x1f83d9ab, 0x5be0cd19 };

	memcpy(c->h, iv, sizeof(iv));
	c->nbuf = 0;
	c->len = 0;
}

static void sha_add(struct sha_ctx *c, const void *data, size_t n)
{
	const uint8_t *p = data;

	c->len += n;
	while (n) {
		size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;

		memcpy(c->buf + c->nbuf, p, k);
		c->nbuf += k;
		p += k;
		n -= k;
		if (c->nbuf == 64) {
			sha_block(c->h, c->buf);
			c->nbuf = 0;
		}
	}
}

static void sha_end(struct sha_ctx *c, uint8_t out[32])
{
	uint64_t bits = c->len * 8;
	uint8_t pad = 0x80, len[8];

	sha_add(c, &pad, 1);
	pad = 0;
	while (c->nbuf != 56)
		sha_add(c, &pad, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha_add(c, len, 8);
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void fl_sha256(const void *data, size_t len, uint8_t out[32])
{
	struct sha_ctx c;

	sha_init(&c);
	sha_add(&c, data, len);
	sha_end(&c, out);
}

int fl_sha256_file(const char *path, char hex[65])
{
	struct sha_ctx c;
	uint8_t buf[8192], md[32];
	size_t n;
	FILE *f = fopen(path, "rbe");

	if (!f)
		return -errno;
	sha_init(&c);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sha_add(&c, buf, n);
	n = (size_t)ferror(f);
	fclose(f);
	if (n)
		return -EIO;
	sha_end(&c, md);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}
