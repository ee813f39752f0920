#!/usr/bin/env bash
# A private containerd for alca's containerd example plugin
# (plugins/examples/containerd-py), separate from any system containerd and
# from the one dockerd runs: its own root, state, sockets and config, all
# under one directory.
#
#   scripts/containerd.sh [start] [DIR]   start it (or reuse the running one),
#                                         import the test image into namespace
#                                         `alca`, print `export` lines
#   scripts/containerd.sh stop [DIR]      kill and delete its tasks, stop the
#                                         daemon and its shims, unmount what is
#                                         left (containers and images stay)
#   scripts/containerd.sh env [DIR]       only print the `export` lines
#
# DIR defaults to $ALCA_CONTAINERD_DIR or /tmp/alca-containerd. Use it as
#   eval "$(scripts/containerd.sh)"
# Runs as root (containerd needs it); installs Debian's `containerd` package
# when `ctr` or `containerd` is missing. Idempotent.
set -euo pipefail

TEST_IMAGE="${ALCA_TEST_IMAGE:-alca-test-busybox:latest}"
NAMESPACE=alca
log() { printf '[containerd] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cmd=start
case "${1:-}" in
  start|stop|env) cmd=$1; shift ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
DIR="${1:-${ALCA_CONTAINERD_DIR:-/tmp/alca-containerd}}"
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
SOCK="$DIR/containerd.sock"
CONFIG="$DIR/config.toml"
PIDFILE="$DIR/containerd.pid"
LOGFILE="$DIR/containerd.log"

print_env() {
  printf 'export CONTAINERD_ADDRESS=%q CONTAINERD_NAMESPACE=%q\n' "$SOCK" "$NAMESPACE"
}

ctr_() { ctr --address "$SOCK" "$@"; }
# A missing socket would otherwise cost gRPC's 10 s dial timeout.
ctr_quick() { ctr --connect-timeout 2s --address "$SOCK" "$@"; }

answers() { [ -S "$SOCK" ] && ctr_quick version >/dev/null 2>&1; }

running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Ours, not a recycled pid: its command line names our config.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONFIG" || return 1
  echo "$pid"
}

if [ "$cmd" = env ]; then
  print_env
  exit 0
fi

if [ "$cmd" = stop ]; then
  if answers; then
    for ns in $(ctr_ namespaces ls -q 2>/dev/null); do
      for task in $(ctr_ -n "$ns" tasks ls -q 2>/dev/null); do
        ctr_ -n "$ns" tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
      done
      for task in $(ctr_ -n "$ns" tasks ls -q 2>/dev/null); do
        for _ in $(seq 1 50); do
          ctr_ -n "$ns" tasks delete "$task" >/dev/null 2>&1 && break
          sleep 0.1
        done
      done
    done
  fi
  if pid=$(running_pid); then
    log "stopping containerd (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Shims exit once their tasks are deleted; one whose task could not be
  # deleted outlives the daemon. Ours end in exactly `-address $SOCK`.
  for cmdline in /proc/[0-9]*/cmdline; do
    args=$(tr '\0' '\n' <"$cmdline" 2>/dev/null) || continue
    case "$(printf '%s\n' "$args" | head -n 1)" in *containerd-shim*) ;; *) continue ;; esac
    [ "$(printf '%s\n' "$args" | tail -n 2 | tr '\n' ' ')" = "-address $SOCK " ] || continue
    p=${cmdline#/proc/}; p=${p%/cmdline}
    log "killing leftover shim $p"
    kill -9 "$p" 2>/dev/null || true
  done
  # Whatever is still mounted below DIR (rootfs of tasks, snapshots), deepest first.
  if [ -d "$DIR" ]; then
    awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
  fi
  rm -f "$PIDFILE" "$SOCK" "$SOCK.ttrpc"
  log "stopped; its data stays in $DIR (rm -rf it to start afresh)"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "containerd needs root; run this script as root"

if ! command -v ctr >/dev/null 2>&1 || ! command -v containerd >/dev/null 2>&1; then
  log "installing Debian's containerd package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq containerd >/dev/null
fi
command -v runc >/dev/null 2>&1 || die "runc is missing (apt-get install runc)"

mkdir -p "$DIR/root" "$DIR/state" "$DIR/opt"
chmod 0711 "$DIR"

if answers; then
  log "reusing the containerd answering on $SOCK"
else
  if pid=$(running_pid); then
    log "containerd (pid $pid) runs but does not answer; waiting for it"
  else
    cat >"$CONFIG" <<EOF
# written by alca scripts/containerd.sh: a private containerd
version = 2
root = "$DIR/root"
state = "$DIR/state"
# Kubernetes' CRI is not needed, and would look for CNI and a sandbox image.
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  level = "info"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$DIR/opt"
EOF
    log "starting containerd (config $CONFIG, log $LOGFILE)"
    # setsid: its own session, so it outlives this script and a terminal hang-up.
    setsid containerd --config "$CONFIG" </dev/null >>"$LOGFILE" 2>&1 &
    echo $! >"$PIDFILE"
  fi
  for _ in $(seq 1 100); do
    answers && break
    if ! running_pid >/dev/null; then
      tail -n 30 "$LOGFILE" >&2 || true
      die "containerd exited; its log is above"
    fi
    sleep 0.2
  done
  answers || { tail -n 30 "$LOGFILE" >&2 || true; die "containerd does not answer on $SOCK"; }
fi

# The test image, under the name `docker save` gives it (docker.io/library/...).
ref="$TEST_IMAGE"
case "$ref" in */*) ;; *) ref="docker.io/library/$ref" ;; esac
if ctr_ -n "$NAMESPACE" images ls -q | grep -qxF "$ref"; then
  log "image $ref is already in namespace $NAMESPACE"
elif command -v docker >/dev/null 2>&1 && docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  log "importing $TEST_IMAGE from docker into namespace $NAMESPACE"
  docker save "$TEST_IMAGE" | ctr_ -n "$NAMESPACE" images import - >/dev/null
  ctr_ -n "$NAMESPACE" images ls -q | grep -qxF "$ref" || die "the import did not produce $ref"
else
  log "warning: $TEST_IMAGE is not in docker (run scripts/provision.sh); no image imported"
fi

print_env
