/*
 * faultline/snapname.h — where a stale-read snapshot of a file lives.
 *
 * The controller copies each file matching a stale rule's path target to
 *     <hdr.snapdir>/<rule id>/<encoded absolute path>
 * when the rule's window opens; the shim serves reads of that file from
 * there during the window. Encoding: '/' -> "%2F", '%' -> "%25", so every
 * path maps to one flat name. Shared by both sides; no allocation.
 */
#ifndef FAULTLINE_SNAPNAME_H
#define FAULTLINE_SNAPNAME_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Build the snapshot path into out; false when it does not fit. */
static inline bool fl_snapname(char *out, size_t outlen, const char *dir,
			       unsigned rule, const char *path)
{
	int n = snprintf(out, outlen, "%s/%u/", dir, rule);
	size_t k;

	if (n < 0 || (size_t)n >= outlen)
		return false;
	k = (size_t)n;
	for (const char *p = path; *p; p++) {
		const char *rep = *p == '/' ? "%2F" : *p == '%' ? "%25" : NULL;
		size_t add = rep ? 3 : 1;
		if (k + add >= outlen)
			return false;
		if (rep)
			memcpy(out + k, rep, 3);
		else
			out[k] = *p;
		k += add;
	}
	out[k] = '\0';
	return true;
}

#endif /* FAULTLINE_SNAPNAME_H */
