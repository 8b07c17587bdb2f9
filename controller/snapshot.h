/*
 * snapshot.h — file snapshots for "stale" rules on path targets.
 *
 * fl_snap_init makes the snapshot directory (only when some rule needs it)
 * and publishes it in the block; fl_snap_poll, called at start (run time 0)
 * and on every heartbeat, snapshots each rule once when its window opens;
 * fl_snap_free removes the directory. The struct is caller-owned.
 */
#ifndef FL_SNAPSHOT_H
#define FL_SNAPSHOT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "faultline/ctl.h"

struct fl_snap_owner {
	bool set;
	uid_t uid;
	gid_t gid;
};

struct fl_snap {
	bool active;
	char dir[PATH_MAX];
	bool done[FL_MAX_RULES];
	bool chown;
	uid_t uid;
	gid_t gid;
};

/* 0, or -errno when the directory cannot be made. */
int fl_snap_init(struct fl_snap *sn, struct fl_ctl *c, const struct fl_snap_owner *ow);
void fl_snap_poll(struct fl_snap *sn, struct fl_ctl *c, int64_t run_ns);
void fl_snap_free(struct fl_snap *sn);

#endif /* FL_SNAPSHOT_H */
