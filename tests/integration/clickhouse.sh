#!/usr/bin/env bash
# Records in ClickHouse (README "Records in ClickHouse", docs/clickhouse.sql):
# a clickhouse-server of its own (Debian 12's 18.16.1: a private port and
# data directory under a temporary directory, no system service) gets the
# schema, then the --flat-records --report and --messages of every capture
# in tests/pcaps and ../shared/pcaps, loaded unchanged with FORMAT
# JSONEachRow (all captures' lines in one INSERT per table). Checked:
#  - each flat line is its ordinary (nested) line flattened, by a jq
#    flattener of its own;
#  - every INSERT is accepted; rows: one per connection, run and exchange;
#  - every key of the flat records is a column or one the README says is
#    dropped (a new key fails here until the schema or the README takes it);
#  - every column's values: per column, ClickHouse's sum (string lengths,
#    numbers, array sizes; times in microseconds modulo a prime) and count of
#    non-nulls equal jq's over the same records;
#  - the README's three queries (slowest requests, error rates per server,
#    connections with data after the peer's FIN), taken from the README, give
#    what jq computes from the nested records, and none is empty.
# Usage: clickhouse.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in clickhouse-server clickhouse-client jq python3; do
  command -v $c >/dev/null ||
    skip "$c is missing (scripts/test.sh installs clickhouse-server clickhouse-client jq)"
done
repo=$(cd "$(dirname "$0")/../.." && pwd)

# --- the server: its own config, port and data directory, killed at exit.
port=$(free_port)
mkdir -p "$tmp/ch/data" "$tmp/ch/tmp" "$tmp/ch/user_files" "$tmp/ch/format_schemas"
cat >"$tmp/ch/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$tmp/ch/server.log</log><errorlog>$tmp/ch/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$port</tcp_port>
  <path>$tmp/ch/data/</path>
  <tmp_path>$tmp/ch/tmp/</tmp_path>
  <user_files_path>$tmp/ch/user_files/</user_files_path>
  <format_schema_path>$tmp/ch/format_schemas/</format_schema_path>
  <users_config>$tmp/ch/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
</yandex>
EOF
cat >"$tmp/ch/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
# 18.16 runs as root (only the packaged service switches to the clickhouse user).
clickhouse-server --config-file="$tmp/ch/config.xml" >"$tmp/ch/stdout" 2>&1 &
pids+=($!)
ch() { clickhouse-client --port "$port" "$@"; }
up=
for _ in $(seq 150); do
  ch -q 'SELECT 1' >/dev/null 2>&1 && { up=1; break; }
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$up" ]; then
  echo "FAIL: clickhouse-server did not start on 127.0.0.1:$port:"
  tail -5 "$tmp/ch/stdout" "$tmp/ch/server.err.log" 2>/dev/null
  exit 1
fi
echo "clickhouse-server $(ch -q 'SELECT version()') on 127.0.0.1:$port"
ch --multiquery <"$repo/docs/clickhouse.sql" || { echo "FAIL: docs/clickhouse.sql was refused"; exit 1; }

# The jq flattener (the rule of src/common/json_flat.h, written again).
jq_flat='def flat(p): reduce (to_entries[]) as $e ({};
    (p + $e.key) as $n | $e.value as $v |
    if ($v | type) == "object" then . + ($v | flat($n + "."))
    elif ($v | type) == "array" and ($v | any(type == "object"))
         and ($v | all(type == "object" or type == "null")) then
      ($v | map(if type == "object" then flat("") else {} end)) as $rows |
      . + (reduce ([$rows[] | keys_unsorted[]] | unique[]) as $k ({};
             . + {($n + "." + $k): [$rows[] | .[$k]]}))
    else . + {($n): $v} end);'

# --- the records of every capture, loaded one capture at a time.
captures=()
# shellcheck source=lib/captures.sh
. "$(dirname "$0")/lib/captures.sh"
while IFS= read -r p; do captures+=("$p"); done < <(test_captures)
[ ${#captures[@]} -gt 0 ] || skip "no captures found"
: >"$tmp/all_r.jsonl"
: >"$tmp/all_m.jsonl"
: >"$tmp/all_rf.jsonl"
: >"$tmp/all_mf.jsonl"
: >"$tmp/origin_r.txt"
: >"$tmp/origin_m.txt"
loaded=0
cd "$tmp"
for p in "${captures[@]}"; do
  name=${p#"$repo"/}
  keys=()
  [ -f "${p%.*}.keys" ] && keys=(--tls-keylog "${p%.*}.keys")
  # --messages runs every analyzer, so --report counts each connection's exchanges.
  "$bin" -r "$p" "${keys[@]}" -q --report n_r.jsonl --messages n_m.jsonl 2>n.err
  rc_nested=$?
  "$bin" -r "$p" "${keys[@]}" -q --flat-records --report f_r.jsonl --messages f_m.jsonl 2>f.err
  rc_flat=$?
  if [ $rc_nested -ne $rc_flat ] || ! cmp -s n.err f.err; then
    bad "$name: --flat-records changed the exit code ($rc_nested, $rc_flat) or stderr"
    continue
  fi
  cat n_r.jsonl >>all_r.jsonl
  cat n_m.jsonl >>all_m.jsonl
  cat f_r.jsonl >>all_rf.jsonl
  cat f_m.jsonl >>all_mf.jsonl
  # which capture each line came from, for the messages below
  sed "s|.*|$name|" f_r.jsonl >>origin_r.txt
  sed "s|.*|$name|" f_m.jsonl >>origin_m.txt
  loaded=$((loaded + 1))
done
for kind in r m; do
  if ! diff <(jq -cS "$jq_flat flat(\"\")" "all_$kind.jsonl") <(jq -cS . "all_${kind}f.jsonl") >diff.out; then
    bad "--flat-records $kind lines are not the nested lines flattened: $(head -c 600 diff.out)"
  fi
done
# One INSERT per table (clickhouse-client takes half a second to start);
# a refused line names its row, and origin_*.txt its capture.
load() {  # table, flat records, origin file
  if ! ch --input_format_skip_unknown_fields=1 -q "INSERT INTO $1 FORMAT JSONEachRow" <"$2" 2>ins.err; then
    local row
    row=$(grep -o 'at row [0-9]*' ins.err | grep -o '[0-9]*$' | head -1)
    bad "$1 refused ${row:+row $row (from $(sed -n "${row}p" "$3")): }$(head -c 400 ins.err)"
  fi
}
load tcpscribe_report all_rf.jsonl origin_r.txt
load tcpscribe_messages all_mf.jsonl origin_m.txt
echo "loaded $loaded of ${#captures[@]} captures: $(grep -c '"id":' all_r.jsonl) connections," \
  "$(wc -l <all_m.jsonl) exchanges"
[ "$(grep -c '"id":' all_r.jsonl)" -gt 0 ] && [ "$(wc -l <all_m.jsonl)" -gt 0 ] ||
  bad "the captures gave no connections or no exchanges"

count() { ch -q "SELECT count() FROM $1"; }
[ "$(count tcpscribe_connections)" = "$(jq -s 'map(select(.id != null)) | length' all_r.jsonl)" ] ||
  bad "tcpscribe_connections has $(count tcpscribe_connections) rows"
[ "$(count tcpscribe_runs)" = "$loaded" ] || bad "tcpscribe_runs has $(count tcpscribe_runs) rows, not $loaded"
[ "$(count tcpscribe_messages)" = "$(wc -l <all_m.jsonl)" ] ||
  bad "tcpscribe_messages has $(count tcpscribe_messages) rows, not $(wc -l <all_m.jsonl)"

# --- every key is a column or dropped as the README says.
dropped='^(params|error\.(code|detail|hint|position)|grpc_(request|response)_messages_decoded(\..*)?|findings)$'
columns() { ch -q "SELECT name FROM system.columns WHERE database = 'default' AND table = '$1'"; }
{ columns tcpscribe_report; columns tcpscribe_messages; } | LC_ALL=C sort -u >columns.txt
jq -r 'keys_unsorted[]' all_rf.jsonl all_mf.jsonl | LC_ALL=C sort -u >keys.txt
LC_ALL=C comm -23 keys.txt columns.txt | grep -Ev "$dropped" >unmapped.txt
[ -s unmapped.txt ] && bad "keys neither in docs/clickhouse.sql nor dropped in the README: $(tr '\n' ' ' <unmapped.txt)"
# ("findings":[] stays in a flat line without findings: no loss, the
# findings.* arrays of its row are empty.)

# --- every column's values, per table: sums and non-null counts.
check_columns() {  # table, jq filter selecting its lines, flat records file
  local table=$1 select=$2 file=$3 exprs=() names=() n t
  while IFS=$'\t' read -r n t; do
    local q="\`$n\`" e
    case "$t" in
      Array\(String\)|Array\(Nullable\(String\)\))
        e="sum(arraySum(arrayMap(x -> lengthUTF8(ifNull(x, '')), $q))), sum(length($q))" ;;
      Array\(Float64\)) e="sum(arraySum(arrayMap(x -> toInt64(round(x * 1000000)) % 1000003, $q))), sum(length($q))" ;;
      Array\(*) e="sum(arraySum($q)), sum(length($q))" ;;
      *String*) e="sum(lengthUTF8(ifNull($q, ''))), count($q)" ;;
      *Float64*) e="sum(toInt64(round(ifNull($q, 0) * 1000000)) % 1000003), count($q)" ;;
      *) e="sum(toInt64(ifNull($q, 0))), count($q)" ;;
    esac
    exprs+=("$e")
    names+=("$n:$t")
  done < <(ch -q "SELECT name, type FROM system.columns WHERE database = 'default' AND table = '$table'")
  local IFS=,
  ch -q "SELECT ${exprs[*]} FROM $table FORMAT TSV" | tr '\t' '\n' >"ch_$table.txt"
  unset IFS
  printf '%s\n' "${names[@]}" | jq -R . | jq -s . >"cols_$table.json"
  jq -s -r --slurpfile cols "cols_$table.json" '
    def num: if type == "boolean" then (if . then 1 else 0 end) elif . == null then 0 else . end;
    def us: (num * 1000000 | round) % 1000003;
    def len: if . == null then 0 else length end;
    map(select('"$select"')) as $rows |
    $cols[0][] | (split(":") | .[0]) as $k | (split(":") | .[1:] | join(":")) as $t |
    [$rows[] | .[$k]] as $v |
    if ($t | startswith("Array(")) then
      (if ($t | test("String")) then [$v[] | (. // [])[] | len] | add // 0
       elif ($t | test("Float64")) then [$v[] | (. // [])[] | us] | add // 0
       else [$v[] | (. // [])[] | num] | add // 0 end),
      ([$v[] | len] | add // 0)
    elif ($t | test("String")) then ([$v[] | len] | add // 0), ($v | map(select(. != null)) | length)
    elif ($t | test("Float64")) then ([$v[] | us] | add // 0), ($v | map(select(. != null)) | length)
    else ([$v[] | num] | add // 0), ($v | map(select(. != null)) | length) end' "$file" >"jq_$table.txt"
  # count() of a column that is not Nullable counts every row: jq counts the
  # lines that have the key, so compare counts only for Nullable columns.
  local i=0 line_ch line_jq checked=0
  while IFS= read -r name; do
    line_ch=$(sed -n "$((2 * i + 1)),$((2 * i + 2))p" "ch_$table.txt" | paste -sd' ')
    line_jq=$(sed -n "$((2 * i + 1)),$((2 * i + 2))p" "jq_$table.txt" | paste -sd' ')
    case "$name" in
      *:Nullable*|*:Array*) ;;
      *) line_ch=${line_ch%% *} line_jq=${line_jq%% *} ;;
    esac
    [ "$line_ch" = "$line_jq" ] || bad "$table column ${name%%:*}: clickhouse $line_ch, jq $line_jq"
    checked=$((checked + 1))
    i=$((i + 1))
  done < <(printf '%s\n' "${names[@]}")
  echo "$table: $checked columns match jq"
}
check_columns tcpscribe_connections '.id != null' all_rf.jsonl
check_columns tcpscribe_runs '."run.packets" != null' all_rf.jsonl
check_columns tcpscribe_messages 'true' all_mf.jsonl

# --- the README's queries, against jq on the nested records.
readme_query() {  # the ```sql block whose first line is "-- $1"
  awk -v want="-- $1" '/^```sql$/ { inq = 1; first = 1; next }
    /^```$/ { inq = 0; next }
    inq && first { first = 0; take = ($0 == want); next }
    inq && take { print }' "$repo/README.md"
}
normalize() {  # numbers to 6 decimals, NULL and its jq form to empty
  awk -F'\t' -v OFS='\t' '{ for (i = 1; i <= NF; i++) {
      if ($i == "\\N") $i = ""
      else if ($i ~ /^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/) $i = sprintf("%.6f", $i) }
    print }' | sed "s/\\\\'/'/g"
}
run_query() {  # title, jq program over the nested report or messages, its file
  local sql
  sql=$(readme_query "$1")
  [ -n "$sql" ] || { bad "README has no query \"-- $1\""; return; }
  if ! ch -q "$sql FORMAT TabSeparated" >q_raw.tsv 2>q.err; then
    bad "\"$1\" failed: $(head -c 300 q.err)"
    return
  fi
  normalize <q_raw.tsv >q_ch.tsv
  jq -s -r "$2" "$3" | normalize >q_jq.tsv
  if [ ! -s q_jq.tsv ]; then
    bad "\"$1\": jq finds no rows in these captures, the check would prove nothing"
  elif cmp -s q_ch.tsv q_jq.tsv; then
    echo "\"$1\": $(wc -l <q_ch.tsv) rows as jq computes them; first: $(head -1 q_ch.tsv | cut -c1-120)"
  else
    bad "\"$1\" differs from jq: $(diff q_jq.tsv q_ch.tsv | head -8)"
  fi
}
run_query 'Slowest requests' '
  map(select(.latency != null)) | sort_by([-.latency, .ts, .conn]) | .[:10][] |
  [.latency, .proto, .conn, (.method // .command // .kind),
   (.target // .path // .query // ((.args // []) | join(" ")))] | @tsv' all_m.jsonl
run_query 'Error rates per server' '
  [map(select(.id != null)) | group_by([.server_ip, .server_port])[] |
   {ip: .[0].server_ip, port: .[0].server_port,
    n: ([.[] | (.exchanges // {})[] | .count] | add // 0),
    e: ([.[] | (.exchanges // {})[] | .errors] | add // 0)} |
   select(.n > 0) | .rate = (.e / .n)] |
  sort_by([-.rate, -.n, .ip, .port])[] | [.ip, .port, .n, .e, .rate] | @tsv' all_r.jsonl
run_query "Connections with data after the peer's FIN" '
  map(select(.id != null and any(.findings[]; .kind == "data_after_peer_fin"))) |
  sort_by([.start, .id])[] |
  [.id, .client_ip, .client_port, .server_ip, .server_port, .conn_state,
   ([.findings[] | select(.kind == "data_after_peer_fin")] | length),
   ([.findings[] | select(.kind == "data_after_peer_fin") | .length] | add)] | @tsv' all_r.jsonl

[ $fail -eq 0 ] || { echo "clickhouse.sh: $fail failure(s)"; exit 1; }
echo "clickhouse.sh: OK"
