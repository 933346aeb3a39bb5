# Shared helpers for the scripts in this folder (sourced, not run).
# shellcheck shell=bash

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# Builds the ctlha executable once (Release) and prints its path.
ctlha_bin() {
  local root; root=$(repo_root)
  local bin="$root/impl/CtlHa.Node/bin/Release/net10.0/ctlha"
  if [ ! -x "$bin" ] || [ -n "${CTLHA_REBUILD:-}" ]; then
    dotnet build "$root/impl/CtlHa.Node" -c Release -v q -nologo >&2 || return 1
  fi
  echo "$bin"
}

# start_node LOGFILE ARGS... : starts `ctlha ARGS` in the background, waits for "ready" (30 s), sets NODE_PID.
start_node() {
  local log=$1; shift
  local bin; bin=$(ctlha_bin) || return 1
  "$bin" "$@" >"$log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 300); do
    if grep -q '^ready$' "$log" 2>/dev/null; then return 0; fi
    if ! kill -0 "$NODE_PID" 2>/dev/null; then echo "ctlha exited early:" >&2; cat "$log" >&2; return 1; fi
    sleep 0.1
  done
  echo "ctlha did not print ready within 30 s:" >&2; cat "$log" >&2; return 1
}

stop_node() {
  local pid=${1:-${NODE_PID:-}}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
