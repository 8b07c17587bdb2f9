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

/* ---- the layer of one session (mode_run.c) --------------------------------- */
#include "seccomp_sup.h"

struct fl_loop;
struct fl_spawn;

struct fl_layer {
	enum fl_mode mode;       /* chosen, never AUTO after fl_layer_choose */
	char why[512];
	struct fl_sc_plan plan;  /* seccomp/both */
	bool planned;
	struct fl_sup *sup;
};

/* Choose the layer for cmd run as uid/gid; with verbose, say it on stderr.
 * Returns 0, or -ENOENT when cmd cannot be found (the spawn reports it). */
int fl_layer_choose(struct fl_layer *ly, enum fl_mode want, char *const *cmd,
		    unsigned uid, unsigned gid, bool verbose);
/* Before spawning: for seccomp/both, check the rules and build the filter;
 * the error message (file-free: the caller prefixes it) goes to err.
 * 0 or -errno. */
int fl_layer_prepare(struct fl_layer *ly, const struct fl_ctl *c, bool verbose,
		     char *err, size_t len);
/* Fill the spawn hooks and say whether the shim is preloaded. */
bool fl_layer_spawn(struct fl_layer *ly, struct fl_spawn *sp);
/* After a successful spawn: serve the listener from loop l. 0 or -errno. */
int fl_layer_start(struct fl_layer *ly, struct fl_loop *l, struct fl_ctl *c);
/* Faults are over: answer every call waiting in one now. */
void fl_layer_release(struct fl_layer *ly);
void fl_layer_fini(struct fl_layer *ly);
