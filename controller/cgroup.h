/*
 * cgroup.h — the cgroup v2 a session observes and injects into.
 *
 * `faultline run` makes one for its command: CG2/<own cgroup>/faultline.<pid>
 * (CG2 = where the cgroup v2 hierarchy is mounted, <own cgroup> = the
 * controller's own, from /proc/self/cgroup), so the command stays under
 * whatever limits the controller runs under. The command joins it in the
 * child between fork and exec (spawn.h's cgroup_procs). At the end the
 * processes still in it (daemons the command left) go back to the parent
 * and the directory is removed. A controller killed with -9 cannot do that:
 * every run first sweeps its own cgroup for faultline.<pid> directories
 * whose controller is gone and does it for them.
 *
 * `faultline drill --cgroup PATH` opens an existing one (a systemd unit's:
 * /sys/fs/cgroup/system.slice/NAME.service); it is never modified.
 *
 * Ownership: struct fl_cgroup is caller-owned; fl_cgroup_close accepts a
 * zeroed-then-fl_cgroup_init'ed struct.
 */
#ifndef FL_CGROUP_H
#define FL_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fl_cgroup {
	char path[PATH_MAX]; /* the cgroup's directory */
	uint64_t id;         /* cgroup id: bpf_get_current_cgroup_id() of its tasks */
	int dirfd;           /* O_DIRECTORY, for attaching programs; -1 none */
	int procs_fd;        /* its cgroup.procs for writing (run only); -1 none */
	bool owned;          /* made by us: emptied and removed at close */
};

void fl_cgroup_init(struct fl_cgroup *cg);
/* The cgroup v2 mount point and our own cgroup's directory. Returns 0, or
 * -ENOENT (no cgroup2 mounted) with how to fix it in why. */
int fl_cgroup_own(char *dir, size_t len, char *why, size_t wlen);
/* Make (after sweeping leftovers) the command's cgroup. Returns 0 or
 * -errno with the reason in why. */
int fl_cgroup_create(struct fl_cgroup *cg, char *why, size_t wlen);
/* Open an existing cgroup v2 directory. */
int fl_cgroup_open(struct fl_cgroup *cg, const char *path, char *why, size_t wlen);
/* Remove the leftovers of killed controllers under dir; returns how many. */
int fl_cgroup_sweep(const char *dir);
void fl_cgroup_close(struct fl_cgroup *cg);

#endif /* FL_CGROUP_H */
