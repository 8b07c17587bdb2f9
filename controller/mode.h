/*
 * mode.h — which interception layer a command gets: the LD_PRELOAD shim,
 * the seccomp supervisor, or both (`faultline run --mode`).
 *
 * `auto` inspects the executable (after PATH lookup and one level of "#!"):
 * an ELF without PT_INTERP (static) or a Go binary (a "Go" build-ID note or a
 * .go.buildinfo section: Go makes its own system calls) gets seccomp; a
 * set-user/group-ID file that would run with other credentials gets seccomp
 * too (the dynamic loader drops LD_PRELOAD in secure-execution mode);
 * anything else the shim. The reason is a short sentence for the start record
 * and `-v`.
 */
#ifndef FL_MODE_H
#define FL_MODE_H

#include <stdbool.h>
#include <stddef.h>

enum fl_mode {
	FL_MODE_AUTO = 0,
	FL_MODE_PRELOAD,
	FL_MODE_SECCOMP,
	FL_MODE_BOTH,
};

/* What the executable is. */
struct fl_exe_info {
	char path[4096];   /* resolved path of the file inspected */
	bool elf;          /* a 64-bit ELF we could read */
	bool is_static;    /* no PT_INTERP */
	bool go;           /* Go build-ID note or .go.buildinfo section */
	bool setid;        /* set-user/group-ID bit that changes credentials */
	bool script;       /* started with "#!": path is its interpreter */
};

/* "auto" "preload" "seccomp" "both" -> *m. 0 or -EINVAL. */
int fl_mode_parse(const char *s, enum fl_mode *m);
/* The name of m ("preload", ...). */
const char *fl_mode_name(enum fl_mode m);

/* Inspect the file argv0 names (searched in $PATH when it has no '/'), as
 * the user `uid`/`gid` would run it. Returns 0, -ENOENT (not found), or
 * -errno from open/read; a file that is not an ELF is not an error
 * (info->elf false). */
int fl_exe_inspect(const char *argv0, unsigned uid, unsigned gid,
		   struct fl_exe_info *info);
/* Parse an ELF image in memory (exposed for the unit tests). */
void fl_exe_parse(const unsigned char *buf, size_t len, struct fl_exe_info *info);

/* The layer for `want` and `info`: AUTO decides, others are kept. Fills
 * `why` (a sentence, no newline) with the reason. Returns the mode chosen
 * (never AUTO). */
enum fl_mode fl_mode_choose(enum fl_mode want, const struct fl_exe_info *info,
			    char *why, size_t len);

#endif /* FL_MODE_H */
