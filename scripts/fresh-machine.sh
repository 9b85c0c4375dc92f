#!/usr/bin/env bash
# The README's two commands on a pristine Debian machine: the release check (not part of CI; it
# takes 15-25 minutes a suite).
#
#   sudo bash scripts/fresh-machine.sh bookworm     # Debian 12 (python3 3.11.2)
#   sudo bash scripts/fresh-machine.sh trixie       # Debian 13 (python3 3.13)
#
# Makes a minimal Debian root with debootstrap (--variant=minbase plus what a user who clones a
# repository has: python3, python3-venv, git, make, sudo, ca-certificates), caches it as a tarball
# (FRESH_CACHE, default /var/cache/zzreview-fresh) so a rerun starts in seconds, puts a clean clone
# of the current commit inside, and runs exactly `bash scripts/build.sh` then `bash scripts/test.sh`
# as root with an empty environment. Prints the time of each step (Debian packages, Python
# packages, build, tests: the set-up script reports its own steps) and exits non-zero if either
# command fails. Uncommitted changes are not checked: commit first. The root is removed at the
# end unless KEEP_ROOT=1; logs stay in FRESH_LOGS (default _build/fresh-machine/SUITE/).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

SUITE=${1:-}
case "$SUITE" in
  bookworm|trixie) ;;
  *) echo "usage: sudo bash scripts/fresh-machine.sh bookworm|trixie" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: debootstrap and chroot need root; run it with sudo" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-machine: debootstrap is missing; apt-get install debootstrap" >&2; exit 2; }

MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE=${FRESH_CACHE:-/var/cache/zzreview-fresh}
LOGS=${FRESH_LOGS:-$REPO/_build/fresh-machine/$SUITE}
BASE="$CACHE/$SUITE-minbase.tar"
INCLUDE=python3,python3-venv,git,make,sudo,ca-certificates
mkdir -p "$CACHE" "$LOGS"

commit=$(git rev-parse HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || \
  echo "fresh-machine: note: uncommitted changes are not part of the check (commit $commit is)" >&2

clock() { date +%s; }
step_times=()
note() { step_times+=("$1"); printf 'fresh-machine %s: %s\n' "$SUITE" "$1"; }

t0=$(clock)
if [ ! -s "$BASE" ]; then
  tmp=$(mktemp -d /var/tmp/zz-debootstrap.XXXXXX)
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" > "$LOGS/debootstrap.log" 2>&1 \
    || { echo "fresh-machine: debootstrap failed (log: $LOGS/debootstrap.log)" >&2; rm -rf "$tmp"; exit 1; }
  tar -C "$tmp" -cf "$BASE.part" . && mv "$BASE.part" "$BASE"
  rm -rf "$tmp"
  note "base root made with debootstrap and cached in $(( $(clock) - t0 )) s ($BASE)"
fi

[ "${BASE_ONLY:-0}" = 1 ] && { note "base root cached: $BASE"; exit 0; }

ROOT=$(mktemp -d /var/tmp/zz-fresh-$SUITE.XXXXXX)
mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  if [ "${KEEP_ROOT:-0}" = 1 ]; then echo "fresh-machine: root kept in $ROOT" >&2; else rm -rf --one-file-system "$ROOT"; fi
}
trap cleanup EXIT
tar -C "$ROOT" -xf "$BASE"
for fs in proc sys dev dev/pts; do
  mount --bind "/$fs" "$ROOT/$fs" && mounted+=("$ROOT/$fs")
done
mount -t tmpfs -o size=2g tmpfs "$ROOT/dev/shm" && mounted+=("$ROOT/dev/shm")  # chromium needs it
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# the release's own suites, as a freshly installed machine has them
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
EOF
rm -f "$ROOT"/etc/apt/sources.list.d/*
# Where the registries are reached through a TLS proxy with a local certificate authority (as on
# this project's machines), the root trusts it as the host does: the same local CA certificates,
# and pip told to use the system's bundle. That is machine set-up, as an administrator does it;
# no environment variable is carried into the commands.
if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates > /dev/null 2>&1
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$ROOT/etc/pip.conf"
fi

git clone -q --no-local "$REPO" "$ROOT/root/book"
git -C "$ROOT/root/book" checkout -q "$commit"
python_version=$(chroot "$ROOT" python3 -c 'import platform; print(platform.python_version())')
note "clean clone of $commit in a minimal $SUITE root (python3 $python_version)"

# exactly the README's commands, as root, with an empty environment (no variables carried in)
run() {  # name, command
  local started log="$LOGS/$1.log" rc=0
  started=$(clock)
  chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 /bin/bash -c "cd /root/book && $2" > "$log" 2>&1 || rc=$?
  while read -r line; do note "  $line"; done < <(grep -E '^setup: .*用时 [0-9]+ 秒' "$log" || true)
  note "$2: exit $rc in $(( $(clock) - started )) s (log: $log)"
  return $rc
}
status=0
run build "bash scripts/build.sh" || status=1
if [ $status -eq 0 ]; then
  run test "bash scripts/test.sh" || status=1
  tail -n 3 "$LOGS/test.log" | sed "s/^/fresh-machine $SUITE: pytest: /"
fi
printf '%s\n' "${step_times[@]}" > "$LOGS/summary.txt"
if [ $status -eq 0 ]; then
  note "PASSED: both commands on a pristine $SUITE ($python_version) in $(( $(clock) - t0 )) s"
else
  note "FAILED on a pristine $SUITE; see $LOGS"
fi
exit $status
