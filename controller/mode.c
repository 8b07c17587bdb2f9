/*
 * mode.c — choosing the interception layer (see mode.h). What the file is
 * comes from elfinfo.c; this only turns it into a layer and a sentence.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "elfinfo.h"
#include "mode.h"

static const char *const names[] = {
	[FL_MODE_AUTO] = "auto", [FL_MODE_PRELOAD] = "preload",
	[FL_MODE_SECCOMP] = "seccomp", [FL_MODE_BOTH] = "both",
};

int fl_mode_parse(const char *s, enum fl_mode *m)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s && strcmp(s, names[i]) == 0) {
			*m = (enum fl_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *fl_mode_name(enum fl_mode m)
{
	return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

enum fl_mode fl_mode_choose(enum fl_mode want, const struct fl_elf_info *info,
			    unsigned uid, unsigned gid, char *why, size_t len)
{
	const char *no = info ? fl_elf_unreachable(info, uid, gid) : NULL;

	if (want != FL_MODE_AUTO) {
		snprintf(why, len, "--mode %s%s%s%s", fl_mode_name(want),
			 no && want == FL_MODE_PRELOAD ? " (warning: " : "",
			 no && want == FL_MODE_PRELOAD ? no : "",
			 no && want == FL_MODE_PRELOAD ? ": LD_PRELOAD cannot reach it)" : "");
		return want;
	}
	if (no) {
		snprintf(why, len, "%s is %s: the seccomp supervisor", info->path, no);
		return FL_MODE_SECCOMP;
	}
	snprintf(why, len, "%s is dynamically linked: the shim", info ? info->path : "?");
	return FL_MODE_PRELOAD;
}
