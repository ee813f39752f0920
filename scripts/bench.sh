#!/usr/bin/env bash
# Benchmark: `alca run true` against the bare runtime CLI (`<engine> exec <container> true`),
# on the same container, in the same run, for docker and podman. Prints medians and ratios.
# Usage: scripts/bench.sh [runs]   (default 40). Needs the engines (scripts/provision.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-40}"

scripts/provision.sh >/dev/null
if ! command -v hyperfine >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi
cargo build --release --locked -q
ALCA="$PWD/target/release/alca"
IMAGE="${ALCA_TEST_IMAGE:-alca-test-busybox:latest}"
work=$(mktemp -d)
trap 'for e in docker podman; do (cd "$work/$e" 2>/dev/null && XDG_CACHE_HOME="$work/cache" "$ALCA" down >/dev/null 2>&1) || true; done; rm -rf "$work"' EXIT

# median wall time in ms of a command, over $RUNS runs (fallback when hyperfine is missing)
median_ms() {
  local times=() i s e
  for i in $(seq 1 "$RUNS"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

printf '%-8s %-34s %10s\n' engine command median_ms
for engine in docker podman; do
  mkdir -p "$work/$engine"
  cd "$work/$engine"
  printf 'image = "%s"\nruntime = "%s"\n' "$IMAGE" "$engine" > .alca.toml
  XDG_CACHE_HOME="$work/cache" "$ALCA" up -q
  cid=$(XDG_CACHE_HOME="$work/cache" "$ALCA" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["container"]["id"])')
  export XDG_CACHE_HOME="$work/cache"
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/$engine.json" \
      "$ALCA run true" "$engine exec $cid true" >/dev/null
    read -r a b < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r[0]["median"]*1000, r[1]["median"]*1000)' "$work/$engine.json")
  else
    a=$(median_ms "$ALCA" run true)
    b=$(median_ms "$engine" exec "$cid" true)
  fi
  printf '%-8s %-34s %10.2f\n' "$engine" "alca run true" "$a"
  printf '%-8s %-34s %10.2f\n' "$engine" "$engine exec <container> true" "$b"
  python3 -c 'import sys; e=sys.argv[1]; a,b=map(float,sys.argv[2:]); print(f"{e:<8} ratio alca/bare: {a/b:.2f}x  (alca adds {a-b:.1f} ms)")' "$engine" "$a" "$b"
  XDG_CACHE_HOME="$work/cache" "$ALCA" down >/dev/null 2>&1
  cd - >/dev/null
done

echo
echo "sizes:"
ls -l "$ALCA" | awk '{printf "  alca binary            %8.1f MiB\n", $5/1048576}'
for p in docker podman; do
  f=$(ls target/wasm-plugins/wasm32-wasip2/release/alca_plugin_$p.wasm)
  ls -l "$f" | awk -v p="$p" '{printf "  %-22s %8.1f KiB\n", p" plugin (.wasm)", $5/1024}'
done
for f in "$work"/cache/alca/compiled/*.cwasm; do
  [ -e "$f" ] && ls -l "$f" | awk '{printf "  compiled plugin (.cwasm) %6.1f KiB\n", $5/1024}'
done
