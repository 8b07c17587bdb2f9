/*
 * cgroup.c — the session's cgroup v2 (see cgroup.h).
 *
 * Invariants
 *  - We only ever remove directories named faultline.<pid> that no live
 *    controller holds, and only after moving every process in them to the
 *    parent: nothing of anybody else's is touched or killed. A controller
 *    holds its cgroup by an exclusive flock on the directory for as long as
 *    it has it open; the lock dies with the controller (kill -9 too), and a
 *    reused pid or a controller under another name (a test binary calling
 *    the session) cannot fool it as a /proc/PID/comm check could.
 *  - The cgroup id is the directory's inode number on cgroup v2 (the
 *    kernfs node id), what bpf_get_current_cgroup_id() returns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define PREFIX "faultline."

void fl_cgroup_init(struct fl_cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
	cg->dirfd = -1;
	cg->procs_fd = -1;
}

/* The first cgroup2 mount in mountinfo: its mount point and root. */
static int cg2_mount(char *mnt, size_t len, char *root, size_t rlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char r[PATH_MAX], m[PATH_MAX], *sep = strstr(line, " - ");
		char fstype[64];

		/* id parent maj:min root mountpoint opts... - fstype src opts */
		if (!sep || sscanf(sep, " - %63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
			continue;
		if (strlen(m) >= len || strlen(r) >= rlen) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(mnt, m);
		strcpy(root, r);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int fl_cgroup_own(char *dir, size_t len, char *why, size_t wlen)
{
	char mnt[PATH_MAX], root[PATH_MAX], line[PATH_MAX + 8], *own = NULL;
	FILE *f;
	int err = cg2_mount(mnt, sizeof(mnt), root, sizeof(root));

	if (err < 0) {
		snprintf(why, wlen, "no cgroup v2 hierarchy is mounted (mount one: "
			 "mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none "
			 "/sys/fs/cgroup/unified)");
		return err;
	}
	if (!(f = fopen("/proc/self/cgroup", "re")))
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			own = line + 3;
			own[strcspn(own, "\n")] = '\0';
			break;
		}
	fclose(f);
	if (!own) {
		snprintf(why, wlen, "/proc/self/cgroup has no cgroup v2 entry");
		return -ENOENT;
	}
	/* Our path is relative to the cgroup namespace root; a mount of a
	 * subtree (root != "/") shows only what lies below its root. */
	if (strcmp(root, "/")) {
		size_t rl = strlen(root);

		if (strncmp(own, root, rl) || (own[rl] && own[rl] != '/')) {
			snprintf(why, wlen, "our cgroup %s is outside the cgroup2 mount "
				 "at %s (root %s)", own, mnt, root);
			return -ENOENT;
		}
		own += rl;
	}
	if ((size_t)snprintf(dir, len, "%s%s%s", mnt, *own == '/' ? "" : "/",
			     !strcmp(own, "/") ? "" : own) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int open_dir(struct fl_cgroup *cg, const char *path, char *why, size_t wlen)
{
	struct statfs sf;
	struct stat st;

	if (strlen(path) >= sizeof(cg->path))
		return -ENAMETOOLONG;
	cg->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0) {
		int err = -errno;

		snprintf(why, wlen, "%s: %s", path, strerror(-err));
		return err;
	}
	if (fstatfs(cg->dirfd, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC ||
	    fstat(cg->dirfd, &st) < 0) {
		snprintf(why, wlen, "%s: not a cgroup v2 directory", path);
		close(cg->dirfd);
		cg->dirfd = -1;
		return -ENOTDIR;
	}
	strcpy(cg->path, path);
	cg->id = (uint64_t)st.st_ino;
	return 0;
}

int fl_cgroup_open(struct fl_cgroup *cg, const char *path, char *why, size_t wlen)
{
	return open_dir(cg, path, why, wlen);
}

/* Move every process listed in dir/cgroup.procs to `to`/cgroup.procs. */
static void evacuate(const char *dir, const char *to)
{
	char p[PATH_MAX + 32], line[32];
	FILE *in;
	int out;

	snprintf(p, sizeof(p), "%s/cgroup.procs", to);
	if ((out = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	/* Re-read until empty: a process forking while we move it adds one. */
	for (int round = 0; round < 8; round++) {
		bool any = false;

		snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
		if (!(in = fopen(p, "re")))
			break;
		while (fgets(line, sizeof(line), in)) {
			any = true;
			if (write(out, line, strlen(line)) < 0 && errno != ESRCH)
				break;
		}
		fclose(in);
		if (!any)
			break;
	}
	close(out);
}

/* Is the cgroup directory `sub` held by a live controller? A directory we
 * cannot open or lock for another reason is left alone (taken as held). */
static bool held(const char *sub)
{
	int fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return true;
	busy = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd); /* releases the probe's lock, if it got one */
	return busy;
}

int fl_cgroup_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char sub[PATH_MAX], *end;
		long pid;

		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(PREFIX), &end, 10);
		if (*end || pid <= 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >=
		    sizeof(sub) || held(sub))
			continue;
		evacuate(sub, dir);
		if (rmdir(sub) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int fl_cgroup_create(struct fl_cgroup *cg, char *why, size_t wlen)
{
	char own[PATH_MAX], path[PATH_MAX + 32], procs[PATH_MAX + 48];
	int err = fl_cgroup_own(own, sizeof(own), why, wlen);

	if (err < 0)
		return err;
	fl_cgroup_sweep(own);
	snprintf(path, sizeof(path), "%s/" PREFIX "%d", own, (int)getpid());
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		snprintf(why, wlen, "cannot create the cgroup %s: %s", path,
			 strerror(-err));
		return err;
	}
	cg->owned = true;
	if ((err = open_dir(cg, path, why, wlen)) < 0) {
		rmdir(path);
		cg->owned = false;
		return err;
	}
	if (flock(cg->dirfd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		snprintf(why, wlen, "cannot hold the cgroup %s: %s", path,
			 strerror(-err));
		cg->owned = false; /* another controller's (same pid, other ns) */
		fl_cgroup_close(cg);
		return err;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	cg->procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (cg->procs_fd < 0) {
		err = -errno;
		snprintf(why, wlen, "%s: %s", procs, strerror(-err));
		fl_cgroup_close(cg);
		return err;
	}
	return 0;
}

void fl_cgroup_close(struct fl_cgroup *cg)
{
	if (cg->procs_fd >= 0)
		close(cg->procs_fd);
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	if (cg->owned && cg->path[0]) {
		char parent[PATH_MAX], *slash;

		strcpy(parent, cg->path);
		if ((slash = strrchr(parent, '/')))
			*slash = '\0';
		evacuate(cg->path, parent);
		rmdir(cg->path);
	}
	fl_cgroup_init(cg);
}
