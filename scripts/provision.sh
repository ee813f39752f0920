#!/usr/bin/env bash
# Provision what alca's test suite needs on a Debian machine, as root:
# real Docker and Podman engines, containerd's `ctr` (for the Python example
# plugin), the component toolchains of the example plugins (the
# wasm32-wasip2 Rust target, componentize-py, Node.js and npm), and a small
# local test image (a busybox rootfs; no registry is needed or used).
# Idempotent: every step checks before it acts.
set -euo pipefail

TEST_IMAGE="${ALCA_TEST_IMAGE:-alca-test-busybox:latest}"
log() { printf '[provision] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v podman  >/dev/null 2>&1 || need_pkgs+=(podman)
command -v runc    >/dev/null 2>&1 || need_pkgs+=(runc)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v ctr     >/dev/null 2>&1 || need_pkgs+=(containerd)
command -v node    >/dev/null 2>&1 || need_pkgs+=(nodejs)
command -v npm     >/dev/null 2>&1 || need_pkgs+=(npm)
command -v pip3    >/dev/null 2>&1 || need_pkgs+=(python3-pip)
# Network isolation: alca's firewall (nft); the network tests' namespaces (ip).
command -v nft     >/dev/null 2>&1 || need_pkgs+=(nftables)
command -v ip      >/dev/null 2>&1 || need_pkgs+=(iproute2)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${need_pkgs[*]}; run this script as root or install them"
    exit 1
  fi
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2
fi

# componentize-py builds Python plugins (the containerd example, `alca plugin
# new --lang python`); pinned to the version the docs are written for.
COMPONENTIZE_PY=0.25.1
if ! componentize-py --version 2>/dev/null | grep -q "$COMPONENTIZE_PY"; then
  log "installing componentize-py $COMPONENTIZE_PY"
  pip3 install --quiet --break-system-packages "componentize-py==$COMPONENTIZE_PY" 2>/dev/null \
    || pip3 install --quiet "componentize-py==$COMPONENTIZE_PY"
fi

# Podman: rlimits this kernel/sandbox accepts, and runc (crun fails on cgroup v1 here).
conf=/etc/containers/containers.conf
if [ "$(id -u)" -eq 0 ] && ! grep -q 'alca-provision' "$conf" 2>/dev/null; then
  log "writing $conf"
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# written by alca scripts/provision.sh (alca-provision)
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
fi

# Docker: start the daemon if nobody answers.
if ! docker version >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd --default-ulimit nofile=1024:1024 --default-ulimit nproc=1024:1024 \
    >/var/log/alca-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker version >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker version >/dev/null 2>&1; then
    log "dockerd did not come up; its log:"
    tail -n 30 /var/log/alca-dockerd.log >&2 || true
    exit 1
  fi
fi

# The test image: busybox-static as a tiny rootfs, imported into both engines.
rootfs_tar() {
  local dir tar
  dir=$(mktemp -d)
  tar="$dir/rootfs.tar"
  mkdir -p "$dir/root/bin" "$dir/root/tmp" "$dir/root/etc" "$dir/root/root"
  cp /bin/busybox "$dir/root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/root/etc/passwd"
  echo 'root:x:0:' >"$dir/root/etc/group"
  tar -C "$dir/root" -cf "$tar" .
  echo "$tar"
}
tar_path=""
if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  tar_path=$(rootfs_tar)
  log "importing $TEST_IMAGE into docker"
  docker import -c 'ENV PATH=/bin' "$tar_path" "$TEST_IMAGE" >/dev/null
fi
if ! podman image exists "$TEST_IMAGE" 2>/dev/null; then
  [ -n "$tar_path" ] || tar_path=$(rootfs_tar)
  log "importing $TEST_IMAGE into podman"
  podman import -q -c 'ENV PATH=/bin' "$tar_path" "$TEST_IMAGE" >/dev/null
fi
[ -z "$tar_path" ] || rm -rf "$(dirname "$tar_path")"
log "ready: docker $(docker version --format '{{.Server.Version}}'), podman $(podman version --format '{{.Client.Version}}'), image $TEST_IMAGE"
