/*
 * elfinfo.h — what an executable is, as far as an LD_PRELOAD shim cares:
 * can ld.so load our library into it (PT_INTERP), does it make its own
 * system calls (Go), will the kernel drop LD_PRELOAD for it (setuid or
 * setgid: secure-execution mode). Used to say why no process attached
 * (reach.c) and by `--mode auto` to pick preload or seccomp.
 *
 * Only the file is read (bounded preads, nothing mapped or executed); a
 * "#!" script is followed to its interpreter, at most FL_ELF_MAX_SHEBANG
 * levels, as the kernel does.
 */
#ifndef FL_ELFINFO_H
#define FL_ELFINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FL_ELF_MAX_SHEBANG 4

struct fl_elf_info {
	char path[PATH_MAX];   /* the ELF file inspected (after any "#!") */
	bool script;           /* the command was a "#!" script */
	bool is_static;        /* no PT_INTERP: ld.so never runs, no preload */
	bool go;               /* a Go program (.go.buildinfo or Go build-ID note) */
	bool setuid, setgid;   /* mode bits of the file the kernel executes */
	uid_t owner;           /* and its owner and group: a set-id bit */
	gid_t group;           /* matters only when they differ from the runner's */
	char interp[PATH_MAX]; /* PT_INTERP, "" when static */
};

/* Find `cmd` as execvp would: a name with a '/' as it is, else the first
 * executable regular file of that name in $PATH (default
 * "/bin:/usr/bin"). Returns 0 with `out`, -ENOENT, -ENAMETOOLONG. */
int fl_exe_resolve(const char *cmd, char *out, size_t len);

/* Inspect the executable at `path` (resolved already). Returns 0 with
 * *info filled, -ENOEXEC when it is neither ELF nor a "#!" script (or the
 * ELF is malformed), -ELOOP when "#!" nests too deep, or -errno from
 * open/read. */
int fl_elf_inspect(const char *path, struct fl_elf_info *info);

/* Why a preloaded shim cannot reach it when run as uid/gid, or NULL when
 * nothing in the file says so: "a static binary", "a Go program (it makes
 * its own system calls)", "setuid (the loader ignores LD_PRELOAD in
 * secure-execution mode)", "setgid (...)". */
const char *fl_elf_unreachable(const struct fl_elf_info *info, uid_t uid,
			       gid_t gid);

#endif /* FL_ELFINFO_H */
