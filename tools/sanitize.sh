#!/usr/bin/env bash
# Builds the project with AddressSanitizer and UndefinedBehaviorSanitizer
# (and LeakSanitizer, part of ASan) into build-asan, without the CUDA
# backend, and runs the whole meson test suite there. -march=native stays on:
# without it the CPU backend's 16-lane vectors run several times slower and
# the training tests take most of an hour under ASan.
# Any sanitizer report fails the test it happens in: UBSan halts on its
# first error, ASan and LSan exit non-zero.
#
#   tools/sanitize.sh [MESON TEST ARGS...]    e.g. tools/sanitize.sh --suite bad-inputs
#
# BUILD_DIR overrides the folder; TIMEOUT_MULTIPLIER (default 4) stretches
# the tests' timeouts for the slower instrumented code.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-asan}
if [ ! -f "$build/build.ninja" ]; then
    # b_lundef=false: meson's default -Wl,--no-undefined and the sanitizer
    # runtimes do not mix with clang; harmless with gcc.
    meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dgpu=disabled -Dbuildtype=debugoptimized
fi
meson compile -C "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Open MPI's own allocations at exit (the distributed suite): tools/lsan.supp
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tools/lsan.supp:print_suppressions=0}
export OMPI_MCA_mca_base_component_disable_dlclose=1
meson test -C "$build" --print-errorlogs --timeout-multiplier "${TIMEOUT_MULTIPLIER:-4}" "$@"
