#!/usr/bin/env bash
# The dynamic symbol table of libfaultline.so is exactly FL_EXPORTS of
# shim/symbols.h, both ways: every interposer listed is exported (a missing
# one lets a program slip past: read vs __read_chk, open vs open64), and
# nothing else is (a stray export would interpose a libc symbol by accident).
source "$(dirname "$0")/lib.sh"
need nm cc "$SHIM"

# the list, through the same preprocessing that makes the version script
cc -E -P -I"$FL_ROOT/shim" "$FL_ROOT/shim/libfaultline.map.c" >"$T/map"
$PY - "$T/map" >"$T/want" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"global:(.*?)local:", text, re.S)
assert m, "no global: … local: in the preprocessed version script"
names = [n.strip() for n in m.group(1).split(";") if n.strip()]
assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names), names
dups = sorted({n for n in names if names.count(n) > 1})
assert not dups, "listed twice in FL_EXPORTS: %s" % dups
print("\n".join(sorted(names)))
PY

# everything the .so defines in its dynamic symbol table, no exceptions
nm -D --defined-only "$SHIM" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$T/have"

say "FL_EXPORTS: $(wc -l <"$T/want") names; nm -D --defined-only: $(wc -l <"$T/have") names"
ge "$(wc -l <"$T/want")" 40 "names in FL_EXPORTS (parsed)"
missing=$(comm -23 "$T/want" "$T/have" | tr '\n' ' ')
extra=$(comm -13 "$T/want" "$T/have" | tr '\n' ' ')
[ -z "$missing" ] || fail "listed in FL_EXPORTS but not exported by $SHIM: $missing"
[ -z "$extra" ] || fail "exported by $SHIM but not in FL_EXPORTS: $extra"

# exported as functions (T/W/i), and without a version node (a named node
# would stop them from interposing versioned references like read@GLIBC_2.2.5)
bad=$(nm -D --defined-only "$SHIM" | awk '$2 !~ /^[TWi]$/ {print $NF"("$2")"}' | tr '\n' ' ')
[ -z "$bad" ] || fail "exports that are not functions: $bad"
ver=$(nm -D --defined-only "$SHIM" | awk '$NF ~ /@/ {print $NF}' | tr '\n' ' ')
[ -z "$ver" ] || fail "versioned exports: $ver"
say "ok"
