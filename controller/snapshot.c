/*
 * snapshot.c — stale reads: copy the files of a "stale" rule's path target
 * when its window opens, so the shim can serve reads of the old content.
 *
 * Layout: <dir>/<rule id>/<encoded path> (faultline/snapname.h), dir made
 * 0700 (owned by the --user, if any) and published in hdr.snapdir. A rule's
 * snap_ready is set (release) only after every file is copied: the shim
 * serves nothing from a half-made snapshot (it reads the real file then).
 * Nothing of the user's is touched: we only read their files.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/snapname.h"
#include "snapshot.h"

static bool is_snap_rule(const struct fl_ctl *c, unsigned i)
{
	const struct fl_rule *r = &c->rules[i];
	return r->fault == FL_FAULT_STALE && !(r->flags & FL_RF_CLOCK) &&
	       r->target < FL_MAX_TARGETS && c->targets[r->target].kind == FL_TK_PATH;
}

static void give(const struct fl_snap *sn, const char *path)
{
	if (sn->chown && chown(path, sn->uid, sn->gid) != 0)
		fprintf(stderr, "faultline: %s: chown: %s\n", path, strerror(errno));
}

int fl_snap_init(struct fl_snap *sn, struct fl_ctl *c, const struct fl_snap_owner *ow)
{
	bool any = false;

	memset(sn, 0, sizeof(*sn));
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++)
		any |= is_snap_rule(c, i);
	if (!any)
		return 0;
	if (ow) {
		sn->chown = ow->set;
		sn->uid = ow->uid;
		sn->gid = ow->gid;
	}
	snprintf(sn->dir, sizeof(sn->dir), "/tmp/faultline-snap.XXXXXX");
	if (!mkdtemp(sn->dir))
		return -errno;
	give(sn, sn->dir);
	if (strlen(sn->dir) >= sizeof(c->hdr.snapdir))
		return -ENAMETOOLONG;
	memcpy(c->hdr.snapdir, sn->dir, strlen(sn->dir) + 1);
	sn->active = true;
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	struct stat st;

	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		left -= n;
	}
out:
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

static void snap_rule(struct fl_snap *sn, struct fl_ctl *c, unsigned i)
{
	char dir[PATH_MAX + 16], to[PATH_MAX];
	glob_t g;

	snprintf(dir, sizeof(dir), "%s/%u", sn->dir, i);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	give(sn, dir);
	if (glob(c->targets[c->rules[i].target].pattern, GLOB_NOSORT, NULL, &g) == 0) {
		for (size_t k = 0; k < g.gl_pathc; k++) {
			if (!fl_snapname(to, sizeof(to), sn->dir, i, g.gl_pathv[k]) ||
			    copy_file(g.gl_pathv[k], to) < 0)
				continue;
			give(sn, to);
		}
		globfree(&g);
	}
	atomic_store_explicit(&c->rules[i].snap_ready, 1, memory_order_release);
}

void fl_snap_poll(struct fl_snap *sn, struct fl_ctl *c, int64_t run_ns)
{
	if (!sn->active)
		return;
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++) {
		const struct fl_rule *r = &c->rules[i];
		if (sn->done[i] || !is_snap_rule(c, i) || run_ns < r->win_from_ns)
			continue;
		sn->done[i] = true;
		if (run_ns < r->win_to_ns)
			snap_rule(sn, c, i);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path) < 0 ? 0 : 0;
}

void fl_snap_free(struct fl_snap *sn)
{
	if (sn->active)
		nftw(sn->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	sn->active = false;
}
