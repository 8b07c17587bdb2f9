/*
 * profile.c — load a profile or scenario (JSON) into a struct fl_profile, and
 * publish it into a control block. Rules are parsed in profile_rules.c, names
 * come from profile_names.c.
 *
 * Grammar (every key below is the complete set: any other key is an error)
 *   {"faultline": 1,                   required, the format version
 *    "seed": N | "N" | "0xHEX",        optional; numbers up to 2^53, strings
 *                                       for the full uint64 range
 *    "description": "...",             optional, < 2048 bytes
 *    "$schema": "...",                 optional, any string, ignored (for
 *                                       editors: schema/profile.schema.json)
 *    "targets": {NAME: TARGET, ...},   optional, at most 63, ids 1.. in order
 *    "rules": [RULE, ...],             required, at most 128 (profile_rules.c)
 *    "market": {...},                  makes the file a scenario (market.h)
 *    "budgets": {BUDGET: X, ...}}      optional (budgets.h): max_faults,
 *                                       probe_p99_ms, probe_error_rate,
 *                                       invariant_violations, time_to_stable_s,
 *                                       metric_max {NAME: X}
 *   NAME   = 1..31 of [A-Za-z0-9_.-]
 *   TARGET = exactly one of {"tcp": "HOST:PORT"} {"udp": "HOST:PORT"}
 *            {"unix": "/glob"} {"path": "/glob"} {"host": "name-glob"}
 *   HOST   = numeric IPv4 | "[IPv6]" | "*";  PORT = 1..65535 | "*"
 *
 * Invariants
 *  - cJSON never leaves this file and profile_rules.c: the tree is deleted
 *    before fl_profile_load/parse return.
 *  - All-or-nothing: the profile is built in a private copy and only copied
 *    out when no error was found; on error *out is zeroed.
 *  - Every error is collected (the loader keeps going) and names the file,
 *    the JSON path and what was expected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "jsonutil.h"
#include "market/market.h"
#include "profile.h"
#include "schema.h"

static const char *const top_keys[] = {
	"faultline", "seed", "description", "targets", "rules", "market",
	"budgets", "$schema", NULL,
};
static const char *const target_keys[] = {
	"tcp", "udp", "unix", "path", "host", NULL,
};

#define SEED_EXACT_MAX 9007199254740992.0 /* 2^53 */

/* ---- top level -------------------------------------------------------- */

static void parse_version(struct fl_jctx *c, const cJSON *root)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "faultline");
	char *got;

	if (!v) {
		fl_jerr(c, "faultline", "missing; expected 1 (the profile format version)");
		return;
	}
	if (cJSON_IsNumber(v) && v->valuedouble == 1.0)
		return;
	got = cJSON_PrintUnformatted(v);
	fl_jerr(c, "faultline", "expected 1 (the only profile format version this "
		"build reads); got %.40s", got ? got : fl_json_type(v));
	free(got);
}

/* "123" or "0x7b" up to UINT64_MAX. */
static bool parse_u64_str(const char *s, uint64_t *out)
{
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s || strspn(s, "0123456789abcdefABCDEF") != strlen(s) ||
	    (base == 10 && strspn(s, "0123456789") != strlen(s)))
		return false;
	errno = 0;
	*out = strtoull(s, &end, base);
	return errno == 0 && *end == '\0';
}

static void parse_seed(struct fl_jctx *c, const cJSON *root, struct fl_profile *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "seed");
	double d;

	if (!v)
		return;
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (d >= 0 && d <= SEED_EXACT_MAX && d == (double)(uint64_t)d) {
		p->seed = (uint64_t)d;
		p->has_seed = true;
	} else if (cJSON_IsString(v) && parse_u64_str(v->valuestring, &p->seed)) {
		p->has_seed = true;
	} else {
		char *got = cJSON_PrintUnformatted(v);

		fl_jerr(c, "seed", "expected an integer in 0..2^53, or a string "
			"\"N\" / \"0xHEX\" up to 2^64-1; got %.40s",
			got ? got : fl_json_type(v));
		free(got);
	}
}

/* ---- targets ------------------------------------------------------------ */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < FL_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

/* PORT: "*" or 1..65535 in decimal digits. Returns false when invalid. */
static bool parse_port(const char *s, struct fl_target *t)
{
	unsigned long v;

	if (strcmp(s, "*") == 0) {
		t->flags |= FL_TF_ANY_PORT;
		return true;
	}
	if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return false;
	v = strtoul(s, NULL, 10);
	t->port = (uint16_t)v;
	return v >= 1 && v <= 65535;
}

/* HOST (without brackets): "*", IPv4 or (bracketed) IPv6. */
static const char *parse_host(const char *h, bool bracketed, struct fl_target *t)
{
	if (!bracketed && strcmp(h, "*") == 0) {
		t->flags |= FL_TF_ANY_HOST;
		return NULL;
	}
	if (bracketed) {
		t->family = AF_INET6;
		return inet_pton(AF_INET6, h, t->addr) == 1 ? NULL
			: "HOST in brackets must be a numeric IPv6 address";
	}
	if (strchr(h, ':'))
		return "an IPv6 HOST goes in brackets: \"[::1]:PORT\"";
	t->family = AF_INET;
	return inet_pton(AF_INET, h, t->addr) == 1 ? NULL
		: "HOST must be a numeric IPv4 address, [IPv6] or * "
		  "(names are not resolved)";
}

/* Split "HOST:PORT" / "[V6]:PORT"; returns NULL or why it is invalid. */
static const char *parse_hostport(const char *s, struct fl_target *t)
{
	char host[FL_PATH_MAX];
	const char *colon, *why;
	bool br = s[0] == '[';

	colon = br ? strchr(s, ']') : strrchr(s, ':');
	if (br && colon)
		colon = colon[1] == ':' ? colon + 1 : NULL;
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return "expected HOST:PORT";
	memcpy(host, s + br, (size_t)(colon - s) - 2 * br);
	host[(size_t)(colon - s) - 2 * br] = '\0';
	why = parse_host(host, br, t);
	if (why)
		return why;
	if (!parse_port(colon + 1, t))
		return "PORT must be 1..65535 or *";
	return NULL;
}

static void target_addr(struct fl_jctx *c, const char *path, const char *s,
			struct fl_target *t)
{
	const char *why = parse_hostport(s, t);

	if (why)
		fl_jerr(c, path, "expected \"HOST:PORT\" (HOST: numeric IPv4, "
			"[IPv6] or *; PORT: 1..65535 or *): %s; got \"%.64s\"", why, s);
}

static void target_pattern(struct fl_jctx *c, const char *path, const char *s,
			   struct fl_target *t)
{
	const char *br = strchr(s, '[');

	if (t->kind != FL_TK_HOST && s[0] != '/')
		fl_jerr(c, path, "expected an absolute path (glob) starting with /; "
			"got \"%.64s\"", s);
	else if (t->kind == FL_TK_HOST && (!*s || strpbrk(s, " \t/")))
		fl_jerr(c, path, "expected a host name (glob) without spaces or /; "
			"got \"%.64s\"", s);
	else if (br && !strchr(br, ']'))
		fl_jerr(c, path, "expected a glob; got \"%.64s\" with an unclosed [", s);
}

static void parse_target(struct fl_jctx *c, const cJSON *v, const char *path,
			 struct fl_target *t)
{
	static const uint8_t kinds[] = {
		FL_TK_TCP, FL_TK_UDP, FL_TK_UNIX, FL_TK_PATH, FL_TK_HOST,
	};
	struct fl_jpath kp;
	int found = 0;

	fl_json_only_keys(c, v, path, target_keys);
	if (!cJSON_IsObject(v))
		return;
	for (size_t i = 0; i < sizeof(kinds); i++) {
		if (!cJSON_GetObjectItemCaseSensitive(v, target_keys[i]) || found++)
			continue;
		if (fl_json_str(c, v, path, target_keys[i], true, t->pattern,
				sizeof(t->pattern)))
			continue;
		t->kind = kinds[i];
		fl_jpath_key(&kp, path, target_keys[i]);
		if (t->kind == FL_TK_TCP || t->kind == FL_TK_UDP)
			target_addr(c, kp.s, t->pattern, t);
		else
			target_pattern(c, kp.s, t->pattern, t);
	}
	if (found == 0)
		fl_jerr(c, path, "expected one of \"tcp\", \"udp\", \"unix\", "
			"\"path\", \"host\"; got none");
	else if (found > 1)
		fl_jerr(c, path, "expected exactly one of \"tcp\", \"udp\", "
			"\"unix\", \"path\", \"host\"; got %d of them", found);
}

static void parse_targets(struct fl_jctx *c, const cJSON *ts, struct fl_profile *p)
{
	struct fl_jpath kp;
	int n = 0;

	p->ntargets = 1;
	if (!ts)
		return;
	fl_json_only_keys(c, ts, "targets", NULL); /* duplicate names */
	for (const cJSON *v = ts->child; v; v = v->next, n++) {
		struct fl_target *t = &p->targets[p->ntargets];

		if (n >= FL_MAX_TARGETS - 1)
			continue;
		fl_jpath_key(&kp, "targets", v->string);
		if (!valid_name(v->string))
			fl_jerr(c, kp.s, "invalid target name: expected 1..%d of "
				"[A-Za-z0-9_.-]", FL_NAME_MAX - 1);
		snprintf(t->name, sizeof(t->name), "%s", v->string);
		parse_target(c, v, kp.s, t);
		p->ntargets++;
	}
	if (n > FL_MAX_TARGETS - 1)
		fl_jerr(c, "targets", "too many targets (%d); at most %d", n,
			FL_MAX_TARGETS - 1);
}

/* ---- scenario parts -------------------------------------------------------- */

static void parse_budgets(struct fl_jctx *c, const cJSON *root, struct fl_profile *p)
{
	const cJSON *b = fl_json_obj(c, root, "", "budgets", false);

	if (!b)
		return;
	fl_budget_limits_parse(c, b, "budgets", &p->budgets);
	p->budget_max_faults = p->budgets.max_faults;
}

static void parse_market(struct fl_jctx *c, const cJSON *root, struct fl_profile *p)
{
	const cJSON *m = fl_json_obj(c, root, "", "market", false);

	if (!m)
		return;
	p->market = mkt_params__new();
	if (!p->market) {
		fl_jerr(c, "market", "out of memory");
		return;
	}
	if (mkt_params__from_json(c, m, "market", p->market) < 0 && c->nerr == 0)
		fl_jerr(c, "market", "invalid market parameters");
}

static void parse_root(struct fl_jctx *c, const cJSON *root, struct fl_profile *p)
{
	p->budget_max_faults = -1;
	fl_budget_limits_init(&p->budgets);
	for (int i = 0; i < FL_MAX_RULES; i++)
		p->bind[i].signal = -1;
	p->ntargets = 1;
	if (!cJSON_IsObject(root)) {
		fl_jerr(c, NULL, "expected a JSON object at the top level; got %s",
			fl_json_type(root));
		return;
	}
	fl_json_only_keys(c, root, "", top_keys);
	parse_version(c, root);
	parse_seed(c, root, p);
	fl_json_str(c, root, "", "description", false, p->description,
		    sizeof(p->description));
	if (cJSON_GetObjectItemCaseSensitive(root, "$schema") &&
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "$schema")))
		fl_jerr(c, "$schema", "expected a string (the schema's path or URL, "
			"for editors); got %s",
			fl_json_type(cJSON_GetObjectItemCaseSensitive(root, "$schema")));
	p->is_scenario = cJSON_GetObjectItemCaseSensitive(root, "market") != NULL;
	parse_targets(c, fl_json_obj(c, root, "", "targets", false), p);
	fl__profile_rules(c, fl_json_arr(c, root, "", "rules", true), p);
	parse_budgets(c, root, p);
	parse_market(c, root, p);
}

/* ---- load ------------------------------------------------------------------ */

/* Build from `root` (consumed) into *out, all or nothing. */
static int finish(struct fl_jctx *c, cJSON *root, const char *name,
		  struct fl_profile *out)
{
	struct fl_profile *p = NULL;
	int rc = -EINVAL;

	if (!root)
		goto out;
	p = calloc(1, sizeof(*p));
	if (!p) {
		fl_jerr(c, NULL, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	snprintf(p->file, sizeof(p->file), "%s", name);
	parse_root(c, root, p);
	rc = c->nerr ? -EINVAL : 0;
out:
	cJSON_Delete(root);
	memset(out, 0, sizeof(*out));
	if (rc == 0)
		memcpy(out, p, sizeof(*out));
	else if (p)
		fl_profile__free(p);
	free(p);
	return rc;
}

static void ctx_init(struct fl_jctx *c, const char *name, char *err, size_t errlen)
{
	*c = (struct fl_jctx){ .file = name, .err = err, .errlen = errlen };
	if (err && errlen)
		err[0] = '\0';
}

int fl_profile_parse(const char *name, const char *text, size_t len,
		     struct fl_profile *out, char *err, size_t errlen)
{
	struct fl_jctx c;

	ctx_init(&c, name, err, errlen);
	return finish(&c, fl_json_parse(&c, text, len), name, out);
}

int fl_profile_load(const char *file, struct fl_profile *out, char *err,
		    size_t errlen)
{
	struct fl_jctx c;
	cJSON *root;

	ctx_init(&c, file, err, errlen);
	root = fl_json_load_file(&c, file);
	if (!root && errno != EINVAL) {
		int rc = errno ? -errno : -EIO;

		memset(out, 0, sizeof(*out));
		return rc;
	}
	return finish(&c, root, file, out);
}

void fl_profile__free(struct fl_profile *p)
{
	if (!p)
		return;
	mkt_params__free(p->market);
	p->market = NULL;
}

/* ---- publish ---------------------------------------------------------------- */

/* A rule's plain fields: before `intensity` and from `pad4` on. The atomic
 * in between is stored on its own (the shim reads it without the seqlock);
 * hit counts live in the shared area. */
#define RULE_HEAD_LEN offsetof(struct fl_rule, intensity)
#define RULE_TAIL_OFF offsetof(struct fl_rule, pad4)

static void copy_rule(struct fl_rule *dst, const struct fl_rule *src)
{
	memcpy(dst, src, RULE_HEAD_LEN);
	memcpy((char *)dst + RULE_TAIL_OFF, (const char *)src + RULE_TAIL_OFF,
	       sizeof(*dst) - RULE_TAIL_OFF);
	atomic_store_explicit(&dst->intensity,
			      atomic_load_explicit(&src->intensity, memory_order_relaxed),
			      memory_order_relaxed);
}

/* Copy rule i (or zeros past nrules) and link it into its (target, op) chain;
 * tail[t][op] is the last rule id + 1 seen so far. */
static void publish_rule(const struct fl_profile *p, struct fl_ctl *ctl, uint32_t i,
			 uint16_t tail[FL_MAX_TARGETS][FL_OP__COUNT])
{
	const struct fl_rule *src = &p->rules[i];
	struct fl_rule *dst = &ctl->rules[i];

	if (i >= p->nrules) {
		static const struct fl_rule zero;

		copy_rule(dst, &zero);
		return;
	}
	copy_rule(dst, src);
	dst->next = 0;
	if ((src->flags & (FL_RF_CLOCK | FL_RF_KERNEL)) || src->target == 0 ||
	    src->target >= FL_MAX_TARGETS || src->op >= FL_OP__COUNT)
		return;
	if (tail[src->target][src->op])
		ctl->rules[tail[src->target][src->op] - 1].next = (uint16_t)(i + 1);
	else
		ctl->hdr.rule_head[src->target][src->op] = (uint16_t)(i + 1);
	tail[src->target][src->op] = (uint16_t)(i + 1);
}

void fl_profile_publish(const struct fl_profile *p, struct fl_ctl *ctl)
{
	uint16_t tail[FL_MAX_TARGETS][FL_OP__COUNT] = { { 0 } };
	uint32_t gen = atomic_load_explicit(&ctl->hdr.gen, memory_order_relaxed);

	gen = (gen + 1) | 1u; /* odd: readers retry */
	atomic_store_explicit(&ctl->hdr.gen, gen, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memset(ctl->hdr.rule_head, 0, sizeof(ctl->hdr.rule_head));
	memcpy(ctl->targets, p->targets, sizeof(ctl->targets));
	memset(&ctl->targets[0], 0, sizeof(ctl->targets[0]));
	for (uint32_t i = 0; i < FL_MAX_RULES; i++)
		publish_rule(p, ctl, i, tail);
	memset(ctl->watched, 0, sizeof(ctl->watched));
	for (uint32_t i = 0; i < p->nrules && i < FL_MAX_RULES; i++) {
		const struct fl_rule *r = &p->rules[i];
		/* every gate (hold and pinning) waits on the calls it names */
		if ((r->flags & FL_RF_UNTIL) &&
		    r->until_target < FL_MAX_TARGETS && r->until_op < FL_OP__COUNT)
			ctl->watched[r->until_target][r->until_op] = 1;
	}
	ctl->hdr.ntargets = p->ntargets;
	ctl->hdr.nrules = p->nrules;
	atomic_store_explicit(&ctl->hdr.gen, gen + 1, memory_order_release);
}

/* ---- schema (schema.h) -------------------------------------------------------- */

static cJSON *pattern_str(const char *re, const char *doc)
{
	cJSON *s = fl_sch_type("string");

	cJSON_AddStringToObject(s, "pattern", re);
	return fl_sch_doc(s, doc);
}

static cJSON *target_schema(void)
{
	static const char *const hp = "^(\\*|[0-9.]+|\\[[0-9A-Fa-f:.]+\\]):(\\*|[0-9]{1,5})$";
	cJSON *p, *o = fl_sch_obj(&p);

	cJSON_AddItemToObject(p, "tcp", pattern_str(hp, "HOST:PORT: HOST a numeric "
		"IPv4 address, [IPv6] or *; PORT 1..65535 or *"));
	cJSON_AddItemToObject(p, "udp", pattern_str(hp, "HOST:PORT, as tcp"));
	cJSON_AddItemToObject(p, "unix", pattern_str("^/", "a socket path (glob)"));
	cJSON_AddItemToObject(p, "path", pattern_str("^/", "a file path (glob)"));
	cJSON_AddItemToObject(p, "host", pattern_str("^[^ \t/]+$",
		"a host name to resolve (glob)"));
	cJSON_AddNumberToObject(o, "minProperties", 1);
	cJSON_AddNumberToObject(o, "maxProperties", 1);
	return fl_sch_doc(o, "exactly one of tcp, udp, unix, path, host");
}

static cJSON *budgets_schema(void)
{
	cJSON *p, *o = fl_sch_obj(&p), *m = fl_sch_type("object"), *n;

	cJSON_AddItemToObject(p, "max_faults", fl_sch_int(0, SEED_EXACT_MAX));
	cJSON_AddItemToObject(p, "probe_p99_ms", fl_sch_num(0, 1e12));
	cJSON_AddItemToObject(p, "probe_error_rate", fl_sch_num(0, 1));
	cJSON_AddItemToObject(p, "invariant_violations", fl_sch_int(0, SEED_EXACT_MAX));
	cJSON_AddItemToObject(p, "time_to_stable_s", fl_sch_num(0, 1e9));
	n = cJSON_AddObjectToObject(m, "propertyNames");
	cJSON_AddNumberToObject(n, "minLength", 1);
	cJSON_AddNumberToObject(n, "maxLength",
		(double)sizeof(((struct fl_budget_limits *)0)->metric_max[0].name) - 1);
	cJSON_AddItemToObject(m, "additionalProperties", fl_sch_num(-DBL_MAX, DBL_MAX));
	cJSON_AddNumberToObject(m, "maxProperties", FL_BG_MAX_METRIC);
	cJSON_AddItemToObject(p, "metric_max", fl_sch_doc(m, "metric name -> its "
		"maximum (the \"metric\" events of FAULTLINE_EVENTS)"));
	return fl_sch_doc(o, "failure budgets: broken ones make `faultline run` "
			  "exit 3 when the program exits 0");
}

cJSON *fl_profile_schema(bool scenario)
{
	cJSON *p, *o = cJSON_CreateObject(), *v, *t, *n, *a, *defs, *body = fl_sch_obj(&p);

	cJSON_AddStringToObject(o, "$schema", "https://json-schema.org/draft/2020-12/schema");
	cJSON_AddStringToObject(o, "title", scenario ? "faultline scenario"
						     : "faultline profile");
	fl_sch_doc(o, "Generated by `faultline schema` from the loader's tables; "
		   "`faultline validate` is the authority (it also checks what a "
		   "schema cannot: target names, lo < hi, the market's consistency).");
	while (body->child) { /* type, properties, additionalProperties */
		cJSON *it = cJSON_DetachItemViaPointer(body, body->child);

		cJSON_AddItemToObject(o, it->string, it);
	}
	cJSON_Delete(body);
	v = cJSON_AddObjectToObject(p, "faultline");
	cJSON_AddNumberToObject(v, "const", 1);
	fl_sch_doc(v, "the format version");
	v = cJSON_AddObjectToObject(p, "seed");
	a = cJSON_AddArrayToObject(v, "anyOf");
	cJSON_AddItemToArray(a, fl_sch_int(0, SEED_EXACT_MAX));
	cJSON_AddItemToArray(a, pattern_str("^([0-9]+|0[xX][0-9a-fA-F]+)$",
					    "up to 2^64-1"));
	cJSON_AddItemToObject(p, "description",
			      fl_sch_str((int)sizeof(((struct fl_profile *)0)->description) - 1));
	cJSON_AddItemToObject(p, "$schema", fl_sch_doc(fl_sch_type("string"),
		"this schema's path or URL, for editors; the loader ignores it"));
	t = fl_sch_type("object");
	n = cJSON_AddObjectToObject(t, "propertyNames");
	cJSON_AddStringToObject(n, "pattern", "^[A-Za-z0-9_.-]+$");
	cJSON_AddNumberToObject(n, "maxLength", FL_NAME_MAX - 1);
	cJSON_AddItemToObject(t, "additionalProperties", target_schema());
	cJSON_AddNumberToObject(t, "maxProperties", FL_MAX_TARGETS - 1);
	cJSON_AddItemToObject(p, "targets", t);
	a = fl_sch_type("array");
	cJSON_AddItemToObject(a, "items", fl__profile_rule_schema(scenario));
	cJSON_AddNumberToObject(a, "maxItems", FL_MAX_RULES);
	cJSON_AddItemToObject(p, "rules", a);
	if (scenario)
		cJSON_AddItemToObject(p, "market", mkt_params__schema());
	cJSON_AddItemToObject(p, "budgets", budgets_schema());
	fl_sch_require(o, "faultline");
	fl_sch_require(o, "rules");
	if (scenario) {
		fl_sch_require(o, "market");
		defs = cJSON_AddObjectToObject(o, "$defs");
		cJSON_AddItemToObject(defs, "notes", cJSON_Duplicate(
			cJSON_GetObjectItem(cJSON_GetObjectItem(
				cJSON_GetObjectItem(p, "market"), "properties"), "sources"), 1));
	}
	return o;
}
