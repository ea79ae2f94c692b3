# Sourced by the benchmark scripts: start_registry DIR starts a loopback docker-registry with
# its data under DIR (deletes enabled), sets $addr to its host:port and $reg_pid, and stops it
# (and removes $tmp) on exit.
start_registry() {
  local dir=$1
  mkdir -p "$dir"
  printf 'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: bench\n' "$dir/data" > "$dir/config.yml"
  /usr/bin/docker-registry serve "$dir/config.yml" 2> "$dir/log" &
  reg_pid=$!
  trap 'kill $reg_pid 2>/dev/null; rm -rf "$tmp"' EXIT
  addr=
  for _ in $(seq 50); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$dir/log" | head -1)
    [ -n "$addr" ] && return 0
    sleep 0.1
  done
  echo "docker-registry did not start: $(cat "$dir/log")" >&2
  return 1
}
