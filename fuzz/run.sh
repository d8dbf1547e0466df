#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz` = the `asan` build: clang-14, ASan + UBSan, in build/asan) and fuzzes
# each for SECONDS on a scratch copy of its committed seeds. Exits 1 when any target reports a
# crash, leak, timeout or out-of-memory, naming the reproducer; 2 on a usage or build error.
#
#   fuzz/run.sh [--update-seeds] [--extra-seeds DIR] [--runs N] [SECONDS] [TARGET...]
#
#   SECONDS          per target, default 60; 0 skips fuzzing (useful with --update-seeds)
#   --runs N         stop each target after N executions (or SECONDS, whichever comes first):
#                    a campaign, e.g. --runs 10000000 86400 fuzz_pe fuzz_signatures
#   TARGET           fuzz_pe fuzz_signatures fuzz_hive fuzz_evtlog fuzz_event_record fuzz_image fuzz_qcow fuzz_vhd (default: all)
#   --update-seeds   afterwards, minimise the committed seeds plus everything the run found
#                    (libFuzzer -merge=1) and write the result to fuzz/corpus/TARGET/; crash-*
#                    reproducers there are always kept. Without it the committed seeds are only read.
#   --extra-seeds D  also merge candidate inputs from D/TARGET/ (fuzz/seeds.py writes them)
#
# Environment: FLSCAN_FUZZ_JOBS (build parallelism, default 2); FLSCAN_FUZZ_PARALLEL (targets fuzzed at
# the same time, default one per core).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all_targets=(fuzz_pe fuzz_signatures fuzz_hive fuzz_evtlog fuzz_event_record fuzz_image fuzz_qcow fuzz_vhd)
# Largest input per target (keep in step with seeds.py): a PE seed with its role byte, a
# signature file, a hive or an event log. Larger inputs only slow mutation down.
declare -A max_len=([fuzz_pe]=131072 [fuzz_signatures]=4096 [fuzz_hive]=65536 [fuzz_evtlog]=65536 [fuzz_event_record]=65536 [fuzz_image]=65536 [fuzz_qcow]=65536 [fuzz_vhd]=65536)

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

seconds=60
update=0
extra=""
runs=()
targets=()
while (($#)); do
  case "$1" in
    --update-seeds) update=1 ;;
    --extra-seeds) shift; [[ $# -gt 0 ]] || usage; extra=$(cd "$1" && pwd) ;;
    --runs) shift; [[ $# -gt 0 && "$1" =~ ^[1-9][0-9]*$ ]] || usage; runs=("-runs=$1") ;;
    -h|--help) usage ;;
    [0-9]*) [[ "$1" =~ ^[0-9]+$ ]] || usage; seconds=$1 ;;
    fuzz_*)
      [[ -n "${max_len[$1]:-}" ]] || { echo "run.sh: unknown target $1 (${all_targets[*]})" >&2; exit 2; }
      targets+=("$1") ;;
    *) usage ;;
  esac
  shift
done
((${#targets[@]})) || targets=("${all_targets[@]}")

build=build/asan   # the presets `asan` and `fuzz` share one build (CMakePresets.json)
echo "== building the fuzz targets in $build (clang-14, ASan + UBSan)"
mkdir -p "$build"
if ! cmake --preset fuzz >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2; echo "run.sh: configure failed" >&2; exit 2
fi
# Exactly the targets asked for, with their replay programs (the preset alone builds everything).
build_targets=()
for t in "${targets[@]}"; do build_targets+=("$t" "${t}_replay"); done
cmake --build --preset fuzz -j "${FLSCAN_FUZZ_JOBS:-2}" --target "${build_targets[@]}" ||
  { echo "run.sh: build failed" >&2; exit 2; }
for t in "${targets[@]}"; do
  [[ -x "$build/fuzz/$t" ]] || { echo "run.sh: $build/fuzz/$t was not built" >&2; exit 2; }
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/$build/runs/$stamp"   # logs and reproducers are kept here after the run
mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/flscan-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0}"  # image libraries (the file says why)

failed=0
summary=()
# 1. A scratch copy of each target's seeds.
for t in "${targets[@]}"; do
  seeds="$root/fuzz/corpus/$t"
  work="$scratch/$t"
  mkdir -p "$work" "$out/$t" "$seeds"
  if compgen -G "$seeds/*" >/dev/null; then
    cp "$seeds"/* "$work"/
  elif ((seconds > 0)); then
    echo "run.sh: $seeds has no seeds" >&2; exit 2
  fi
done

# 2. The targets run side by side, FLSCAN_FUZZ_PARALLEL at a time (default: one per core), each for
#    SECONDS: the wall time is SECONDS x targets / cores, and every target still gets its SECONDS.
if ((seconds > 0)); then
  parallel=${FLSCAN_FUZZ_PARALLEL:-$(nproc)}
  ((parallel >= 1)) || parallel=1
  running=0
  for t in "${targets[@]}"; do
    bin="$root/$build/fuzz/$t"
    work="$scratch/$t"
    log="$out/$t.log"
    dict=()
    [[ -f "$root/fuzz/dict/$t.dict" ]] && dict=("-dict=$root/fuzz/dict/$t.dict")
    echo "== $t: ${seconds}s on $(ls "$work" | wc -l) seeds (log $log)"
    (
      set +e
      "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]}" \
        -print_final_stats=1 -artifact_prefix="$out/$t/" "${runs[@]}" "${dict[@]}" "$work" >"$log" 2>&1
      echo $? >"$out/$t.rc"
    ) &
    running=$((running + 1))
    if ((running >= parallel)); then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait || true
fi

# 3. Each target's outcome, then (--update-seeds) its seeds.
for t in "${targets[@]}"; do
  bin="$root/$build/fuzz/$t"
  seeds="$root/fuzz/corpus/$t"
  work="$scratch/$t"
  log="$out/$t.log"

  if ((seconds > 0)); then
    rc=$(cat "$out/$t.rc" 2>/dev/null || echo "none (the fuzzer did not finish)")
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$done_line" || true)
    summary+=("$t: rc=$rc execs=${execs:-?} exec/s=${rate:-?} ${cov:-}")
    reproducers=$(find "$out/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
      -o -name 'oom-*' \) | sort)
    if [[ "$rc" != 0 ]] || [[ -n "$reproducers" ]]; then
      failed=1
      echo "!! $t FAILED (exit $rc); the end of its log:" >&2
      tail -n 40 "$log" >&2
      if [[ -n "$reproducers" ]]; then
        while read -r r; do
          echo "!! reproducer: $r" >&2
          echo "!!   rerun:    $bin $r    (or, in any build: <build>/fuzz/${t}_replay $r)" >&2
        done <<<"$reproducers"
      else
        echo "!! no reproducer was written; see $log" >&2
      fi
    fi
  fi

  if ((update)); then
    # Minimise into a fresh directory: committed seeds (reproducers aside), new finds, candidates.
    merged="$scratch/$t.merged"
    old="$scratch/$t.old"
    mkdir -p "$merged" "$old"
    find "$seeds" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$old"/ \;
    inputs=("$old" "$work")
    [[ -n "$extra" && -d "$extra/$t" ]] && inputs+=("$extra/$t")
    "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]}" "$merged" "${inputs[@]}" \
      >"$out/$t.merge.log" 2>&1 || { echo "run.sh: merge for $t failed, see $out/$t.merge.log" >&2; exit 2; }
    find "$seeds" -maxdepth 1 -type f ! -name 'crash-*' -delete
    cp "$merged"/* "$seeds"/
    echo "== $t: seeds now $(ls "$seeds" | wc -l) files, $(du -sb "$seeds" | cut -f1) bytes"
  fi
done

if ((${#summary[@]})); then
  echo "== summary (logs in $out)"
  printf '   %s\n' "${summary[@]}"
fi
exit "$failed"
