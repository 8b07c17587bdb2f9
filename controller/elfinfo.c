/*
 * elfinfo.c — inspect an executable's ELF headers (see elfinfo.h).
 *
 * Divisions: finding the command on $PATH; "#!"; the ELF program headers
 * (PT_INTERP, PT_NOTE with Go's build ID); the section names
 * (.go.buildinfo).
 *
 * Invariants: the file is untrusted (any user's program): every offset and
 * count is checked against the file size before it is read, reads are
 * bounded, and nothing is allocated from a size the file gives beyond
 * fixed caps.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfinfo.h"

#define MAX_PHDRS 256u
#define MAX_SHDRS 4096u
#define MAX_SHSTR (1u << 20)
#define NOTE_GO_BUILDID 4u

int fl_exe_resolve(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *e;
	struct stat st;

	if (!*cmd)
		return -ENOENT;
	if (strchr(cmd, '/')) {
		if (strlen(cmd) >= len)
			return -ENAMETOOLONG;
		strcpy(out, cmd);
		return 0;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = e + 1) {
		e = strchrnul(p, ':');
		/* an empty element means the current directory */
		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)(e - p), p,
				     e > p ? "/" : "", cmd) < len &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
		if (!*e)
			break;
	}
	return -ENOENT;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off, uint64_t size)
{
	ssize_t got;

	if (off > size || n > size - off)
		return -ENOEXEC;
	got = pread(fd, buf, n, (off_t)off);
	if (got < 0)
		return -errno;
	return (size_t)got == n ? 0 : -ENOEXEC;
}

/* A portable view of the headers we read, for 32- and 64-bit files. */
struct ehdr {
	bool is64;
	uint64_t phoff, shoff;
	unsigned phnum, phentsize, shnum, shentsize, shstrndx;
};

static int read_ehdr(int fd, uint64_t size, struct ehdr *h)
{
	unsigned char id[EI_NIDENT];
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	int rc;

	if ((rc = read_at(fd, id, sizeof(id), 0, size)) < 0)
		return rc;
	if (memcmp(id, ELFMAG, SELFMAG) || id[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC; /* big-endian binaries do not run here */
	h->is64 = id[EI_CLASS] == ELFCLASS64;
	if (h->is64) {
		if ((rc = read_at(fd, &e64, sizeof(e64), 0, size)) < 0)
			return rc;
		*h = (struct ehdr){ true, e64.e_phoff, e64.e_shoff, e64.e_phnum,
				    e64.e_phentsize, e64.e_shnum, e64.e_shentsize,
				    e64.e_shstrndx };
		return h->phentsize == sizeof(Elf64_Phdr) ? 0 : -ENOEXEC;
	}
	if (id[EI_CLASS] != ELFCLASS32)
		return -ENOEXEC;
	if ((rc = read_at(fd, &e32, sizeof(e32), 0, size)) < 0)
		return rc;
	*h = (struct ehdr){ false, e32.e_phoff, e32.e_shoff, e32.e_phnum,
			    e32.e_phentsize, e32.e_shnum, e32.e_shentsize,
			    e32.e_shstrndx };
	return h->phentsize == sizeof(Elf32_Phdr) ? 0 : -ENOEXEC;
}

/* Program header i as (type, offset, size). */
static int phdr(int fd, uint64_t size, const struct ehdr *h, unsigned i,
		uint32_t *type, uint64_t *off, uint64_t *len)
{
	uint64_t at = h->phoff + (uint64_t)i * h->phentsize;
	Elf64_Phdr p64;
	Elf32_Phdr p32;
	int rc;

	if (h->is64) {
		rc = read_at(fd, &p64, sizeof(p64), at, size);
		*type = p64.p_type, *off = p64.p_offset, *len = p64.p_filesz;
	} else {
		rc = read_at(fd, &p32, sizeof(p32), at, size);
		*type = p32.p_type, *off = p32.p_offset, *len = p32.p_filesz;
	}
	return rc;
}

/* Does the note segment hold Go's build ID ("Go\0\0", type 4)? */
static bool has_go_note(int fd, uint64_t size, uint64_t off, uint64_t len)
{
	unsigned char buf[4096];
	size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf), at = 0;

	if (read_at(fd, buf, n, off, size) < 0)
		return false;
	while (at + 12 <= n) {
		uint32_t nsz, dsz, type;

		memcpy(&nsz, buf + at, 4);
		memcpy(&dsz, buf + at + 4, 4);
		memcpy(&type, buf + at + 8, 4);
		at += 12;
		if (nsz == 4 && type == NOTE_GO_BUILDID && at + 4 <= n &&
		    !memcmp(buf + at, "Go\0\0", 4))
			return true;
		if (nsz > n || dsz > n)
			return false;
		at += ((size_t)nsz + 3) / 4 * 4 + ((size_t)dsz + 3) / 4 * 4;
	}
	return false;
}

static int scan_phdrs(int fd, uint64_t size, const struct ehdr *h,
		      struct fl_elf_info *info)
{
	uint32_t type;
	uint64_t off, len;
	int rc;

	if (h->phnum > MAX_PHDRS)
		return -ENOEXEC;
	info->is_static = true;
	for (unsigned i = 0; i < h->phnum; i++) {
		if ((rc = phdr(fd, size, h, i, &type, &off, &len)) < 0)
			return rc;
		if (type == PT_INTERP) {
			if (len == 0 || len >= sizeof(info->interp) ||
			    read_at(fd, info->interp, (size_t)len, off, size) < 0)
				return -ENOEXEC;
			info->interp[len] = '\0';
			info->interp[strnlen(info->interp, (size_t)len)] = '\0';
			info->is_static = false;
		} else if (type == PT_NOTE && has_go_note(fd, size, off, len)) {
			info->go = true;
		}
	}
	return 0;
}

/* Section i's name offset, file offset and size. */
static int shdr(int fd, uint64_t size, const struct ehdr *h, unsigned i,
		uint32_t *name, uint64_t *off, uint64_t *len)
{
	uint64_t at = h->shoff + (uint64_t)i * h->shentsize;
	Elf64_Shdr s64;
	Elf32_Shdr s32;
	int rc;

	if (h->is64) {
		rc = read_at(fd, &s64, sizeof(s64), at, size);
		*name = s64.sh_name, *off = s64.sh_offset, *len = s64.sh_size;
	} else {
		rc = read_at(fd, &s32, sizeof(s32), at, size);
		*name = s32.sh_name, *off = s32.sh_offset, *len = s32.sh_size;
	}
	return rc;
}

/* A section named .go.buildinfo (every Go binary since 1.13, even stripped
 * of symbols; sections may be gone altogether, then the note decides). */
static bool has_go_section(int fd, uint64_t size, const struct ehdr *h)
{
	size_t want = h->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	uint32_t name;
	uint64_t off, tablen, slen;
	char *tab;
	bool found = false;

	if (!h->shoff || h->shnum == 0 || h->shnum > MAX_SHDRS ||
	    h->shentsize != want || h->shstrndx >= h->shnum ||
	    shdr(fd, size, h, h->shstrndx, &name, &off, &tablen) < 0 ||
	    tablen == 0 || tablen > MAX_SHSTR || !(tab = malloc((size_t)tablen + 1)))
		return false;
	if (read_at(fd, tab, (size_t)tablen, off, size) == 0) {
		tab[tablen] = '\0';
		for (unsigned i = 0; !found && i < h->shnum; i++)
			found = shdr(fd, size, h, i, &name, &off, &slen) == 0 &&
				name < tablen && !strcmp(tab + name, ".go.buildinfo");
	}
	free(tab);
	return found;
}

static int inspect(const char *path, struct fl_elf_info *info, int depth)
{
	struct stat st;
	struct ehdr h;
	char head[PATH_MAX + 2];
	ssize_t n;
	int fd, rc;

	if (depth > FL_ELF_MAX_SHEBANG)
		return -ELOOP;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EACCES; /* what execve says of a device or a directory */
		goto out;
	}
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		char *p, *e;

		head[n] = '\0';
		p = head + 2 + strspn(head + 2, " \t");
		e = p + strcspn(p, " \t\n");
		rc = -ENOEXEC;
		if (e == p || !memchr(head, '\n', (size_t)n))
			goto out;
		*e = '\0';
		info->script = true;
		close(fd);
		return inspect(p, info, depth + 1);
	}
	snprintf(info->path, sizeof(info->path), "%s", path);
	info->setuid = st.st_mode & S_ISUID;
	info->setgid = (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
	info->owner = st.st_uid;
	info->group = st.st_gid;
	if ((rc = read_ehdr(fd, (uint64_t)st.st_size, &h)) < 0 ||
	    (rc = scan_phdrs(fd, (uint64_t)st.st_size, &h, info)) < 0)
		goto out;
	if (!info->go)
		info->go = has_go_section(fd, (uint64_t)st.st_size, &h);
out:
	close(fd);
	return rc;
}

int fl_elf_inspect(const char *path, struct fl_elf_info *info)
{
	memset(info, 0, sizeof(*info));
	return inspect(path, info, 0);
}

const char *fl_elf_unreachable(const struct fl_elf_info *info, uid_t uid,
			       gid_t gid)
{
	if (info->go)
		return info->is_static ? "a static Go program (no program interpreter, "
					 "and Go makes its own system calls)"
				       : "a Go program (it makes its own system calls, "
					 "past libc)";
	if (info->is_static)
		return "a static binary (no program interpreter: ld.so never "
		       "loads LD_PRELOAD)";
	if (info->setuid && info->owner != uid)
		return "setuid (the loader ignores LD_PRELOAD in secure-execution mode)";
	if (info->setgid && info->group != gid)
		return "setgid (the loader ignores LD_PRELOAD in secure-execution mode)";
	return NULL;
}
