# Sourced by the benchmark scripts: start_registry DIR [HTPASSWD] starts a loopback
# docker-registry with its data under DIR (deletes enabled; basic auth from the HTPASSWD file
# when given), sets $addr to its host:port and $reg_pid, and stops it (and every registry
# started before it, and removes $tmp) on exit.
start_registry() {
  local dir=$1 htpasswd=${2:-}
  mkdir -p "$dir"
  printf 'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: bench\n' "$dir/data" > "$dir/config.yml"
  if [ -n "$htpasswd" ]; then
    printf 'auth:\n  htpasswd:\n    realm: basic-realm\n    path: %s\n' "$htpasswd" >> "$dir/config.yml"
  fi
  /usr/bin/docker-registry serve "$dir/config.yml" 2> "$dir/log" &
  reg_pid=$!
  reg_pids="${reg_pids:-} $reg_pid"
  trap 'kill $reg_pids 2>/dev/null; rm -rf "$tmp"' EXIT
  addr=
  for _ in $(seq 50); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$dir/log" | head -1)
    [ -n "$addr" ] && return 0
    sleep 0.1
  done
  echo "docker-registry did not start: $(cat "$dir/log")" >&2
  return 1
}
