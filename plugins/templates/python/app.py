"""`{{id}}`: an alca runtime plugin in Python, built with componentize-py.

As generated, it drives the `docker` CLI. To adapt it to your runtime, change
PROGRAM, the argument lists below and the parsing of what the CLI prints,
then make alca-plugin.toml grant exactly those invocations: alca checks every
`process.run` against it before anything starts.

Conventions worth keeping:
- operands go after `--`, so nothing alca passes through (an image name, a
  user's command line) can ever be read as an option;
- every failure is raised as `Err(RuntimeError_...)`, the typed error alca
  understands;
- what the plugin returns (ids, listed containers) comes from the engine's own
  output in the same call.

The `wit_world` bindings are generated from wit/runtime.wit by componentize-py
at build time.
"""

import json
from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import process
from wit_world.imports.process import OutputMode, RunOutput, RunRequest
from wit_world.imports.types import (
    Availability,
    CommandFailure,
    CommandPlan,
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    ExecOutput,
    ExecRequest,
    Features,
    KeyValue,
    LabelSelector,
    MountKind,
    NetworkMode_Named,
    NetworkMode_None_,
    PluginInfo,
    Protocol,
    RestartPolicy,
    RuntimeError_CommandFailed,
    RuntimeError_Conflict,
    RuntimeError_Denied,
    RuntimeError_InvalidSpec,
    RuntimeError_NotAvailable,
    RuntimeError_NotFound,
    RuntimeError_Parse,
    RuntimeError_TimedOut,
)

ID = "{{id}}"  # equals `id` in alca-plugin.toml
PROGRAM = "docker"  # a [[programs]] name in alca-plugin.toml
INSTALL_HINT = "install Docker (https://docs.docker.com/engine/install/)"
START_HINT = "start the Docker engine (Linux: `sudo systemctl start docker`; macOS: open Docker Desktop)"
QUICK_SECS = 60  # how long one quick CLI call may take


class Runtime(exports.Runtime):
    def info(self) -> PluginInfo:
        # What `create` can express beyond the basics; alca refuses (or warns
        # about) a configuration that needs a feature not listed.
        features = (
            Features.PORTS
            | Features.RESOURCE_LIMITS
            | Features.CAPABILITIES
            | Features.RESTART_POLICY
            | Features.NAMED_NETWORKS
            | Features.VOLUMES
            | Features.TMPFS
            | Features.INIT
            | Features.READ_ONLY_MOUNTS
            | Features.FRACTIONAL_CPUS
            | Features.PORT_HOST_IP
        )
        return PluginInfo(id=ID, name=ID, runtime=PROGRAM, version="0.1.0", features=features)

    def detect(self) -> Availability:
        if process.locate(PROGRAM) is None:
            return Availability(False, None, f"`{PROGRAM}` was not found on PATH", INSTALL_HINT, None, None)
        try:
            out = spawn(["version", "--format", "{{json .}}"], timeout_secs=20)
        except Err as e:
            return Availability(False, None, error_text(e.value), START_HINT, None, None)
        try:
            # `Server` is null when the CLI cannot reach the engine.
            version = (json.loads(out.stdout).get("Server") or {}).get("Version")
        except ValueError:
            version = None
        if out.exit_code == 0 and version:
            return Availability(True, version, None, None, None, None)
        return Availability(False, None, f"the engine did not answer: {tail(out.stderr, 300)}", START_HINT, None, None)

    def image_exists(self, image: str) -> bool:
        try:
            run(["image", "inspect", "--format", "{{.Id}}", "--", image])
            return True
        except Err as e:
            if isinstance(e.value, RuntimeError_NotFound):
                return False
            raise

    def image_pull(self, image: str) -> None:
        # Progress goes to the user; the grant's max-timeout-secs bounds it.
        run(["image", "pull", "--", image], timeout_secs=None, show_output=True)

    def create(self, spec: ContainerSpec) -> str:
        out = run(create_args(spec), timeout_secs=120)
        # The engine prints the new container's id.
        lines = [line.strip() for line in out.stdout.decode(errors="replace").splitlines() if line.strip()]
        if not lines:
            raise Err(RuntimeError_Parse("`container create` printed no id"))
        return lines[-1]

    def start(self, id: str) -> None:
        run(["container", "start", "--", id])

    def stop(self, id: str, grace_secs: Optional[int]) -> None:
        grace = 10 if grace_secs is None else grace_secs
        run(["container", "stop", "--time", str(grace), "--", id], timeout_secs=grace + 30)

    def remove(self, id: str, force: bool) -> None:
        try:
            run(["container", "rm"] + (["--force"] if force else []) + ["--", id])
        except Err as e:
            # Removal is idempotent.
            if not isinstance(e.value, RuntimeError_NotFound):
                raise

    def inspect(self, id: str) -> Optional[ContainerInfo]:
        try:
            out = run(["container", "inspect", "--", id])
        except Err as e:
            if isinstance(e.value, RuntimeError_NotFound):
                return None
            raise
        infos = parse_inspect(out.stdout)
        return infos[0] if infos else None

    def list_containers(self, selector: List[LabelSelector], include_stopped: bool) -> List[ContainerInfo]:
        args = ["container", "ls", "--quiet", "--no-trunc"] + (["--all"] if include_stopped else [])
        for s in selector:
            args += ["--filter", f"label={s.key}" if s.value is None else f"label={s.key}={s.value}"]
        ids = run(args).stdout.decode(errors="replace").split()
        if not ids:
            return []
        # A container may vanish between `ls` and `inspect`: keep the others.
        return parse_inspect(spawn(["container", "inspect", "--"] + ids).stdout)

    def exec(self, req: ExecRequest) -> ExecOutput:
        args = exec_args(req)
        out = spawn(args, timeout_secs=None)
        if out.exit_code is None:
            raise Err(RuntimeError_CommandFailed(failure(args, out)))
        return ExecOutput(out.exit_code, out.stdout, out.stderr, out.truncated)

    def exec_plan(self, req: ExecRequest) -> CommandPlan:
        # alca checks this against a rule with `interactive = true`, then runs
        # it on the user's terminal itself.
        return CommandPlan(PROGRAM, exec_args(req), [])


def spawn(args: List[str], timeout_secs: Optional[int] = QUICK_SECS, show_output: bool = False) -> RunOutput:
    """Runs PROGRAM with `args` through the host; returns the output whatever
    the exit code. A refused or failed spawn raises the matching RuntimeError."""
    mode = OutputMode.TO_USER if show_output else OutputMode.CAPTURE
    timeout_ms = None if timeout_secs is None else timeout_secs * 1000
    try:
        return process.run(RunRequest(PROGRAM, args, [], None, timeout_ms, mode, mode))
    except Err as e:
        err = e.value
        if isinstance(err, process.SpawnError_Denied):
            raise Err(RuntimeError_Denied(err.value))
        if isinstance(err, process.SpawnError_TimedOut):
            raise Err(RuntimeError_TimedOut(f"`{PROGRAM} {' '.join(args[:2])}` ran out of time"))
        raise Err(RuntimeError_NotAvailable(err.value))


def run(args: List[str], timeout_secs: Optional[int] = QUICK_SECS, show_output: bool = False) -> RunOutput:
    """Like spawn, but a non-zero exit raises the matching RuntimeError."""
    out = spawn(args, timeout_secs, show_output)
    if out.exit_code == 0:
        return out
    said = tail(out.stderr, 4096)
    last_line = said.splitlines()[-1] if said else ""
    low = said.lower()
    if any(s in low for s in ("cannot connect to the docker daemon", "is the docker daemon running", "error during connect")):
        raise Err(RuntimeError_NotAvailable(last_line))
    if any(s in low for s in ("no such container", "no such object", "no such image")):
        raise Err(RuntimeError_NotFound(last_line))
    if any(s in low for s in ("is already in use", "is not running", "is paused", "is restarting")):
        raise Err(RuntimeError_Conflict(last_line))
    raise Err(RuntimeError_CommandFailed(failure(args, out)))


def failure(args: List[str], out: RunOutput) -> CommandFailure:
    return CommandFailure(PROGRAM, args, out.exit_code, tail(out.stderr, 4096))


def tail(data: bytes, limit: int) -> str:
    return data[-limit:].decode(errors="replace").strip()


def error_text(err) -> str:
    if isinstance(err, RuntimeError_CommandFailed):
        return f"`{err.value.program} {' '.join(err.value.args)}` failed: {err.value.stderr_tail}"
    return str(err.value)


def create_args(spec: ContainerSpec) -> List[str]:
    """`container create` expressing every field of `spec`. The grant's
    `creates = true` rule checks that nothing which would weaken the sandbox
    (a dropped capability, a limit, the user...) was left out."""
    a = ["container", "create", "--name", spec.name]
    for kv in spec.labels:
        a += ["--label", f"{kv.key}={kv.value}"]
    for kv in spec.env:
        a += ["--env", f"{kv.key}={kv.value}"]
    if spec.workdir is not None:
        a += ["--workdir", spec.workdir]
    if spec.user is not None:
        a += ["--user", spec.user]
    command: List[str] = []
    if spec.entrypoint is not None:
        if not spec.entrypoint:
            raise Err(RuntimeError_InvalidSpec("the entrypoint is empty"))
        a += ["--entrypoint", spec.entrypoint[0]]
        command = spec.entrypoint[1:]
    for m in spec.mounts:
        ro = ":ro" if m.read_only else ""
        if m.kind == MountKind.TMPFS:
            a += ["--tmpfs", f"{m.target}{ro}"]
        else:
            a += ["--volume", f"{m.source}:{m.target}{ro}"]
    for p in spec.ports:
        host_port = p.container_port if p.host_port is None else p.host_port
        ip = "" if p.host_ip is None else (f"[{p.host_ip}]:" if ":" in p.host_ip else f"{p.host_ip}:")
        proto = "/udp" if p.protocol == Protocol.UDP else ""
        a += ["--publish", f"{ip}{host_port}:{p.container_port}{proto}"]
    if spec.resources.cpus is not None:
        a += ["--cpus", f"{spec.resources.cpus:g}"]
    if spec.resources.memory_bytes is not None:
        a += ["--memory", f"{spec.resources.memory_bytes}b"]
    for cap in spec.capabilities.drop:
        a += ["--cap-drop", cap]
    for cap in spec.capabilities.add:
        a += ["--cap-add", cap]
    if spec.restart == RestartPolicy.UNLESS_STOPPED:
        a += ["--restart", "unless-stopped"]
    if isinstance(spec.network, NetworkMode_None_):
        a += ["--network", "none"]
    elif isinstance(spec.network, NetworkMode_Named):
        a += ["--network", spec.network.value]
    if spec.init:
        a.append("--init")
    # alca checks for the image and pulls it itself, visibly.
    return a + ["--pull=never", "--", spec.image] + command + spec.command


def exec_args(req: ExecRequest) -> List[str]:
    """`container exec`, the container and the command line after `--`."""
    a = ["container", "exec"]
    if req.interactive:
        a.append("--interactive")
    if req.tty:
        a.append("--tty")
    if req.user is not None:
        a += ["--user", req.user]
    if req.workdir is not None:
        a += ["--workdir", req.workdir]
    for kv in req.env:
        a += ["--env", f"{kv.key}={kv.value}"]
    return a + ["--", req.container] + req.argv


STATES = {
    "created": ContainerState.CREATED,
    "running": ContainerState.RUNNING,
    "paused": ContainerState.PAUSED,
    "restarting": ContainerState.RESTARTING,
    "removing": ContainerState.REMOVING,
    "exited": ContainerState.EXITED,
    "dead": ContainerState.DEAD,
}


def parse_inspect(stdout: bytes) -> List[ContainerInfo]:
    """The JSON array `container inspect` prints."""
    if not stdout.strip():
        return []
    try:
        items = json.loads(stdout)
    except ValueError as e:
        raise Err(RuntimeError_Parse(f"`container inspect` did not print JSON: {e}"))
    if not isinstance(items, list):
        raise Err(RuntimeError_Parse("`container inspect` did not print a JSON array"))
    return [container_info(item) for item in items]


def container_info(v: dict) -> ContainerInfo:
    if not v.get("Id"):
        raise Err(RuntimeError_Parse("an inspected container has no `Id`"))
    config = v.get("Config") or {}
    state = v.get("State") or {}
    labels = sorted(
        (KeyValue(k, val) for k, val in (config.get("Labels") or {}).items() if isinstance(val, str)),
        key=lambda kv: kv.key,
    )
    networks = (v.get("NetworkSettings") or {}).get("Networks") or {}
    exit_code = state.get("ExitCode")
    started = state.get("StartedAt") or None
    return ContainerInfo(
        id=v["Id"],
        name=(v.get("Name") or "").lstrip("/"),
        image=config.get("Image") or "",
        state=STATES.get(state.get("Status"), ContainerState.UNKNOWN),
        labels=labels,
        exit_code=exit_code if isinstance(exit_code, int) else None,
        created_at=v.get("Created") or None,
        # docker reports a never-started container as started in year 1.
        started_at=None if started is None or started.startswith("0001-") else started,
        ip_addresses=[n["IPAddress"] for n in networks.values() if n.get("IPAddress")],
    )
