#!/usr/bin/env bash
# Offline benchmark: tcpflow vs tcpscribe on synthetic captures and a real
# loopback capture.
#
#   bench/offline.sh [TCPSCRIBE_BINARY]
#
# Without an argument tcpscribe is built (Release, Ninja) in $BENCH_BUILD_DIR
# (default: <repo>/build-release), with extra configure arguments from
# $BENCH_CMAKE_ARGS.  Environment:
#   BENCH_OUT         markdown results file (default bench/results-offline.md)
#   BENCH_CAPTURES    directory for the captures; reused when its params.txt
#                     matches the parameters below, else (re)generated there.
#                     Default: a fresh directory inside the work dir.
#   BENCH_TMP         parent of the work dir; outputs of both tools go there,
#                     on the same filesystem. Default: /dev/shm when it is a
#                     tmpfs with 2 GiB free (the numbers then measure the
#                     tools, not the disk), else /var/tmp; /var/tmp with
#                     BENCH_FRESH_FS (its image holds the file system)
#   BENCH_RUNS        runs per tool and capture, best wall time kept (3)
#   BENCH_BULK_MIB    MiB per bulk transfer (64), BENCH_MANY connections in
#                     many.pcap (50000), BENCH_CONCURRENT open at once (10000)
#   BENCH_REAL_MB     MB of HTTP bodies in real.pcap (1300), BENCH_REAL_CONNS
#                     its connections (2000); real.pcap is made by
#                     real_capture.py from curl and python3 -m http.server on
#                     127.0.0.1 with tcpdump -i lo (needs root)
#   BENCH_CAPS        captures to run (default "bulk many real")
#   BENCH_TOOLS       tools to run (default "tcpflow tcpscribe"); "floor" adds
#                     create_floor.c: it only creates and writes the files
#                     the capture should produce (the file system's share
#                     of a run, a floor for any tool); not verified;
#                     "tcpscribe-old" adds a second tcpscribe binary,
#                     $BENCH_OLD_BIN, run and checked as tcpscribe is
#                     (bench/compare.sh: old vs new in one run)
#   BENCH_THREADS     tcpscribe's --threads values (default "1"); each value
#                     N other than 1 adds a tool "tcpscribe-tN" (tcpscribe
#                     --threads N), checked like tcpscribe, and the report
#                     gives the 1-thread / N-thread time ratio
#   BENCH_TCPSCRIBE_ARGS  more options for every tcpscribe run (e.g. -Fk:
#                     files are then matched by name in their directories)
#   BENCH_REPORT_ONLY=1  tcpscribe writes --report FILE instead of flow files
#                     (reassembly without file creation); the report's unique
#                     bytes per direction are checked against the manifest
#   BENCH_WARMUP=1    one untimed run of each tool per capture first
#   BENCH_FRESH_FS=ext4  every run (warm-up included) writes into an ext4
#                     file system made for it (a loop-mounted image in the
#                     work dir, mkfs.ext4 defaults, so with a journal): no
#                     run pays for the files an earlier run created or
#                     deleted. Needs root. BENCH_FS_SIZE sets the image size
#                     (default 3G).
#   BENCH_KEEP=1      keep the work dir
# Exit status: 0 when every tcpscribe run succeeded and its output matched the
# manifest (real: every HTTP body is a served file, and the files are
# byte-identical to tcpflow's when tcpflow ran); 1 otherwise; 2 on setup
# errors.  tcpflow's mistakes are reported, never fatal.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
RUNS=${BENCH_RUNS:-3}
BULK_MIB=${BENCH_BULK_MIB:-64}
MANY=${BENCH_MANY:-50000}
CONCURRENT=${BENCH_CONCURRENT:-10000}
REAL_MB=${BENCH_REAL_MB:-1300}
REAL_CONNS=${BENCH_REAL_CONNS:-2000}
CAPS=${BENCH_CAPS:-bulk many real}
TOOLS=${BENCH_TOOLS:-tcpflow tcpscribe}
THREADS=${BENCH_THREADS:-1}
read -r -a TARGS <<<"${BENCH_TCPSCRIBE_ARGS:-}"
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}
if [[ " $TOOLS " == *" tcpscribe "* ]]; then
  for n in $THREADS; do [ "$n" = 1 ] || TOOLS="$TOOLS tcpscribe-t$n"; done
fi
BENCH_OUT=${BENCH_OUT:-$REPO/bench/results-offline.md}
BUILD_DIR=${BENCH_BUILD_DIR:-$REPO/build-release}

log() { printf '%s\n' "$*" >&2; }
die() { log "offline.sh: $*"; exit 2; }

# --- dependencies ----------------------------------------------------------
SUDO=
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
APT_UPDATED=
apt_install() {
  log "installing: $*"
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq >&2 || true
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2 \
    || die "apt-get install $* failed"
}
pkgs=()
command -v python3 >/dev/null || pkgs+=(python3)
[ -x /usr/bin/time ] || pkgs+=(time)
case " $TOOLS " in *" tcpflow "*) command -v tcpflow >/dev/null || pkgs+=(tcpflow) ;; esac
HAVE_REAL=0
case " $CAPS " in *" real "*)
  HAVE_REAL=1
  [ "$(id -u)" -eq 0 ] || die "the real capture runs tcpdump -i lo and needs root (or BENCH_CAPS=\"bulk many\")"
  command -v tcpdump >/dev/null || pkgs+=(tcpdump)
  command -v curl >/dev/null || pkgs+=(curl) ;;
esac
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"

# --- tcpscribe binary --------------------------------------------------------
BIN=
BUILD_TYPE=given
if [[ " $TOOLS " == *" tcpscribe "* ]]; then
  if [ $# -ge 1 ]; then
    BIN=$(realpath "$1")
    [ -x "$BIN" ] || die "$1 is not an executable"
  else
    build_pkgs=()
    for p in cmake ninja-build g++ pkg-config libpcap-dev libtins-dev \
             libboost-program-options-dev libgtest-dev; do
      dpkg -s "$p" >/dev/null 2>&1 || build_pkgs+=("$p")
    done
    [ ${#build_pkgs[@]} -eq 0 ] || apt_install "${build_pkgs[@]}"
    cache="$BUILD_DIR/CMakeCache.txt"
    # shellcheck disable=SC2086  # BENCH_CMAKE_ARGS is a list of words
    if [ ! -f "$cache" ]; then
      cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        ${BENCH_CMAKE_ARGS:-} >&2
    elif ! grep -q '^CMAKE_BUILD_TYPE:[A-Z]*=Release$' "$cache" \
         || [ -n "${BENCH_CMAKE_ARGS:-}" ]; then
      cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
        ${BENCH_CMAKE_ARGS:-} >&2
    fi
    cmake --build "$BUILD_DIR" --target tcpscribe >&2
    BIN="$BUILD_DIR/tcpscribe"
    BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
  fi
fi

OLD_BIN=
if [[ " $TOOLS " == *" tcpscribe-old "* ]]; then
  [ -n "${BENCH_OLD_BIN:-}" ] || die "BENCH_TOOLS names tcpscribe-old: set BENCH_OLD_BIN to its binary"
  OLD_BIN=$(realpath "$BENCH_OLD_BIN")
  [ -x "$OLD_BIN" ] || die "BENCH_OLD_BIN: $BENCH_OLD_BIN is not an executable"
fi

# --- work dir and captures --------------------------------------------------
FRESH_FS=${BENCH_FRESH_FS:-}
case $FRESH_FS in
  ''|ext4) ;;
  *) die "BENCH_FRESH_FS: only ext4 is supported, not $FRESH_FS" ;;
esac
if [ -n "$FRESH_FS" ]; then
  [ "$(id -u)" -eq 0 ] || die "BENCH_FRESH_FS needs root (mkfs and mount of a loop image)"
  command -v mkfs.ext4 >/dev/null || apt_install e2fsprogs
fi
# real.pcap and two tools' outputs of it: 3 x 1.3 GB more.
NEED_GIB=$((2 + HAVE_REAL * (3 * REAL_MB / 1000 + 1)))
if [ -z "${BENCH_TMP:-}" ]; then
  BENCH_TMP=/var/tmp
  if [ -z "$FRESH_FS" ] && [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -n 1)" = tmpfs ] \
     && [ "$(df --output=avail -k /dev/shm | tail -n 1)" -ge $((NEED_GIB * 1024 * 1024)) ]; then
    BENCH_TMP=/dev/shm
  fi
fi
log "outputs under $BENCH_TMP ($(df --output=fstype "$BENCH_TMP" | tail -n 1))"
WORK=$(mktemp -d "$BENCH_TMP/tcpscribe-bench.XXXXXX")
FS_MNT=$WORK/fs
# Makes a new, empty file system at $FS_MNT (BENCH_FRESH_FS).
fresh_fs() {
  if mountpoint -q "$FS_MNT"; then umount "$FS_MNT"; fi
  rm -f "$WORK/fs.img"
  truncate -s "${BENCH_FS_SIZE:-3G}" "$WORK/fs.img"
  mkfs.ext4 -q -F -N 400000 "$WORK/fs.img" >&2
  mkdir -p "$FS_MNT"
  mount -o loop "$WORK/fs.img" "$FS_MNT"
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  if mountpoint -q "$FS_MNT" 2>/dev/null; then umount "$FS_MNT" || true; fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    log "removing $WORK"; rm -rf "$WORK"
  else
    log "kept $WORK"
  fi
}
trap cleanup EXIT

CAPDIR=${BENCH_CAPTURES:-$WORK/captures}
mkdir -p "$CAPDIR"
want="bulk_mib=$BULK_MIB many=$MANY concurrent=$CONCURRENT seed=1 only=all"
if [[ " $CAPS " != *" bulk "* && " $CAPS " != *" many "* ]]; then
  :  # only the real capture
elif [ -f "$CAPDIR/params.txt" ] && [ "$(cat "$CAPDIR/params.txt")" = "$want" ] \
   && [ -f "$CAPDIR/bulk.pcap" ] && [ -f "$CAPDIR/many.pcap" ] \
   && [ -f "$CAPDIR/manifest.tsv" ]; then
  log "reusing captures in $CAPDIR"
else
  log "generating captures in $CAPDIR"
  rm -f "$CAPDIR/params.txt"
  python3 "$HERE/gen_captures.py" "$CAPDIR" --bulk-mib "$BULK_MIB" \
    --many "$MANY" --concurrent "$CONCURRENT" --seed 1 >&2
fi
MANIFEST=$CAPDIR/manifest.tsv
if [ "$HAVE_REAL" = 1 ]; then
  want_real="total_mb=$REAL_MB connections=$REAL_CONNS parallel=4 seed=1"
  if [ -f "$CAPDIR/real.pcap" ] && [ -f "$CAPDIR/real-manifest.tsv" ] \
     && [[ "$(cat "$CAPDIR/real-params.txt" 2>/dev/null)" == "$want_real "* ]]; then
    log "reusing real.pcap in $CAPDIR"
  else
    log "making real.pcap in $CAPDIR (curl <-> python3 http.server on 127.0.0.1, tcpdump -i lo)"
    python3 "$HERE/real_capture.py" make "$CAPDIR" --total-mb "$REAL_MB" \
      --connections "$REAL_CONNS" --parallel 4 --seed 1 >&2 || die "cannot make real.pcap"
  fi
  REAL_REQUESTS=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$CAPDIR/real-params.txt")
fi

FLOOR=
if [[ " $TOOLS " == *" floor "* ]]; then
  command -v gcc >/dev/null || apt_install gcc
  FLOOR=$WORK/create_floor
  gcc -O2 -o "$FLOOR" "$HERE/create_floor.c" || die "cannot build create_floor"
fi

run_tool() {  # tool capture outdir logfile timefile
  local tool=$1 cap=$2 out=$3 lg=$4 tf=$5
  case $tool in
    floor)     /usr/bin/time -f '%e %M' -o "$tf" "$FLOOR" "$MANIFEST" "$(basename "$cap")" "$out" >"$lg" 2>&1 ;;
    tcpflow)   /usr/bin/time -f '%e %M' -o "$tf" tcpflow -r "$cap" -o "$out" >"$lg" 2>&1 ;;
    tcpscribe|tcpscribe-t*)
      local th=() dest=(-o "$out")
      [[ $tool == tcpscribe-t* ]] && th=(--threads "${tool#tcpscribe-t}")
      [ "$REPORT_ONLY" = 1 ] && dest=(--report "$out/report.jsonl")
      /usr/bin/time -f '%e %M' -o "$tf" "$BIN" "${th[@]}" "${TARGS[@]}" -r "$cap" "${dest[@]}" \
        >"$lg" 2>&1 ;;
    tcpscribe-old) /usr/bin/time -f '%e %M' -o "$tf" "$OLD_BIN" -r "$cap" -o "$out" >"$lg" 2>&1 ;;
  esac
}

# --- measure ----------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A BEST RSS FILES CORRECT EXPECTED FAILED ALL LAST SAME
status=0
TMPFS=0; [ "$(df --output=fstype "$WORK" | tail -n 1)" = tmpfs ] && TMPFS=1
for c in $CAPS; do
  cap="$CAPDIR/$c.pcap"
  [ -f "$cap" ] || die "no capture $cap"
  if [ "${BENCH_WARMUP:-0}" = 1 ]; then
    for t in $TOOLS; do   # untimed run of each tool
      if [ "$c" = real ] && [ "$t" = floor ]; then continue; fi  # no manifest of files
      out="$WORK/warmup-$c-$t"
      if [ -n "$FRESH_FS" ]; then fresh_fs; out="$FS_MNT/warmup-$c-$t"; fi
      mkdir -p "$out"
      run_tool "$t" "$cap" "$out" "$WORK/$c-$t-warmup.log" /dev/null || true
    done
  fi
  for r in $(seq 1 "$RUNS"); do
    order=$TOOLS   # alternate which tool goes first
    # shellcheck disable=SC2086  # TOOLS is a list of words
    if [ $((r % 2)) -eq 0 ]; then order=$(printf '%s\n' $TOOLS | tac | tr '\n' ' '); fi
    for t in $order; do
      if [ "$c" = real ] && [ "$t" = floor ]; then continue; fi
      # A fresh output dir per run. On tmpfs the previous run's is deleted
      # before this one starts, so each run reuses memory that the last one
      # freed: keeping them all made every run take fresh memory, which in a
      # VM whose balloon reports free pages to the host (virtio-balloon free
      # page reporting) costs a host page fault per page, and both tools got
      # 2x slower run after run. On a disk filesystem deleting 100k files
      # leaves the kernel work that would spill into the next timed run
      # (measured: 40 s runs), so old outputs go at the end there.
      out="$WORK/out-$c-$t-$r"
      if [ -n "$FRESH_FS" ]; then fresh_fs; out="$FS_MNT/out-$c-$t-$r"; fi
      mkdir -p "$out"
      cat "$cap" >/dev/null          # warm-up: capture in the page cache
      sync                           # previous run's dirty pages written out
      lg="$WORK/$c-$t-$r.log"; tf="$WORK/$c-$t-$r.time"
      rc=0; run_tool "$t" "$cap" "$out" "$lg" "$tf" || rc=$?
      read -r wall rss < <(tail -n 1 "$tf")
      log "$c $t run $r: ${wall}s ${rss}KB rc=$rc"
      k="$c/$t"
      ALL[$k]="${ALL[$k]:-}${ALL[$k]:+ }$wall"
      if [ "$rc" -ne 0 ]; then
        FAILED[$k]="exit $rc"
        log "  $t failed, last lines of its output:"; tail -n 5 "$lg" >&2
      fi
      if [ -z "${BEST[$k]:-}" ] || awk -v a="$wall" -v b="${BEST[$k]}" 'BEGIN{exit !(a<b)}'; then
        BEST[$k]=$wall
      fi
      if [ -z "${RSS[$k]:-}" ] || [ "$rss" -gt "${RSS[$k]}" ]; then RSS[$k]=$rss; fi
      if [ "$r" -eq "$RUNS" ] && [ "$t" != floor ]; then  # verify the last run's output
        vr=0
        if [ "$c" = real ]; then
          # No manifest of file names (the ports are the kernel's): every
          # response body must be a served file, every request counted.
          line=$(python3 "$HERE/real_capture.py" verify "$CAPDIR/real-manifest.tsv" "$out" \
                   --requests "$REAL_REQUESTS" 2>"$WORK/$c-$t.verify") || vr=$?
          line=$(sed 's/bodies_ok=/correct=/; s/requests=\([0-9]*\)/requests=\1 expected=\1/' <<<"$line")
          # Name, size and sha256 of every file, to compare the tools.
          LAST[$k]=$WORK/$c-$t.listing
          (cd "$out" && find . -type f ! -name report.xml -printf '%P\n' | LC_ALL=C sort |
             xargs -r -d '\n' sha256sum) >"${LAST[$k]}"
        elif [[ $t == tcpscribe* ]] && [ "$REPORT_ONLY" = 1 ]; then
          line=$(python3 "$HERE/gen_captures.py" verify "$MANIFEST" "$out/report.jsonl" \
                   --report --capture "$c.pcap" 2>"$WORK/$c-$t.verify") || vr=$?
        else
          flat=()
          [[ $t == tcpscribe* ]] && [[ " ${TARGS[*]} " == *" -F"* ]] && flat=(--basename)
          line=$(python3 "$HERE/gen_captures.py" verify "$MANIFEST" "$out" \
                   --capture "$c.pcap" "${flat[@]}" 2>"$WORK/$c-$t.verify") || vr=$?
        fi
        log "  verify: $line"
        if [ "$vr" -ne 0 ]; then sed 's/^/  /' "$WORK/$c-$t.verify" | head -n 10 >&2; fi
        for kv in $line; do
          case $kv in
            files=*) FILES[$k]=${kv#*=} ;;
            correct=*) CORRECT[$k]=${kv#*=} ;;
            expected=*) EXPECTED[$k]=${kv#*=} ;;
          esac
        done
        if [[ $t == tcpscribe* ]] && { [ "$vr" -ne 0 ] || [ -n "${FAILED[$k]:-}" ]; }; then
          status=1
        fi
      fi
      if [[ $t == tcpscribe* ]] && [ -n "${FAILED[$k]:-}" ]; then status=1; fi
      if [ "$TMPFS" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$out"; fi
    done
  done
  if [ -n "${LAST[$c/tcpflow]:-}" ] && [ -n "${LAST[$c/tcpscribe]:-}" ]; then
    # The same capture, two tools: the same files, byte for byte.
    if diff "${LAST[$c/tcpflow]}" "${LAST[$c/tcpscribe]}" >"$WORK/$c.diff" 2>&1; then
      SAME[$c]=yes
    else
      SAME[$c]=no; status=1
      log "$c: tcpscribe's files differ from tcpflow's:"; head -n 10 "$WORK/$c.diff" >&2
    fi
    log "$c: files identical to tcpflow's: ${SAME[$c]}"
  fi
done

# --- report -----------------------------------------------------------------
median() { tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END{m=int((NR+1)/2); print (NR%2 ? v[m] : (v[m]+v[m+1])/2)}'; }
table() {
  echo "| capture | tool | wall s (best of $RUNS) | median s | all runs s | peak RSS MB | files | correct files |"
  echo "|---|---|---:|---:|---|---:|---:|---:|"
  for c in $CAPS; do
    for t in $TOOLS; do
      k="$c/$t"
      [ -n "${ALL[$k]:-}" ] || continue  # floor on real
      mb=$(awk -v k="${RSS[$k]}" 'BEGIN{printf "%.1f", k/1024}')
      note=${FAILED[$k]:+ (${FAILED[$k]})}
      echo "| $c | $t | ${BEST[$k]}$note | $(median <<<"${ALL[$k]}") | ${ALL[$k]} | $mb | ${FILES[$k]:-?} | ${CORRECT[$k]:-?}/${EXPECTED[$k]:-?} |"
    done
  done
  if [[ " $TOOLS " == *" tcpflow "* && " $TOOLS " == *" tcpscribe "* ]]; then
    echo
    for c in $CAPS; do
      awk -v c="$c" -v a="${BEST[$c/tcpflow]}" -v b="${BEST[$c/tcpscribe]}" \
          -v ma="$(median <<<"${ALL[$c/tcpflow]}")" -v mb="$(median <<<"${ALL[$c/tcpscribe]}")" \
          -v same="${SAME[$c]:-}" 'BEGIN{
        if (b > 0 && mb > 0) printf "- %s: tcpflow/tcpscribe wall time = %.2f best, %.2f median", c, a/b, ma/mb;
        else printf "- %s: tcpflow/tcpscribe wall time = n/a (tcpscribe %ss)", c, b;
        if (same != "") printf "; files byte-identical to tcpflow'"'"'s: %s", same;
        printf "\n" }'
    done
  fi
  for t in $TOOLS; do
    [[ $t == tcpscribe-t* ]] || continue
    for c in $CAPS; do
      [ -n "${BEST[$c/$t]:-}" ] && [ -n "${BEST[$c/tcpscribe]:-}" ] || continue
      awk -v c="$c" -v n="${t#tcpscribe-t}" -v a="${BEST[$c/tcpscribe]}" -v b="${BEST[$c/$t]}" \
          -v ma="$(median <<<"${ALL[$c/tcpscribe]}")" -v mb="$(median <<<"${ALL[$c/$t]}")" 'BEGIN{
        if (b > 0 && mb > 0) printf "- %s: tcpscribe 1 thread / %s threads wall time = %.2f best, %.2f median\n", c, n, a/b, ma/mb }'
    done
  done
  if [[ " $TOOLS " == *" floor "* ]]; then
    for c in $CAPS; do
      [ -n "${BEST[$c/floor]:-}" ] || continue
      awk -v c="$c" -v f="${BEST[$c/floor]}" -v a="${BEST[$c/tcpflow]:-0}" -v b="${BEST[$c/tcpscribe]:-0}" 'BEGIN{
        printf "- %s: creating and writing the files alone (floor) takes %.2f s", c, f;
        if (f > 0 && a > 0) printf "; tcpflow/floor = %.2f", a/f;
        if (f > 0 && b > 0) printf ", tcpscribe/floor = %.2f", b/f;
        printf "\n" }'
    done
  fi
  return 0
}
TABLE=$(table)
echo "$TABLE"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
  echo "# Offline benchmark: tcpflow vs tcpscribe"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  if [ -f "$CAPDIR/bulk.pcap" ]; then
    echo "- captures: bulk.pcap = 4 x $BULK_MIB MiB interleaved transfers ($(du -m "$CAPDIR/bulk.pcap" | cut -f1) MB); many.pcap = $MANY short connections, $CONCURRENT open at once ($(du -m "$CAPDIR/many.pcap" | cut -f1) MB)"
  fi
  if [ "$HAVE_REAL" = 1 ]; then
    echo "- real.pcap: curl <-> python3 -m http.server on 127.0.0.1, tcpdump -i lo ($(cat "$CAPDIR/real-params.txt"); $(du -m "$CAPDIR/real.pcap" | cut -f1) MB); its 'files' are checked as HTTP responses (correct = bodies equal to a served file, of all requests) and against tcpflow's files"
  fi
  if [[ " $TOOLS " == *" tcpflow "* ]]; then echo "- tcpflow: $(tcpflow -V 2>&1 | head -n 1)"; fi
  if [ -n "$BIN" ]; then
    echo "- tcpscribe: $BIN (build type: ${BUILD_TYPE:-unknown}; commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none))"
  fi
  if [ -n "$OLD_BIN" ]; then echo "- tcpscribe-old: $OLD_BIN"; fi
  if [ -n "${BENCH_TCPSCRIBE_ARGS:-}" ] || [ "$REPORT_ONLY" = 1 ] || [ "$THREADS" != 1 ]; then
    echo "- tcpscribe options: ${BENCH_TCPSCRIBE_ARGS:-none}$([ "$REPORT_ONLY" = 1 ] && echo ', --report FILE instead of -o DIR (bytes per direction checked)'); --threads values: $THREADS; load average before: $LOAD_BEFORE"
  fi
  echo "- wall time and peak RSS from /usr/bin/time -f '%e %M'; best wall of $RUNS runs, largest RSS of the runs; output dirs fresh per run under $BENCH_TMP${FRESH_FS:+, each on a new $FRESH_FS file system (loop image, mkfs defaults)} (tools alternate which goes first; on tmpfs each run's output is deleted before the next run, elsewhere all at the end); capture read once before each run (warm page cache); report.xml not counted; correctness checked on the last run against manifest.tsv (sha256 per direction)"
  echo
  echo "$TABLE"
} >"$BENCH_OUT"
log "results written to $BENCH_OUT"
exit $status
