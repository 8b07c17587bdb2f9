/*
 * mode.h — which interception layer a command gets: the LD_PRELOAD shim,
 * the seccomp supervisor, or both (`faultline run --mode`).
 *
 * `auto` inspects the executable (elfinfo.h: PATH lookup, "#!" followed):
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

struct fl_elf_info;

/* "auto" "preload" "seccomp" "both" -> *m. 0 or -EINVAL. */
int fl_mode_parse(const char *s, enum fl_mode *m);
/* The name of m ("preload", ...). */
const char *fl_mode_name(enum fl_mode m);

/* The layer for `want` and the executable `info` (elfinfo.h; NULL when it
 * could not be inspected) run as uid/gid: AUTO picks seccomp when
 * fl_elf_unreachable says the shim cannot reach it, else preload; other
 * modes are kept. Fills `why` (a sentence, no newline). Returns the mode
 * chosen (never AUTO). */
enum fl_mode fl_mode_choose(enum fl_mode want, const struct fl_elf_info *info,
			    unsigned uid, unsigned gid, char *why, size_t len);

/* ---- the layer of one session (mode_run.c) --------------------------------- */
#include "seccomp_sup.h"

struct fl_loop;
struct fl_spawn;

#define FL_LAYER_MAX_EXEC 16

struct fl_layer {
	enum fl_mode mode;       /* chosen, never AUTO after fl_layer_choose */
	char why[512];
	struct fl_sc_plan plan;  /* seccomp/both */
	bool planned;
	bool verbose;
	struct fl_sup *sup;
	/* a drill: the services started by `faultline exec` on its ctl path */
	struct fl_sc_attached att[FL_LAYER_MAX_EXEC];
	struct fl_sup *asup[FL_LAYER_MAX_EXEC];
	int natt;
};

/* Choose the layer for cmd run as uid/gid; with verbose, say it on stderr.
 * Returns 0, or -ENOENT when cmd cannot be found (the spawn reports it). */
int fl_layer_choose(struct fl_layer *ly, enum fl_mode want, char *const *cmd,
		    unsigned uid, unsigned gid, bool verbose);
/* Before spawning: for seccomp/both, check the rules and build the filter;
 * the error message (file-free: the caller prefixes it) goes to err.
 * 0 or -errno. */
int fl_layer_prepare(struct fl_layer *ly, const struct fl_ctl *c, bool timens,
		     bool verbose, char *err, size_t len);
/* A drill on ctl: take the listeners of the `faultline exec` services
 * there and check that they can carry every rule of c (the ops their
 * filter notifies, what the supervisor serves, no clock rules). 0 (also
 * when there is none) or -errno with the message in err. */
int fl_layer_attach_exec(struct fl_layer *ly, const char *ctl, const struct fl_ctl *c,
			 bool verbose, char *err, size_t len);
/* Fill the spawn hooks and say whether the shim is preloaded. */
bool fl_layer_spawn(struct fl_layer *ly, struct fl_spawn *sp);
/* After a successful spawn: serve the listener from loop l. 0 or -errno. */
int fl_layer_start(struct fl_layer *ly, struct fl_loop *l, struct fl_ctl *c);
/* Faults are over: answer every call waiting in one now. */
void fl_layer_release(struct fl_layer *ly);
void fl_layer_fini(struct fl_layer *ly);

#endif /* FL_MODE_H */
