#!/usr/bin/env bash
# What alca costs on top of the engine CLI (issue 9), measured side by side in one run with
# hyperfine (no shell: -N) on a release build, with throwaway XDG directories:
#
#   - `alca run true`  vs `<engine> exec <c> true` (and vs the exec argv alca plans, run bare),
#                      on docker and on podman
#   - `alca status`    vs one `<engine> container inspect <c>`, on docker and on podman
#   - beside both, the smallest host (a std-only Rust program that runs the same command line and
#     prints its output): what any wrapper of the engine CLI costs here, alca or not
#   - `alca list --runtime docker` with 1 and with 50 alca containers vs `docker ps` + one batched
#                      `docker inspect`; `alca list` (every runtime) vs both engines asked the same way
#   - `alca --version`, an empty Rust program and `true`
#   - plugin load, compiled vs cached, for every plugin in the repository (the built-ins and the
#     examples: containerd-py in Python, docker-js in JavaScript), from alca's `-vv` timing lines
#   - engine CLI spawns per command (run, status, list, up on a running container), from `-v`
#
# Each comparison is BENCH_ROUNDS hyperfine invocations holding all of its commands, the order
# reversed every other round; medians are taken over the pooled runs, so drift on a shared machine
# hits both sides alike. Prints markdown (docs/performance.md keeps the latest).
#
# Usage: scripts/bench.sh [runs]          runs per command (default 60)
# Environment: BENCH_ROUNDS (4), BENCH_LIST_N (50), BENCH_LOAD_RUNS (15), BENCH_COMPILE_RUNS (3),
#   BENCH_NO_BUILD=1 (use target/release/alca as it is), BENCH_WAIT (seconds to wait for other
#   builds/tests to finish before each measurement, default 900), BENCH_MAX_LOAD (the 1-minute
#   load average to wait for before the first one, default 0.8), ALCA_TEST_IMAGE.
# Needs root (network isolation: nftables), docker and podman (scripts/provision.sh) and hyperfine
# (installed from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS="${1:-60}"
ROUNDS="${BENCH_ROUNDS:-4}"
LIST_N="${BENCH_LIST_N:-50}"
LOAD_RUNS="${BENCH_LOAD_RUNS:-15}"
COMPILE_RUNS="${BENCH_COMPILE_RUNS:-3}"
WAIT="${BENCH_WAIT:-900}"
MAX_LOAD="${BENCH_MAX_LOAD:-0.8}"
IMAGE="${ALCA_TEST_IMAGE:-alca-test-busybox:latest}"
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
# alca's own log and timing lines, without other crates' debug output, whatever the version.
TRACE="warn,alca=trace,alca_core=trace"
say() { printf '[bench] %s\n' "$*" >&2; }

# --- prerequisites -------------------------------------------------------------------------------
if ! docker version >/dev/null 2>&1 || ! podman version >/dev/null 2>&1 \
  || ! docker image inspect "$IMAGE" >/dev/null 2>&1 || ! podman image inspect "$IMAGE" >/dev/null 2>&1; then
  scripts/provision.sh >/dev/null
fi
if ! command -v hyperfine >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { say "hyperfine is missing: apt-get install hyperfine (as root)"; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi

# --- a quiet machine -----------------------------------------------------------------------------
# Another build, test run or CI run (under /tmp/ci) makes the numbers meaningless: wait for it.
busy() {
  pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null || pgrep -f '^/tmp/ci/' >/dev/null
}
NOISY=0
wait_quiet() {
  local waited=0
  while busy; do
    if [ "$waited" -ge "$WAIT" ]; then
      say "WARNING: still busy after ${WAIT}s (cargo, rustc or a CI run); measuring anyway"
      NOISY=1
      return
    fi
    [ "$waited" -eq 0 ] && say "waiting for other heavy jobs (cargo, rustc, /tmp/ci) to finish..."
    sleep 10
    waited=$((waited + 10))
  done
}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  say "building the release binary"
  cargo build --release --locked -q
fi
ALCA="$ROOT/target/release/alca"
[ -x "$ALCA" ] || { say "no $ALCA: build it (cargo build --release --locked)"; exit 1; }

# --- throwaway state, removed whatever happens ---------------------------------------------------
work=$(mktemp -d /tmp/alca-bench.XXXXXX)
export BENCH_WORK="$work"
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" XDG_STATE_HOME="$work/state"
mkdir -p "$work/hf" "$work/med" "$work/log" "$work/projects" \
  "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME"
: >"$work/rows.tsv"; : >"$work/spawns.tsv"; : >"$work/plugins.tsv"; : >"$work/extra.containers"
cleanup() {
  set +e
  for p in "$work"/projects/*/; do
    [ -f "$p/.alca.toml" ] && (cd "$p" && "$ALCA" down >/dev/null 2>&1)
  done
  [ -s "$work/extra.containers" ] && xargs docker rm -f <"$work/extra.containers" >/dev/null 2>&1
  [ -d "$work/containerd" ] && "$ROOT/scripts/containerd.sh" stop "$work/containerd" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/stats.py" <<'PY'
import glob, json, os, re, statistics, sys
work = os.environ["BENCH_WORK"]

def to_ms(value, unit):
    return float(value) * {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]

def pool(key):
    """Pools the runs of every round of comparison `key` into $work/med/KEY.json (ms)."""
    by = {}
    for f in sorted(glob.glob(f"{work}/hf/{key}.*.json")):
        for r in json.load(open(f))["results"]:
            by.setdefault(r["command"], []).extend(r["times"])
    out = {}
    for name, t in by.items():
        out[name] = s = {"median": statistics.median(t) * 1000, "n": len(t), "min": min(t) * 1000,
                         "stdev": statistics.stdev(t) * 1000 if len(t) > 1 else 0.0}
        print(f"    {name:<34} median {s['median']:8.2f} ms  min {s['min']:8.2f}  sd {s['stdev']:6.2f}  n={s['n']}",
              file=sys.stderr)
    json.dump(out, open(f"{work}/med/{key}.json", "w"))

# `-v` lines. alca >= issue 9: `spawn: <argv>` for every program started (plugins' spawns carry
# `[plugin] `). Before: `run: <argv>` (plugins' spawns) and `exec: <argv>` (what `alca run` became).
PREFIX = r"^debug: (?:\[[^\]]*\] )?"
SPAWN = re.compile(PREFIX + r"spawn: '?([^ ']+)(.*)$")
OLD_SPAWN = re.compile(PREFIX + r"run: '?([^ ']+)")
OLD_EXEC = re.compile(r"^debug: exec: '?([^ ']+)")
EXIT = re.compile(PREFIX + r"(?:exit \S+|killed by a signal) after ([0-9.]+)(ns|µs|us|ms|s): ", re.M)

def spawns(log):
    """Programs alca started, from a `-v` log: `<total>\\t<program count, ...>`."""
    lines = open(log, errors="replace").read().splitlines()
    new = any(SPAWN.match(l) for l in lines)
    counts = {}
    for line in lines:
        for rx, suffix in ([(SPAWN, "")] if new else [(OLD_SPAWN, ""), (OLD_EXEC, " (exec)")]):
            m = rx.match(line)
            if m:
                prog = os.path.basename(m.group(1)) + suffix
                counts[prog] = counts.get(prog, 0) + 1
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
    # alca's firewall (nft, through sudo when not root) is not an engine CLI.
    engine = sum(v for k, v in counts.items() if k.split()[0] not in ("nft", "sudo"))
    print(f"{engine}\t{shown}")

def planned(log):
    """The last command `alca run` ran attached (the exec), as alca showed it."""
    found = ""
    for line in open(log, errors="replace"):
        m = re.match(r"^debug: spawn: (.*) \((?:attached to the terminal|replacing alca)\)$", line.rstrip("\n"))
        m = m or re.match(r"^debug: exec: (.*)$", line.rstrip("\n"))
        if m:
            found = m.group(1)
    print(found)

# `-vv` timing lines (`time: <what> in <x> ms (at <t> ms)`), by phase; the `-v` line
# `loaded in X ms (Hit), instantiated and answered `info` in Y ms` when there are none.
PHASES = [
    # "read and hashed", "unchanged since hashed: sha256 remembered, not read", "hashed when alca was built"
    ("read_hash", r"`: component \(.*?\) .*? in ([0-9.]+) ms"),
    ("engine", r"wasmtime engine created in ([0-9.]+) ms"),
    ("linker", r"plugin linker(?: \(with wasi:http\))? made in ([0-9.]+) ms"),
    ("load", r"KiB component (?:loaded from the compiled cache|compiled now.*?) in ([0-9.]+) ms"),
    ("link", r"checked, imports linked in ([0-9.]+) ms"),
    ("inst", r": instantiated in ([0-9.]+) ms"),
    ("info", r": `info` returned in ([0-9.]+) ms"),
]
LOADED = re.compile(r"loaded in ([0-9.]+) ms \((\w+)\), instantiated and answered `info` in ([0-9.]+) ms")

def loads(out, *logs):
    """Medians over the logs of one plugin's loads, into JSON file `out`."""
    series = {}
    for log in logs:
        text = open(log, errors="replace").read()
        row = {}
        for key, rx in PHASES:
            m = re.search(r"time: .*?" + rx, text)
            if m:
                row[key] = float(m.group(1))
        m = LOADED.search(text)
        if m:
            row["loaded"], row["outcome"], row["inst_info"] = float(m.group(1)), m.group(2), float(m.group(3))
        row["spawns"] = sum(to_ms(a, u) for a, u in EXIT.findall(text))
        for k, v in row.items():
            series.setdefault(k, []).append(v)
    res = {k: (statistics.median(v) if k != "outcome" else "/".join(sorted(set(v)))) for k, v in series.items()}
    res["n"] = len(series.get("loaded", []))
    # Loading and instantiating a plugin: reading and hashing its component, loading it (compiled
    # code from the cache, or compiling), linking its imports, instantiating it.
    if "inst" in res and "read_hash" in res:
        res["total"] = res["read_hash"] + res["loaded"] + res["inst"]
    elif "loaded" in res:
        res["total"] = res["loaded"] + res["inst_info"]  # older alca: no read+hash, `info` included
    json.dump(res, open(out, "w"))
    print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in res.items()}), file=sys.stderr)

def fmt(d, k, digits=2):
    return f"{d[k]:.{digits}f}" if isinstance(d.get(k), (int, float)) else "-"

def table(noisy):
    med = lambda key: json.load(open(f"{work}/med/{key}.json"))
    print("| Measurement | alca median (ms) | baseline | baseline median (ms) | ratio | target |")
    print("|---|---:|---|---:|---:|---|")
    for line in open(f"{work}/rows.tsv"):
        label, key, a, b, target = line.rstrip("\n").split("\t")
        m = med(key)
        am = m[a]["median"]
        if b == "-":
            print(f"| {label} | {am:.1f} | | | | {target} |")
            continue
        bm = m[b]["median"]
        ratio = am / bm
        t = re.match(r"≤ ([0-9.]+)×", target)
        verdict = (" ✓" if ratio <= float(t.group(1)) else " **over**") if t else ""
        shown = f"{ratio:.2f}"
        if t and float(shown) == float(t.group(1)):
            shown = f"{ratio:.3f}"  # on the line: one more digit says which side
        print(f"| {label} | {am:.1f} | `{b}` | {bm:.1f} | {shown}×{verdict} | {target} |")
    if noisy == "1":
        print("\n**Other heavy jobs were running during part of this run.**")
    print()
    print("| Command | engine CLI spawns | every program alca started | target (engine spawns) |")
    print("|---|---:|---|---|")
    for line in open(f"{work}/spawns.tsv"):
        cmd, total, shown, target = line.rstrip("\n").split("\t")
        print(f"| {cmd} | {total} | {shown} | {target} |")
    print()
    print("| Plugin | language | component (KiB) | compile (ms) | cached: read + hash | load | link | instantiate "
          "| load + instantiate (ms) | target | per process: wasmtime engine + linker (ms) "
          "| end to end: `plugin info --check` − `plugin info` (ms) | of which `detect` spawns (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for line in open(f"{work}/plugins.tsv"):
        pid, lang, kib, target, e2e = line.rstrip("\n").split("\t")
        c = json.load(open(f"{work}/med/plugin-{pid}-compile.json"))
        h = json.load(open(f"{work}/med/plugin-{pid}-cached.json"))
        total = fmt(h, "total")
        lim = re.match(r"< ([0-9.]+) ms", target)
        if lim and isinstance(h.get("total"), float):
            total += " ✓" if h["total"] < float(lim.group(1)) else " **over**"
        inst = fmt(h, "inst") if "inst" in h else f"{fmt(h, 'inst_info')} (with `info`)"
        per_process = f"{h['engine'] + h['linker']:.2f}" if "engine" in h and "linker" in h else "-"
        print(f"| {pid} | {lang} | {kib} | {fmt(c, 'loaded', 0)} | {fmt(h, 'read_hash')} | {fmt(h, 'load' if 'load' in h else 'loaded')} "
              f"| {fmt(h, 'link')} | {inst} | {total} | {target} | {per_process} | {e2e} | {fmt(h, 'spawns', 1)} |")

if __name__ == "__main__":
    {"pool": pool, "spawns": spawns, "planned": planned, "loads": loads, "table": table}[sys.argv[1]](*sys.argv[2:])
PY
stats() { python3 "$work/stats.py" "$@"; }

# compare KEY NAME1 CMD1 [NAME2 CMD2 ...]: one comparison in $ROUNDS hyperfine invocations (the
# order reversed every other round); medians of the pooled runs go to $work/med/KEY.json.
HF_EXTRA=()
compare() {
  local key=$1; shift
  local names=() cmds=() i r
  while [ $# -gt 0 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
  say "measuring: ${names[*]}"
  for r in $(seq 1 "$ROUNDS"); do
    wait_quiet
    local args=()
    if [ $((r % 2)) -eq 1 ]; then
      for i in "${!names[@]}"; do args+=(-n "${names[$i]}"); done
      args+=("${cmds[@]}")
    else
      for ((i = ${#names[@]} - 1; i >= 0; i--)); do args+=(-n "${names[$i]}"); done
      for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do args+=("${cmds[$i]}"); done
    fi
    hyperfine -N --style none --warmup 3 --runs "$PER_ROUND" "${HF_EXTRA[@]}" \
      --export-json "$work/hf/$key.$r.json" "${args[@]}" >/dev/null
  done
  stats pool "$key"
}
# row LABEL KEY NAME BASELINE-NAME|- TARGET: a line of the main table.
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$work/rows.tsv"; }

# spawns LABEL TARGET ALCA-ARGS...: the programs one command starts, from its `-v` log lines (in
# $PWD). The log is asked for with ALCA_LOG, not -v: `alca status -v` also asks the engine's version.
DEBUG="warn,alca=debug,alca_core=debug"
spawns() {
  local label=$1 target=$2; shift 2
  local log="$work/log/spawns.$(date +%s%N).log" out
  ALCA_LOG=$DEBUG "$ALCA" "$@" >/dev/null 2>"$log" </dev/null || { say "alca $* failed:"; cat "$log" >&2; exit 1; }
  out=$(stats spawns "$log")
  printf '%s\t%s\t%s\n' "$label" "$out" "$target" >>"$work/spawns.tsv"
  say "spawns: $label: $(tr '\t' ' ' <<<"$out")"
}

project() { # project NAME RUNTIME: a project directory on the test image; prints its path
  local dir="$work/projects/$1"
  mkdir -p "$dir"
  printf 'image = "%s"\nruntime = "%s"\n' "$IMAGE" "$2" >"$dir/.alca.toml"
  echo "$dir"
}

# ...and, before the first measurement, for the load average to settle (a build just ended?).
settle() {
  local waited=0
  while awk -v max="$MAX_LOAD" '{ exit !($1 > max) }' /proc/loadavg && [ "$waited" -lt "$WAIT" ]; do
    [ "$waited" -eq 0 ] && say "waiting for the load average ($(cut -d' ' -f1 /proc/loadavg)) to fall below $MAX_LOAD..."
    sleep 10
    waited=$((waited + 10))
  done
}

COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core cli plugins Cargo.lock 2>/dev/null || echo ' + uncommitted changes in core/cli/plugins')"
wait_quiet
settle
say "load average $(cut -d' ' -f1-3 /proc/loadavg); $("$ALCA" --version | head -1) at $COMMIT"

# Two yardsticks, built here with rustc (std only): an empty program, and the smallest host: a
# program that runs the command line it is given, output captured, and prints that output. Any
# tool that wraps the engine CLI costs at least what the host adds to the bare command.
printf 'fn main() {}\n' >"$work/empty.rs"
cat >"$work/host.rs" <<'RS'
use std::io::Write;
use std::process::{Command, Stdio};
fn main() {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("usage: host PROGRAM [ARGS...]");
    let out = Command::new(program).args(args).stdin(Stdio::null()).output().expect("cannot run it");
    std::io::stdout().write_all(&out.stdout).expect("cannot write");
    std::process::exit(out.status.code().unwrap_or(1));
}
RS
rustc -O -o "$work/empty" "$work/empty.rs"
rustc -O -o "$work/host" "$work/host.rs"

# --- run and status, per engine ------------------------------------------------------------------
for engine in docker podman; do
  dir=$(project "$engine" "$engine")
  cd "$dir"
  "$ALCA" up -q
  cid=$("$ALCA" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["container"]["id"])')
  "$ALCA" run true
  # The exec exactly as alca plans it, run bare: tells alca's own time from argv differences.
  ALCA_LOG=$DEBUG "$ALCA" run true >/dev/null 2>"$work/log/run.$engine.log"
  planned=$(stats planned "$work/log/run.$engine.log")
  [ -n "$planned" ] || { say "no exec line in alca -v run's log"; cat "$work/log/run.$engine.log" >&2; exit 1; }
  # alca's own phases, once (`-vv`), for the report.
  ALCA_LOG=$TRACE "$ALCA" run true >/dev/null 2>"$work/log/phases.$engine.log"

  spawns "\`alca run true\` ($engine)" "1 (the exec)" run true
  spawns "\`alca status\` ($engine)" "1 (one inspect)" status
  spawns "\`alca up\`, container running ($engine)" "1 (one inspect)" up

  compare "run-$engine" \
    "alca run true" "$ALCA run true" \
    "$engine exec <c> true" "$engine exec $cid true" \
    "same exec argv, bare" "$planned" \
    "minimal host + exec" "$work/host $planned"
  row "\`alca run true\` ($engine)" "run-$engine" "alca run true" "$engine exec <c> true" "≤ 1.05×"
  row "\`alca run true\` ($engine) vs the exec argv alca plans, run bare" "run-$engine" "alca run true" "same exec argv, bare" "(alca's own time)"
  row "the smallest host running that exec argv ($engine)" "run-$engine" "minimal host + exec" "same exec argv, bare" "(any wrapper's floor)"
  compare "status-$engine" \
    "alca status" "$ALCA status" \
    "$engine container inspect <c>" "$engine container inspect $cid" \
    "minimal host + inspect" "$work/host $engine container inspect $cid"
  row "\`alca status\` ($engine)" "status-$engine" "alca status" "$engine container inspect <c>" "≤ 1.10×"
  row "the smallest host running that inspect ($engine)" "status-$engine" "minimal host + inspect" "$engine container inspect <c>" "(any wrapper's floor)"
  row "\`alca status\` ($engine) vs the smallest host" "status-$engine" "alca status" "minimal host + inspect" "(alca's own time)"
  [ "$engine" = podman ] && "$ALCA" down >/dev/null
  cd "$ROOT"
done

# --- list, with 1 and with $LIST_N alca containers -----------------------------------------------
# `alca list --runtime docker` asks Docker alone, as the target's baseline does; plain `alca list`
# asks every runtime (Docker and Podman here, concurrently), against both engines' CLIs asked the
# same way (Podman's inspect only when it listed something, as its plugin does).
list_compare() { # list_compare KEY
  local have docker_q podman_q
  have=$(docker container ls -aq --no-trunc --filter label=alca.project.id | wc -l)
  docker_q="docker container inspect \$(docker container ls --all --quiet --no-trunc --filter label=alca.project.id) >/dev/null"
  podman_q="p=\$(podman container ls --all --quiet --no-trunc --filter label=alca.project.id); [ -z \"\$p\" ] || podman container inspect \$p >/dev/null"
  cd "$work/projects/docker"
  spawns "\`alca list --runtime docker\`, $have alca containers" "constant: one list + one batched inspect" list --runtime docker
  spawns "\`alca list\`, $have alca containers" "constant: one list + one batched inspect per runtime" list
  compare "$1" \
    "alca list --runtime docker" "$ALCA list --runtime docker" \
    "docker ps + inspect" "sh -c '$docker_q'" \
    "alca list" "$ALCA list" \
    "docker and podman ps + inspect, concurrently" "sh -c '$docker_q & $podman_q; wait'"
  row "\`alca list --runtime docker\`, $have alca containers" "$1" "alca list --runtime docker" "docker ps + inspect" "≤ 1.2×"
  row "\`alca list\` (Docker and Podman), $have alca containers on Docker" "$1" "alca list" \
    "docker and podman ps + inspect, concurrently" "≤ 1.2×"
  cd "$ROOT"
}
list_compare list-1
say "creating $((LIST_N - 1)) more alca-labelled containers"
for i in $(seq 2 "$LIST_N"); do
  name="alca-bench-$$-$i"
  echo "$name" >>"$work/extra.containers"
  docker run -d --name "$name" --label "alca.project.id=bench-$$-$i" \
    --label "alca.project.path=$work/projects/extra-$i" --label "alca.version=bench" \
    "$IMAGE" sleep 1d >/dev/null
done
list_compare list-n
xargs docker rm -f <"$work/extra.containers" >/dev/null
: >"$work/extra.containers"
(cd "$work/projects/docker" && "$ALCA" down >/dev/null)

# --- alca --version ------------------------------------------------------------------------------
# Beside it, what any extra process costs here: an empty Rust program and `true`.
compare version "alca --version" "$ALCA --version" "fn main() {}" "$work/empty" "true" "$(command -v true)"
row "\`alca --version\`" version "alca --version" - "(no plugin loaded)"
row "an empty Rust program (\`fn main() {}\`, \`rustc -O\`)" version "fn main() {}" - "(one more process)"
row "\`true\`" version "true" - ""
compare sh "sh -c true" "sh -c true"
row "\`sh -c true\` (included in the \`alca list\` baselines)" sh "sh -c true" - ""

# --- plugin load: compiled vs cached, every plugin in the repository -----------------------------
manifest_id() { python3 -c 'import sys,tomllib; print(tomllib.load(open(sys.argv[1],"rb"))["id"])' "$1/alca-plugin.toml"; }
plugins=("docker rust builtin" "podman rust builtin" "apple rust builtin")
# The containerd example asks a containerd of its own (scripts/containerd.sh), as its tests do.
if ctrenv=$(scripts/containerd.sh start "$work/containerd" 2>"$work/log/containerd.log"); then
  eval "$ctrenv"
  export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE
else
  say "no private containerd (see below): the containerd plugin's detect will fail"; cat "$work/log/containerd.log" >&2
fi
for ex in containerd-py:Python docker-js:JavaScript; do
  dir="$ROOT/plugins/examples/${ex%%:*}"
  if [ ! -f "$dir/plugin.wasm" ]; then
    say "building ${ex%%:*} (alca plugin build)"
    (cd "$dir" && "$ALCA" plugin build) >&2 || { say "cannot build ${ex%%:*}; skipped"; continue; }
  fi
  "$ALCA" plugin install --yes "$dir" >/dev/null 2>&1 || { say "cannot install ${ex%%:*}; skipped"; continue; }
  plugins+=("$(manifest_id "$dir") ${ex#*:} $dir/plugin.wasm")
done
cd "$work" # outside any project
for p in "${plugins[@]}"; do
  read -r id lang wasm <<<"$p"
  [ "$wasm" = builtin ] && wasm="$ROOT/target/wasm-plugins/wasm32-wasip2/release/alca_plugin_$id.wasm"
  kib=$(( $(stat -c %s "$wasm") / 1024 ))
  case $lang in rust) target="< 1 ms";; *) target="< 10 ms";; esac
  # `plugin info <id> --check` loads the plugin and asks its `detect` (a runtime not available
  # here, such as apple or containerd, still loads).
  say "plugin $id ($lang, $kib KiB): compiling $COMPILE_RUNS times"
  wait_quiet
  logs=()
  for i in $(seq 1 "$COMPILE_RUNS"); do
    rm -rf "$XDG_CACHE_HOME/alca/compiled"
    ALCA_LOG=$TRACE "$ALCA" plugin info "$id" --check >/dev/null 2>"$work/log/compile.$id.$i.log" || true
    logs+=("$work/log/compile.$id.$i.log")
  done
  stats loads "$work/med/plugin-$id-compile.json" "${logs[@]}"
  say "plugin $id: loading from the cache $LOAD_RUNS times"
  wait_quiet
  logs=()
  for i in $(seq 1 "$LOAD_RUNS"); do
    ALCA_LOG=$TRACE "$ALCA" plugin info "$id" --check >/dev/null 2>"$work/log/load.$id.$i.log" || true
    logs+=("$work/log/load.$id.$i.log")
  done
  stats loads "$work/med/plugin-$id-cached.json" "${logs[@]}"
  # End to end: what loading it (and its detect) adds to a command that does not load it.
  HF_EXTRA=(--ignore-failure)
  compare "load-$id" \
    "plugin info --check" "$ALCA plugin info $id --check" \
    "plugin info" "$ALCA plugin info $id"
  HF_EXTRA=()
  e2e=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); d=m["plugin info --check"]["median"]-m["plugin info"]["median"]; print(f"{d:.1f}")' "$work/med/load-$id.json")
  printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$lang" "$kib" "$target" "$e2e" >>"$work/plugins.tsv"
done

cd "$ROOT"
if [ -d "$work/containerd" ]; then scripts/containerd.sh stop "$work/containerd" >/dev/null 2>&1 || true; fi

# --- the report ----------------------------------------------------------------------------------
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on commit $COMMIT: release build, $RUNS runs per command in $ROUNDS rounds."
echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"); Docker $(docker version --format '{{.Server.Version}}')," \
  "Podman $(podman version --format '{{.Version}}'), hyperfine $(hyperfine --version | cut -d' ' -f2)."
echo
stats table "$NOISY"
echo
echo "alca's own phases in one \`alca -vv run true\` (docker), and the programs it started:"
echo
echo '```'
grep -E '^(trace: time:|debug: (\[[^]]*\] )?(spawn|exit|run|exec):)' "$work/log/phases.docker.log" | cut -c1-160 || true
echo '```'
echo
echo "Sizes: alca binary $(( $(stat -c %s "$ALCA") / 1048576 )) MiB."
exit 0
