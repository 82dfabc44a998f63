#!/usr/bin/env bash
# Data flows one way: capture -> decode -> flow -> analyzers -> outputs ->
# report_html -> output_set -> proxy -> replay -> app. A file may include headers from its
# own folder, from a folder before it in that order, from common/ and from
# include/tcpscribe/ (the shared vocabulary); never from a later stage. So
# capture, decode and flow never see outputs, analyzers, the proxy or replay,
# and analyzers never see the outputs, the HTML report or the proxy.
# Usage: check.sh [SRC_DIR] (default: the src/ beside this test's tests/)
set -u
src=${1:-$(cd "$(dirname "$0")/../../src" && pwd)}
order=(common capture decode flow analyzers outputs report_html output_set proxy replay app)
rank_of() {
  local i
  for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done
  echo -1
}
# Folder of a path relative to src/: its first component ("" for src/ itself).
folder_of() { case "$1" in */*) echo "${1%%/*}" ;; *) echo "" ;; esac; }

declare -A header_folder
while IFS= read -r h; do
  rel=${h#"$src"/}
  base=$(basename "$rel")
  if [ -n "${header_folder[$base]+x}" ]; then
    echo "FAIL: header name $base is used twice ($rel and another); includes would be ambiguous"
    exit 1
  fi
  header_folder[$base]=$(folder_of "$rel")
  header_folder[$rel]=$(folder_of "$rel")
done < <(find "$src" -name '*.h' | sort)

fail=0 checked=0
while IFS= read -r f; do
  rel=${f#"$src"/}
  from=$(folder_of "$rel")
  [ -z "$from" ] && continue  # main.cc: picks the mode, may see everything
  from_rank=$(rank_of "$from")
  if [ "$from_rank" -lt 0 ]; then
    echo "FAIL: $rel is in folder '$from', which the layering order does not name"
    fail=$((fail + 1)); continue
  fi
  while IFS= read -r inc; do
    checked=$((checked + 1))
    case "$inc" in tcpscribe/*) continue ;; esac
    to=${header_folder[$inc]-}
    if [ -z "${header_folder[$inc]+x}" ]; then
      echo "FAIL: $rel includes \"$inc\", which is no header under src/ or include/"
      fail=$((fail + 1)); continue
    fi
    to_rank=$(rank_of "$to")
    if [ "$to_rank" -gt "$from_rank" ]; then
      echo "FAIL: $rel ($from) includes \"$inc\" ($to): $from comes before $to in the data flow"
      fail=$((fail + 1))
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find "$src" -name '*.cc' -o -name '*.h' | sort)

echo "layering: $checked includes checked, $fail against the order (${order[*]})"
[ "$fail" -eq 0 ]
