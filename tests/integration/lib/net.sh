# Loopback helpers the integration tests share; sourced after harness.sh:
#   . "$(dirname "$0")/lib/net.sh"
# free_port: a TCP port free on 127.0.0.1 now.
# wait_port [HOST] PORT: until something accepts there (HOST 127.0.0.1), 5 s.
# wait_line FILE TEXT: until FILE has a line with TEXT (grep), 5 s.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  local host=127.0.0.1
  if [ $# -ge 2 ]; then host=$1; shift; fi
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),1).close()" \
      "$host" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
wait_line() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# wait_still FILE: until FILE stops growing (tcpdump writing the last
# packets on a busy machine), at most 10 s.
wait_still() {
  local last=-1 size
  for _ in $(seq 40); do
    sleep 0.25
    size=$(stat -c %s "$1")
    [ "$size" = "$last" ] && return 0
    last=$size
  done
}
