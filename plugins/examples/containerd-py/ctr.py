"""What the containerd plugin asks `ctr` to do, and how it reads the answers.

Pure functions only (no WIT bindings), so they run and are unit-tested with an
ordinary Python: `python3 -m unittest discover -s tests` in this directory.

How ctr 1.6 reads its arguments (urfave/cli v1 on Go's `flag` package), and
what the argument lists below do about it:

* `--flag=value` is always one argument, so every value is written that way.
* Most commands *reorder* their arguments: every known flag, wherever it
  stands, is moved before the operands, and the word after a flag written
  without `=` (a boolean too) is moved with it. `sh -c '...'` as a container's
  command would lose its `-c` to `ctr container create --config`. So the
  operands always follow `--`, and booleans are written `--flag=true`: a bare
  boolean right before `--` would take the `--` along as its "value" and the
  operands would be reordered after all.
* `ctr task exec` does not reorder (it stops at its first operand); it gets
  the `--` anyway.
* Capabilities must be spelled `CAP_` + upper case: ctr refuses other
  prefixes and silently ignores other spellings (`CAP_chown` drops nothing),
  and it knows no `ALL` (`--cap-drop=CAP_ALL` drops nothing either). Dropping
  all capabilities therefore means dropping each of them by name.
"""

import json
import re
from typing import Dict, List, Optional, Sequence, Tuple

PROGRAM = "ctr"

# Every capability Linux defines (include/uapi/linux/capability.h, 0..40).
# "Drop ALL" drops each of these except those the spec adds back: dropping one
# the default set lacks is a no-op, and none is left behind whatever default
# set a containerd version starts from.
LINUX_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
    "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
    "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)

_CAP_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# What a label key or value may hold to be written into a containerd filter
# between double quotes without escapes.
_FILTER_SAFE = re.compile(r'^[^"\\\x00-\x1f\x7f]*$')


class SpecError(Exception):
    """The spec asks for something ctr cannot express (`invalid-spec`)."""


# ---------------------------------------------------------------------------
# Argument lists


def version_args() -> List[str]:
    # A missing socket would otherwise cost gRPC's default 10 s dial timeout.
    return ["--connect-timeout=3s", "version"]


def image_list_args() -> List[str]:
    return ["image", "ls", "--quiet=true"]


def image_pull_args(image: str) -> List[str]:
    return ["image", "pull", "--", image]


def capability(name: str) -> str:
    """`chown`, `CAP_CHOWN` -> `CHOWN`."""
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def capability_args(drop: Sequence[str], add: Sequence[str]) -> Tuple[List[str], List[str]]:
    """The names to `--cap-drop` and `--cap-add`, as ctr applies them.

    The contract applies `drop` before `add`; ctr adds first and drops after,
    so a capability the spec adds back is never dropped."""
    drops = [capability(c) for c in drop]
    adds = [capability(c) for c in add]
    for c in drops + adds:
        if not _CAP_NAME.match(c):
            raise SpecError(f"`{c}` is not a capability name")
    if "ALL" in adds:
        raise SpecError("adding ALL capabilities is not something this plugin does")
    added = set(adds)
    if "ALL" in drops:
        named = [c for c in drops if c != "ALL"]
        wanted = list(LINUX_CAPABILITIES) + [c for c in named if c not in LINUX_CAPABILITIES]
    else:
        wanted = drops
    out_drop: List[str] = []
    for c in wanted:
        if c not in added and c not in out_drop:
            out_drop.append(c)
    out_add: List[str] = []
    for c in adds:
        if c not in out_add:
            out_add.append(c)
    return out_drop, out_add


def create_args(spec) -> List[str]:
    """`ctr container create` for a container-spec (any object with the
    contract's field names). Raises SpecError for what ctr cannot express."""
    if spec.ports:
        raise SpecError("ctr has no port publishing (its containers get a network namespace with only loopback)")
    if spec.user is not None:
        raise SpecError("ctr 1.6 `container create` cannot set the container's user (no --user)")
    if spec.entrypoint is not None:
        raise SpecError("overriding the image's entrypoint is not supported by this plugin")
    if spec.resources.cpus is not None:
        raise SpecError(
            "ctr 1.6 `container create` has no --cpus (only --cpu-quota/--cpu-period, which alca's grant cannot bind yet)"
        )
    network = type(spec.network).__name__
    if network.endswith("Named"):
        raise SpecError("ctr has no named networks (without CNI a container gets only loopback)")
    if network.endswith("None_"):
        raise SpecError(
            "ctr has no --network option; its containers already have only loopback: use the default network"
        )
    if not spec.command:
        raise SpecError("ctr needs the container's command")

    args = ["container", "create", "--seccomp=true"]
    for kv in spec.labels:
        args.append(f"--label={kv.key}={kv.value}")
    for kv in spec.env:
        args.append(f"--env={kv.key}={kv.value}")
    if spec.workdir is not None:
        args.append(f"--cwd={spec.workdir}")
    for m in spec.mounts:
        kind = getattr(m.kind, "name", str(m.kind)).lower()
        if kind != "bind":
            raise SpecError(f"mount of kind {kind} at {m.target}: this plugin mounts host directories (bind) only")
        for path in (m.source, m.target):
            # ctr reads --mount as one CSV record of key=value fields.
            if any(ch in path for ch in ',"\n\r'):
                raise SpecError(f"mount path {path!r}: ctr's --mount cannot express a path with `,`, `\"` or a newline")
        mode = "ro" if m.read_only else "rw"
        args.append(f"--mount=type=bind,src={m.source},dst={m.target},options=rbind:{mode}")
    if spec.resources.memory_bytes is not None:
        args.append(f"--memory-limit={spec.resources.memory_bytes}")
    drop, add = capability_args(spec.capabilities.drop, spec.capabilities.add)
    args.extend(f"--cap-add=CAP_{c}" for c in add)
    args.extend(f"--cap-drop=CAP_{c}" for c in drop)
    args.append("--")
    args.append(spec.image)
    args.append(spec.name)
    args.extend(spec.command)
    return args


def task_start_args(cid: str) -> List[str]:
    return ["task", "start", "--null-io=true", "--detach=true", "--", cid]


def task_list_args() -> List[str]:
    return ["task", "ls"]


def task_kill_args(cid: str, signal: str, all_processes: bool = False) -> List[str]:
    args = ["task", "kill", f"--signal={signal}"]
    if all_processes:
        args.append("--all=true")
    return args + ["--", cid]


def task_wait_args(cid: str) -> List[str]:
    """`ctr task attach` waits for the task to exit, then deletes it: ctr 1.6
    has no `task wait`, and waiting inside ctr costs the plugin no time."""
    return ["task", "attach", "--", cid]


def task_delete_args(cid: str, force: bool) -> List[str]:
    return ["task", "delete"] + (["--force=true"] if force else []) + ["--", cid]


def container_delete_args(cid: str) -> List[str]:
    return ["container", "delete", "--", cid]


def container_info_args(cid: str) -> List[str]:
    return ["container", "info", "--", cid]


def quote_filter(s: str) -> str:
    if not _FILTER_SAFE.match(s):
        raise SpecError(f"label {s!r} cannot be written into a containerd filter")
    return f'"{s}"'


def label_filter(selectors) -> str:
    """Every selector, ANDed (`,`) into ONE containerd filter: ctr ORs the
    filters given as separate arguments."""
    parts = []
    for s in selectors:
        cond = f"labels.{quote_filter(s.key)}"
        if s.value is not None:
            cond += f"=={quote_filter(s.value)}"
        parts.append(cond)
    return ",".join(parts)


def container_list_args(selectors) -> List[str]:
    args = ["container", "ls", "--quiet=true"]
    if selectors:
        args += ["--", label_filter(selectors)]
    return args


def exec_args(req, exec_id: str) -> List[str]:
    args = ["task", "exec", f"--exec-id={exec_id}"]
    if req.workdir is not None:
        args.append(f"--cwd={req.workdir}")
    if req.user is not None:
        args.append(f"--user={req.user}")
    if req.tty:
        args.append("--tty")
    args.append("--")
    args.append(req.container)
    args.extend(req.argv)
    return args


# ---------------------------------------------------------------------------
# Reading what ctr prints


def parse_version(stdout: str) -> Tuple[Optional[str], Optional[str]]:
    """(client version, server version) from `ctr version`."""
    section = None
    found: Dict[str, str] = {}
    for line in stdout.splitlines():
        stripped = line.strip()
        if stripped in ("Client:", "Server:"):
            section = stripped[:-1]
        elif stripped.startswith("Version:") and section and section not in found:
            found[section] = stripped[len("Version:"):].strip()
    return found.get("Client"), found.get("Server")


def parse_task_list(stdout: str) -> Dict[str, str]:
    """`ctr task ls`: {container id: STATUS}."""
    tasks: Dict[str, str] = {}
    for i, line in enumerate(stdout.splitlines()):
        fields = line.split()
        if i == 0 and fields[:1] == ["TASK"]:
            continue
        if len(fields) >= 3:
            tasks[fields[0]] = fields[-1].upper()
    return tasks


# ctr's task statuses onto the contract's states. A container without a task
# has either never run or was stopped (alca's `stop` deletes the task): ctr
# keeps no record of which, so it is `exited`.
TASK_STATES = {
    "RUNNING": "running",
    "CREATED": "created",
    "STOPPED": "exited",
    "PAUSED": "paused",
    "PAUSING": "paused",
}


def state_of(task_status: Optional[str]) -> str:
    if task_status is None:
        return "exited"
    return TASK_STATES.get(task_status, "unknown")


def parse_container_info(stdout: str) -> dict:
    """`ctr container info`: the fields the contract's container-info needs."""
    data = json.loads(stdout)
    if not isinstance(data, dict) or not isinstance(data.get("ID"), str):
        raise ValueError("no container ID in `ctr container info` output")
    labels = data.get("Labels")
    labels = {} if labels is None else labels
    if not isinstance(labels, dict):
        raise ValueError("Labels is not an object")
    spec = data.get("Spec")
    process_ = spec.get("process") if isinstance(spec, dict) else None
    env = process_.get("env") if isinstance(process_, dict) else None
    return {
        "id": data["ID"],
        "env": [e for e in env if isinstance(e, str)] if isinstance(env, list) else [],
        "image": data.get("Image") or "",
        "labels": sorted((str(k), str(v)) for k, v in labels.items()),
        "created_at": data.get("CreatedAt") or None,
    }


def parse_ids(stdout: str) -> List[str]:
    return [line.strip() for line in stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# Failures

NOT_AVAILABLE = (
    "failed to dial",
    "connection refused",
    "connect: no such file or directory",
    "transport: error while dialing",
)
NOT_FOUND = ("not found", "no such", "process already finished")
CONFLICT = ("already exists", "failed precondition", "must be stopped", "is running")


def last_message(stderr: str) -> str:
    """ctr's own message: its last `ctr: ...` line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("ctr: "):
            return line[len("ctr: "):]
    return lines[-1] if lines else ""


def classify(stderr: str) -> str:
    """`not-available`, `not-found`, `conflict` or `command-failed`."""
    text = last_message(stderr).lower()
    if any(m in text for m in NOT_AVAILABLE):
        return "not-available"
    if any(m in text for m in NOT_FOUND):
        return "not-found"
    if any(m in text for m in CONFLICT):
        return "conflict"
    return "command-failed"


def exec_failed_to_start(exit_code: Optional[int], stderr: str) -> Optional[int]:
    """When ctr itself failed to start an exec'd command (its last line is
    `ctr: ...` and it exits 1), the exit code a shell would give: 127 for a
    missing program, 126 for one that cannot run; None otherwise."""
    if not ctr_failed(exit_code, stderr):
        return None
    text = last_message(stderr).lower()
    if "exec failed" not in text:
        return None
    if "executable file not found" in text or "no such file or directory" in text:
        return 127
    if "permission denied" in text or "exec format error" in text:
        return 126
    return None


def ctr_failed(exit_code: Optional[int], stderr: str) -> bool:
    """ctr itself failed (exit 1, its last line `ctr: ...`), rather than the
    command it ran exiting 1."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return exit_code == 1 and bool(lines) and lines[-1].startswith("ctr: ")


def docker_hub_name(image: str) -> Optional[str]:
    """The full name docker gives a short image name (`busybox:1` ->
    `docker.io/library/busybox:1`, `me/app` -> `docker.io/me/app`), or None
    when the name already names a registry."""
    first, _, rest = image.partition("/")
    if not rest:
        return f"docker.io/library/{image}"
    if "." in first or ":" in first or first == "localhost":
        return None
    return f"docker.io/{image}"


def tail(data: bytes, limit: int = 4096) -> str:
    return data[-limit:].decode("utf-8", "replace")
