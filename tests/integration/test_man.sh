#!/usr/bin/env bash
# The man page, man/faultline.1:
#  - groff (Debian groff-base) renders it with every warning on (-ww) and
#    says nothing;
#  - every command and every option of `faultline --help`, the exit statuses
#    (3, 125, 126, 127) and every FAULTLINE_* variable the controller or the
#    shim reads or sets appear in it, so usage text and man page cannot
#    drift apart;
#  - `make install DESTDIR=...` puts the binary, the shim, the man page, the
#    schemas and the scenarios under DESTDIR/PREFIX.
source "$(dirname "$0")/lib.sh"
need groff "$FL"
MAN=$FL_ROOT/man/faultline.1
[ -f "$MAN" ] || fail "no man/faultline.1"

groff -man -Tutf8 -ww -z "$MAN" 2>"$T/warn" || fail "groff failed on $MAN"
[ ! -s "$T/warn" ] || { cat "$T/warn" >&2; fail "groff warns about $MAN"; }
# rendered text, as man(1) shows it (hyphenation and adjustment off, so
# words are whole)
groff -man -Tutf8 -rLL=200n -P-cbou -rHY=0 "$MAN" 2>/dev/null |
  sed 's/‐/-/g; s/−/-/g' >"$T/man.txt"
ge "$(wc -l <"$T/man.txt")" 150 "rendered lines"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES EVENTS EXAMPLES; do
  grep -q "^$s" "$T/man.txt" || fail "man page lacks section $s"
done

"$FL" --help >"$T/help.txt"
# commands: the first word of each "  word ..." line of the help
mapfile -t cmds < <(grep -E '^  [a-z]+( |$)' "$T/help.txt" | awk '{print $1}' | sort -u)
ge "${#cmds[@]}" 9 "commands in --help"
for c in "${cmds[@]}"; do
  grep -Eq "^ +$c( |,|$)" "$T/man.txt" || fail "command '$c' of --help is not a COMMANDS entry of the man page"
  grep -Eq "faultline $c" "$T/man.txt" || fail "command '$c' of --help is not in the SYNOPSIS"
done
# options: every -x and --long-option of the help
mapfile -t opts < <(grep -oE '(^|[[ (|])--?[a-zA-Z][a-zA-Z-]*' "$T/help.txt" | sed 's/^[[ (|]//' | sort -u)
ge "${#opts[@]}" 20 "options in --help"
for o in "${opts[@]}"; do
  grep -q -- "$o\b" "$T/man.txt" || fail "option '$o' of --help is not in the man page"
done
# exit statuses
for st in 3 125 126 127; do
  grep -Eq "^ +$st +" "$T/man.txt" || fail "exit status $st is not in EXIT STATUS"
done
# environment: what --help names and what the code reads or sets
mapfile -t envs < <( { grep -oh 'FAULTLINE_[A-Z_]*' "$T/help.txt";
  grep -ohE 'getenv\("FAULTLINE_[A-Z_]*"\)|"FAULTLINE_[A-Z_]*="|FAULTLINE_(EVENTS|MARKET)' \
    "$FL_ROOT"/controller/*.c "$FL_ROOT"/shim/*.c | grep -o 'FAULTLINE_[A-Z_]*'; } | sort -u)
ge "${#envs[@]}" 5 "environment variables"
for e in "${envs[@]}"; do
  grep -Eq "^ +$e\b" "$T/man.txt" || fail "environment variable $e is not an ENVIRONMENT entry"
done
# the events format
for r in '{"type":"probe","name":"withdraw","ok":true,"latency_ms":12.5}' \
         '{"type":"mark","text":"froze withdrawals"}'; do
  grep -qF "$r" "$T/man.txt" || fail "EVENTS lacks $r"
done

# make install into a DESTDIR (the build is not remade: -o all)
make -s -C "$FL_ROOT" -o all install O="$O" DESTDIR="$T/dest" PREFIX=/usr >"$T/install.out" 2>&1 ||
  { cat "$T/install.out" >&2; fail "make install"; }
for f in bin/faultline lib/faultline/libfaultline.so share/man/man1/faultline.1 \
         share/faultline/schema/profile.schema.json share/faultline/schema/scenario.schema.json \
         share/faultline/scenarios/gap-down.json; do
  [ -s "$T/dest/usr/$f" ] || fail "make install did not install $f"
done
cmp -s "$MAN" "$T/dest/usr/share/man/man1/faultline.1" || fail "installed man page differs"
cmp -s "$FL_ROOT/schema/scenario.schema.json" "$T/dest/usr/share/faultline/schema/scenario.schema.json" ||
  fail "installed schema differs"
eq "$(stat -c %a "$T/dest/usr/share/man/man1/faultline.1")" 644 "man page mode"
groff -man -Tutf8 -ww -z "$T/dest/usr/share/man/man1/faultline.1" 2>"$T/warn2"
[ ! -s "$T/warn2" ] || fail "installed man page: groff warns"
say "PASS: man page renders cleanly; ${#cmds[@]} commands, ${#opts[@]} options, ${#envs[@]} variables in it; make install"
