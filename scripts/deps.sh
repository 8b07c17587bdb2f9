#!/usr/bin/env bash
# deps.sh build|test|bench — make sure the Debian packages a step needs are
# installed. As root, missing ones are installed with apt-get; otherwise we
# stop with the exact command to run. Quiet when nothing is missing.
set -euo pipefail
what=${1:-build}

# package:probe — a probe is a file that the package installs.
build_pkgs=(
  gcc:/usr/bin/gcc make:/usr/bin/make
  libseccomp-dev:/usr/include/seccomp.h
  liburing-dev:/usr/include/liburing.h
  libbpf-dev:/usr/include/bpf/libbpf.h
  libcjson-dev:/usr/include/cjson/cJSON.h
  libcmocka-dev:/usr/include/cmocka.h
  clang:/usr/bin/clang
  bpftool:/usr/sbin/bpftool
  pkg-config:/usr/bin/pkg-config
)
test_pkgs=(
  curl:/usr/bin/curl
  python3:/usr/bin/python3
  sqlite3:/usr/bin/sqlite3
  redis-server:/usr/bin/redis-server
  redis-tools:/usr/bin/redis-cli
  nginx-light:/usr/sbin/nginx
  busybox-static:/bin/busybox
  libfaketime:/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
  faketime:/usr/bin/faketime
  coreutils:/usr/bin/date
  procps:/usr/bin/pgrep
  age:/usr/bin/age
  libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
  nats-server:/usr/sbin/nats-server
  strace:/usr/bin/strace
  python3-jsonschema:/usr/lib/python3/dist-packages/jsonschema/__init__.py
  python3-prometheus-client:/usr/lib/python3/dist-packages/prometheus_client/parser.py
  groff-base:/usr/bin/groff
  chromium:/usr/bin/chromium
)
bench_pkgs=(
  fiu-utils:/usr/bin/fiu-run
  libfiu-dev:/usr/include/fiu.h
  strace:/usr/bin/strace
  redis-tools:/usr/bin/redis-benchmark
)

case $what in
  build) list=("${build_pkgs[@]}") ;;
  test)  list=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) list=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for e in "${list[@]}"; do
  pkg=${e%%:*}; probe=${e#*:}
  [ -e "$probe" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "faultline: missing packages: ${missing[*]}" >&2
  echo "faultline: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "faultline: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
