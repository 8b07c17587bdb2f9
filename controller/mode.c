/*
 * mode.c — choosing the interception layer (see mode.h).
 *
 * The ELF reader trusts nothing in the file: every offset and size is
 * checked against the mapping before it is read, so a truncated or hostile
 * executable gives "not an ELF we understand" (the shim), never a crash.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* [off, off + n) lies inside a buffer of len bytes. */
static bool in_range(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

static bool note_is_go(const unsigned char *p, size_t n)
{
	size_t off = 0;

	while (off + sizeof(Elf64_Nhdr) <= n) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		size_t name_sz = (nh.n_namesz + 3u) & ~3u;
		size_t desc_sz = (nh.n_descsz + 3u) & ~3u;
		if (name_sz > n - off)
			return false;
		/* Go's build ID: name "Go", type 4 (NT_GO_BUILDID) */
		if (nh.n_namesz == 3 && nh.n_type == 4 && memcmp(p + off, "Go", 3) == 0)
			return true;
		off += name_sz;
		if (desc_sz > n - off)
			return false;
		off += desc_sz;
	}
	return false;
}

static void parse_phdrs(const unsigned char *buf, size_t len,
			const Elf64_Ehdr *eh, struct fl_exe_info *info)
{
	info->is_static = true;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_range(len, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			info->is_static = false;
		if (ph.p_type == PT_NOTE && in_range(len, ph.p_offset, ph.p_filesz) &&
		    note_is_go(buf + ph.p_offset, ph.p_filesz))
			info->go = true;
	}
}

static void parse_shdrs(const unsigned char *buf, size_t len, const Elf64_Ehdr *eh,
			struct fl_exe_info *info)
{
	Elf64_Shdr strs;
	static const char want[] = ".go.buildinfo";

	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shstrndx >= eh->e_shnum ||
	    !in_range(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return;
	memcpy(&strs, buf + eh->e_shoff + eh->e_shstrndx * sizeof(strs), sizeof(strs));
	if (!in_range(len, strs.sh_offset, strs.sh_size))
		return;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, buf + eh->e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_name < strs.sh_size &&
		    strs.sh_size - sh.sh_name >= sizeof(want) &&
		    memcmp(buf + strs.sh_offset + sh.sh_name, want, sizeof(want)) == 0)
			info->go = true;
	}
}

void fl_exe_parse(const unsigned char *buf, size_t len, struct fl_exe_info *info)
{
	Elf64_Ehdr eh;

	info->elf = info->is_static = info->go = false;
	if (len < sizeof(eh) || memcmp(buf, ELFMAG, SELFMAG) != 0 ||
	    buf[EI_CLASS] != ELFCLASS64)
		return;
	memcpy(&eh, buf, sizeof(eh));
	info->elf = true;
	parse_phdrs(buf, len, &eh, info);
	parse_shdrs(buf, len, &eh, info);
}

/* execvp's search: argv0 with a '/' as is, else each $PATH entry. */
static int find_exe(const char *argv0, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(argv0, '/')) {
		if (snprintf(out, len, "%s", argv0) >= (int)len)
			return -ENAMETOOLONG;
		return access(out, F_OK) == 0 ? 0 : -errno;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, ':');
		int n = snprintf(out, len, "%.*s%s%s", (int)(e - p), p,
				 e == p ? "" : "/", argv0);
		if (n < (int)len && access(out, X_OK) == 0)
			return 0;
		p = *e ? e + 1 : e;
	}
	return -ENOENT;
}

static int map_file(const char *path, struct fl_exe_info *info, unsigned uid,
		    unsigned gid)
{
	struct stat st;
	void *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EACCES;
	}
	info->setid = ((st.st_mode & S_ISUID) && st.st_uid != uid) ||
		      ((st.st_mode & S_ISGID) && st.st_gid != gid);
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	if (st.st_size > 2 && memcmp(m, "#!", 2) == 0 && !info->script) {
		/* one level of interpreter: "#!/bin/busybox sh" inspects busybox */
		char interp[4096];
		size_t n = (size_t)st.st_size < sizeof(interp) ? (size_t)st.st_size : sizeof(interp) - 1;
		memcpy(interp, (char *)m + 2, n - 2);
		interp[n - 2] = '\0';
		munmap(m, (size_t)st.st_size);
		char *s = interp + strspn(interp, " \t");
		s[strcspn(s, " \t\n")] = '\0';
		info->script = true;
		if (!*s || snprintf(info->path, sizeof(info->path), "%s", s) >= (int)sizeof(info->path))
			return 0;
		return map_file(info->path, info, uid, gid);
	}
	fl_exe_parse(m, (size_t)st.st_size, info);
	munmap(m, (size_t)st.st_size);
	return 0;
}

int fl_exe_inspect(const char *argv0, unsigned uid, unsigned gid,
		   struct fl_exe_info *info)
{
	int err;

	memset(info, 0, sizeof(*info));
	err = find_exe(argv0, info->path, sizeof(info->path));
	if (err < 0)
		return err;
	return map_file(info->path, info, uid, gid);
}

enum fl_mode fl_mode_choose(enum fl_mode want, const struct fl_exe_info *info,
			    char *why, size_t len)
{
	if (want != FL_MODE_AUTO) {
		snprintf(why, len, "--mode %s", fl_mode_name(want));
		return want;
	}
	if (info->setid) {
		snprintf(why, len, "%s is set-user/group-ID: the dynamic loader "
			 "ignores LD_PRELOAD for it (secure-execution mode)", info->path);
		return FL_MODE_SECCOMP;
	}
	if (info->elf && info->go) {
		snprintf(why, len, "%s is a Go binary: Go makes its own system "
			 "calls, LD_PRELOAD cannot reach them", info->path);
		return FL_MODE_SECCOMP;
	}
	if (info->elf && info->is_static) {
		snprintf(why, len, "%s is statically linked (no PT_INTERP): there "
			 "is no dynamic loader to preload into", info->path);
		return FL_MODE_SECCOMP;
	}
	snprintf(why, len, info->elf ? "%s is dynamically linked: the shim"
				     : "%s is not a 64-bit ELF: the shim",
		 info->path);
	return FL_MODE_PRELOAD;
}
