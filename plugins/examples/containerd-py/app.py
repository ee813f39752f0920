"""An alca runtime plugin for containerd, through its `ctr` CLI, in Python.

alca ships Docker and Podman; this example shows that a third party can add a
runtime alca does not ship, in another language. It is a WebAssembly component
(built by componentize-py) implementing the world `runtime-plugin` of
`alca:runtime@0.1.0` (wit/runtime.wit). Its only power is `process.run`, which
alca checks against alca-plugin.toml before anything starts.

`ctr.py` builds the argument lists and reads ctr's output (pure functions,
unit-tested in tests/); this file runs them and speaks the contract.
"""

import os
import time
from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, process
from wit_world.imports.host import Level
from wit_world.imports.process import (
    OutputMode,
    RunOutput,
    RunRequest,
    SpawnError_Denied,
    SpawnError_ProgramNotFound,
    SpawnError_TimedOut,
)
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
    PluginInfo,
    RuntimeError_CommandFailed,
    RuntimeError_Conflict,
    RuntimeError_Denied,
    RuntimeError_InvalidSpec,
    RuntimeError_Unsupported,
    RuntimeError_NotAvailable,
    RuntimeError_NotFound,
    RuntimeError_Parse,
    RuntimeError_TimedOut,
)

import ctr

ID = "containerd"  # equals `id` in alca-plugin.toml
VERSION = "0.1.0"
QUICK_MS = 60_000  # one ordinary ctr call
DEFAULT_GRACE_SECS = 10
DEFAULT_SOCKET = "/run/containerd/containerd.sock"
START_HINT = (
    "start containerd (`sudo systemctl start containerd`, or scripts/containerd.sh in alca's repository for a "
    "private one), or set CONTAINERD_ADDRESS to its socket"
)
INSTALL_HINT = "install containerd and its ctr CLI (Debian/Ubuntu: `apt-get install containerd`)"

STATES = {
    "created": ContainerState.CREATED,
    "running": ContainerState.RUNNING,
    "paused": ContainerState.PAUSED,
    "exited": ContainerState.EXITED,
    "unknown": ContainerState.UNKNOWN,
}


def log(level: Level, message: str) -> None:
    host.log(level, message)


def where() -> str:
    address = host.env("CONTAINERD_ADDRESS") or DEFAULT_SOCKET
    namespace = host.env("CONTAINERD_NAMESPACE") or "default"
    return f"{address} (namespace {namespace})"


# ---------------------------------------------------------------------------
# Running ctr


def run(
    args: List[str],
    timeout_ms: Optional[int] = QUICK_MS,
    stdout: OutputMode = OutputMode.CAPTURE,
    stderr: OutputMode = OutputMode.CAPTURE,
) -> RunOutput:
    """Runs ctr; raises the contract's error when it cannot be started or
    runs out of time. A non-zero exit is returned, for the caller to judge."""
    req = RunRequest(
        program=ctr.PROGRAM, args=args, env=[], stdin=None, timeout_ms=timeout_ms, stdout=stdout, stderr=stderr
    )
    try:
        return process.run(req)
    except Err as e:
        err = e.value
        shown = " ".join(["ctr"] + args)
        if isinstance(err, SpawnError_Denied):
            raise Err(RuntimeError_Denied(err.value))
        if isinstance(err, SpawnError_ProgramNotFound):
            raise Err(RuntimeError_NotAvailable(f"ctr not found: {INSTALL_HINT}"))
        if isinstance(err, SpawnError_TimedOut):
            raise Err(RuntimeError_TimedOut(f"`{shown}` did not finish in time"))
        raise Err(RuntimeError_NotAvailable(f"cannot run `{shown}`: {err.value}"))


def failure(args: List[str], out: RunOutput):
    """The typed error for a ctr call that exited non-zero."""
    stderr = ctr.tail(out.stderr)
    kind = ctr.classify(stderr)
    message = ctr.last_message(stderr) or f"ctr exited with {out.exit_code}"
    if kind == "not-available":
        return RuntimeError_NotAvailable(f"containerd is not reachable at {where()}: {message}; {START_HINT}")
    if kind == "not-found":
        return RuntimeError_NotFound(message)
    if kind == "conflict":
        return RuntimeError_Conflict(message)
    return RuntimeError_CommandFailed(
        CommandFailure(program=ctr.PROGRAM, args=args, exit_code=out.exit_code, stderr_tail=stderr)
    )


def check(args: List[str], timeout_ms: Optional[int] = QUICK_MS) -> RunOutput:
    """Runs ctr; any non-zero exit is an error."""
    out = run(args, timeout_ms)
    if out.exit_code != 0:
        raise Err(failure(args, out))
    return out


def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def task_states() -> dict:
    return ctr.parse_task_list(text(check(ctr.task_list_args()).stdout))


def info_of(cid: str, tasks: dict) -> Optional[ContainerInfo]:
    """The container's record, or None when containerd has no such container."""
    args = ctr.container_info_args(cid)
    out = run(args)
    if out.exit_code != 0:
        err = failure(args, out)
        if isinstance(err, RuntimeError_NotFound):
            return None
        raise Err(err)
    try:
        data = ctr.parse_container_info(text(out.stdout))
    except ValueError as e:
        raise Err(RuntimeError_Parse(f"`ctr container info {cid}`: {e}"))
    return ContainerInfo(
        id=data["id"],
        name=data["id"],  # a containerd container's id is its name
        image=data["image"],
        state=STATES[ctr.state_of(tasks.get(data["id"]))],
        labels=[KeyValue(key=k, value=v) for k, v in data["labels"]],
        exit_code=None,  # ctr 1.6 does not report it once the task is gone
        created_at=data["created_at"],
        started_at=None,
        ip_addresses=[],  # no CNI: only loopback
    )


def unique_exec_id() -> str:
    try:
        suffix = os.urandom(6).hex()
    except Exception:  # no WASI random: the clock will do
        suffix = f"{time.time_ns() & 0xFFFFFFFFFFFF:012x}"
    return f"alca-{suffix}"


# ---------------------------------------------------------------------------
# The contract


class Runtime(exports.Runtime):
    def info(self) -> PluginInfo:
        # Only what `create` really expresses. Not RESOURCE_LIMITS (memory
        # works, CPUs do not: see ctr.create_args), nor ports, named
        # networks, volumes, tmpfs, init or a restart policy.
        features = Features.CAPABILITIES
        # Built against alca:runtime@0.2.0 (for testing), read-only mounts are
        # declared too: `options=rbind:ro` expresses them.
        read_only = getattr(Features, "READ_ONLY_MOUNTS", None)
        if read_only is not None:
            features |= read_only
        return PluginInfo(id=ID, name="containerd (ctr)", runtime="containerd", version=VERSION, features=features)

    def detect(self) -> Availability:
        if process.locate(ctr.PROGRAM) is None:
            return Availability(available=False, version=None, reason="ctr not found", hint=INSTALL_HINT)
        args = ctr.version_args()
        try:
            out = run(args, timeout_ms=10_000)
        except Err as e:
            return Availability(available=False, version=None, reason=str(getattr(e.value, "value", e.value)),
                                hint=START_HINT)
        client, server = ctr.parse_version(text(out.stdout))
        if out.exit_code == 0 and server:
            return Availability(available=True, version=server, reason=None, hint=None)
        why = ctr.last_message(ctr.tail(out.stderr)) or "no answer"
        hint = START_HINT
        if "permission denied" in why.lower():
            hint = "containerd's socket is root's: run alca as root, or point CONTAINERD_ADDRESS at a socket you may use"
        return Availability(
            available=False,
            version=None,
            reason=f"containerd is not reachable at {where()}: {why}",
            hint=hint,
        )

    def image_exists(self, image: str) -> bool:
        refs = ctr.parse_ids(text(check(ctr.image_list_args()).stdout))
        if image in refs:
            return True
        # ctr does not complete names: `busybox:latest` is not
        # `docker.io/library/busybox:latest`. Say so rather than pull.
        candidate = ctr.docker_hub_name(image)
        if candidate is not None and candidate in refs:
            raise Err(RuntimeError_InvalidSpec(
                f"containerd knows this image as `{candidate}`, not `{image}` (ctr does not complete image names): "
                f"write image = \"{candidate}\" in .alca.toml"
            ))
        return False

    def image_pull(self, image: str) -> None:
        args = ctr.image_pull_args(image)
        out = run(args, timeout_ms=None, stdout=OutputMode.TO_USER, stderr=OutputMode.CAPTURE)
        if out.exit_code != 0:
            raise Err(failure(args, out))

    def create(self, spec: ContainerSpec) -> str:
        try:
            args = ctr.create_args(spec)
        except ctr.SpecError as e:
            raise Err(RuntimeError_InvalidSpec(str(e)))
        if spec.init:
            log(Level.DEBUG, "ctr has no init process option; the container's command runs as PID 1")
        if getattr(spec.restart, "name", "NO") != "NO":
            log(Level.DEBUG, "ctr has no restart policy; the container stays stopped after a daemon restart")
        check(args)
        # ctr prints nothing: the container's id is the name alca chose.
        return spec.name

    def start(self, id: str) -> None:
        status = task_states().get(id)
        if status == "RUNNING":
            return
        if status == "PAUSED" or status == "PAUSING":
            raise Err(RuntimeError_Conflict(f"container {id} is paused (resume it with `ctr task resume {id}`)"))
        if status is not None:
            # A task that exited (or was never started) must go before a new one.
            check(ctr.task_delete_args(id, force=False))
        check(ctr.task_start_args(id))

    def stop(self, id: str, grace_secs: Optional[int]) -> None:
        status = task_states().get(id)
        if status is None:
            if info_of(id, {}) is None:
                raise Err(RuntimeError_NotFound(f"container {id} not found"))
            return  # stopped already
        if status == "RUNNING":
            args = ctr.task_kill_args(id, "SIGTERM")
            out = run(args)
            if out.exit_code != 0 and not isinstance(failure(args, out), RuntimeError_NotFound):
                raise Err(failure(args, out))
            grace = DEFAULT_GRACE_SECS if grace_secs is None else grace_secs
            if grace > 0:
                try:
                    # Returns when the task has exited, and deletes it.
                    run(ctr.task_wait_args(id), timeout_ms=grace * 1000)
                except Err as e:
                    if not isinstance(e.value, RuntimeError_TimedOut):
                        raise
                    log(Level.INFO, f"container {id} did not stop within {grace}s; killing it")
        # Whatever is left (the grace ran out, or the task had stopped): kill
        # and delete it. `--force` kills a task that still runs.
        if id in task_states():
            args = ctr.task_delete_args(id, force=True)
            out = run(args)
            if out.exit_code != 0 and not isinstance(failure(args, out), RuntimeError_NotFound):
                raise Err(failure(args, out))

    def remove(self, id: str, force: bool) -> None:
        status = task_states().get(id)
        if status is not None:
            if status == "RUNNING" and not force:
                raise Err(RuntimeError_Conflict(f"container {id} is running; stop it first, or remove it with force"))
            args = ctr.task_delete_args(id, force=status != "STOPPED")
            out = run(args)
            if out.exit_code != 0 and not isinstance(failure(args, out), RuntimeError_NotFound):
                raise Err(failure(args, out))
        args = ctr.container_delete_args(id)
        out = run(args)
        if out.exit_code != 0:
            err = failure(args, out)
            if not isinstance(err, RuntimeError_NotFound):
                raise Err(err)

    def inspect(self, id: str) -> Optional[ContainerInfo]:
        return info_of(id, task_states())

    def list_containers(self, selector: List[LabelSelector], include_stopped: bool) -> List[ContainerInfo]:
        try:
            args = ctr.container_list_args(selector)
        except ctr.SpecError as e:
            raise Err(RuntimeError_InvalidSpec(str(e)))
        ids = ctr.parse_ids(text(check(args).stdout))
        if not ids:
            return []
        tasks = task_states()
        found = []
        for cid in ids:
            info = info_of(cid, tasks)  # gone in between: skipped
            if info is not None and (include_stopped or info.state == ContainerState.RUNNING):
                found.append(info)
        return found

    def exec(self, req: ExecRequest) -> ExecOutput:
        refuse_env(req)
        args = ctr.exec_args(req, unique_exec_id())
        out = run(args, timeout_ms=None)
        stderr = bytes(out.stderr)
        if out.exit_code is None:
            raise Err(RuntimeError_CommandFailed(CommandFailure(
                program=ctr.PROGRAM, args=args, exit_code=None, stderr_tail=ctr.tail(stderr))))
        shell_code = ctr.exec_failed_to_start(out.exit_code, ctr.tail(stderr))
        if shell_code is not None:
            return ExecOutput(exit_code=shell_code, stdout=bytes(out.stdout), stderr=stderr, truncated=out.truncated)
        if ctr.ctr_failed(out.exit_code, ctr.tail(stderr)):
            err = failure(args, out)
            if not isinstance(err, RuntimeError_CommandFailed):
                raise Err(err)  # no such container, no running task, daemon gone
        # Otherwise ctr's exit status is the command's.
        return ExecOutput(exit_code=out.exit_code, stdout=bytes(out.stdout), stderr=stderr, truncated=out.truncated)

    def exec_plan(self, req: ExecRequest) -> CommandPlan:
        refuse_env(req)
        return CommandPlan(program=ctr.PROGRAM, args=ctr.exec_args(req, unique_exec_id()), env=[])


def refuse_env(req: ExecRequest) -> None:
    """ctr task exec has no --env: the command sees the container's own
    environment. That is fine when the request asks for the values the
    container already has; any other value is refused, never dropped."""
    if not req.env:
        return
    args = ctr.container_info_args(req.container)
    out = run(args)
    if out.exit_code != 0:
        raise Err(failure(args, out))
    try:
        have = set(ctr.parse_container_info(text(out.stdout))["env"])
    except ValueError as e:
        raise Err(RuntimeError_Parse(f"`ctr container info {req.container}`: {e}"))
    differ = [kv.key for kv in req.env if f"{kv.key}={kv.value}" not in have]
    if differ:
        raise Err(RuntimeError_Unsupported(
            f"ctr task exec cannot set environment variables, and {', '.join(differ)} would differ from the "
            "container's; set them in the container's environment (envs in .alca.toml, without "
            "override_on_enter) and recreate it"))
