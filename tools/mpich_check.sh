#!/usr/bin/env bash
# Shows that data-parallel training works under MPICH as under Open MPI: a
# build against MPICH (build-mpich, beside the default Open MPI build, which
# it leaves alone) and the distributed test suite under MPICH's launcher.
#
#   tools/mpich_check.sh          configure build-mpich if missing, compile,
#                                 check that MPICH is what got linked, and run
#                                 meson test --suite distributed (not 'slow')
#   MPICH_CHECK_SLOW=1 tools/mpich_check.sh     the 'curve' case too (slow)
#
# Needs libmpich-dev and mpich (Debian); Open MPI may stay the system default
# (update-alternatives mpi/mpirun): nothing here changes it.
# Meson 1.0's dependency('mpi', language: 'c') asks pkg-config for ompi-c
# only, and its config-tool method runs Open MPI's `mpicc --showme:...`,
# which MPICH's mpicc refuses; so build-mpich/mpich-pc/ holds an ompi-c.pc
# that stands for MPICH (Requires: mpich), first on its pkg_config_path.
# Environment: MPICH_BUILD (default build-mpich), MPICH_LAUNCHER (default
# mpiexec.mpich; mpiexec.hydra is the same program), JOBS (default 2).
# The tests get the launcher as RESNET_TRAIN_MPIRUN (tests/dist/*.sh), with
# one process at a time.
#
# Exit status: 0 when the build is MPICH's and every test passed or skipped.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${MPICH_BUILD:-build-mpich}
case $build in /*) ;; *) build=$repo/$build ;; esac
launcher=${MPICH_LAUNCHER:-mpiexec.mpich}
jobs=${JOBS:-2}

die() { echo "mpich_check: $*" >&2; exit 1; }
pkg-config --exists mpich || die "no mpich.pc: apt-get install libmpich-dev mpich"
command -v "$launcher" >/dev/null || die "no $launcher: apt-get install mpich"
"$launcher" --version 2>&1 | grep -q HYDRA || die "$launcher is not MPICH's hydra"
version=$(pkg-config --modversion mpich)
echo "MPICH $version, launcher $(command -v "$launcher")"

# the stand-in, rewritten every time (a reconfigure during compile needs it)
shim="$build/mpich-pc"
mkdir -p "$shim"
cat >"$shim/ompi-c.pc" <<EOF
# Written by tools/mpich_check.sh: Meson 1.0's dependency('mpi') asks
# pkg-config for ompi-c only; this hands it MPICH instead.
Name: ompi-c
Description: MPICH $version under the name Meson asks for
Version: $version
Requires: mpich
EOF
if [ ! -f "$build/meson-private/coredata.dat" ]; then
    meson setup "$build" -Dgpu=disabled -Dpkg_config_path="$shim"
fi
meson compile -C "$build" -j "$jobs"

# MPICH, not Open MPI, is what the trainer runs on
exe="$build/resnet-train"
ldd "$exe" | grep -q 'libmpich\.so' ||
    die "$exe is not linked with libmpich ($(ldd "$exe" | grep -i mpi | tr -s ' \t' ' ')): wipe $build and rerun"
"$exe" --version
"$exe" --version | grep -q "^Several ranks: MPICH" || die "$exe --version does not name MPICH"

suites=(--suite distributed)
[ "${MPICH_CHECK_SLOW:-0}" = 1 ] || suites+=(--no-suite slow)
RESNET_TRAIN_MPIRUN=$launcher meson test -C "$build" "${suites[@]}" --num-processes 1 --print-errorlogs
