"""Unit tests of ctr.py (argument lists and parsing), on an ordinary Python:

    cd plugins/examples/containerd-py && python3 -m unittest discover -s tests -v

The WIT types are stood in for by plain objects with the same field names.
"""

import os
import sys
import unittest
from types import SimpleNamespace as NS

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import ctr  # noqa: E402


class Kind:
    def __init__(self, name):
        self.name = name


class NetworkMode_Default:
    pass


class NetworkMode_None_:
    pass


class NetworkMode_Named:
    def __init__(self, value):
        self.value = value


KEEP_ALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"]


def spec(**changes):
    s = NS(
        name="alca-0123456789ab",
        image="docker.io/library/alca-test-busybox:latest",
        labels=[NS(key="alca.project.id", value="p1"), NS(key="alca.project.path", value="/home/u/proj")],
        env=[NS(key="A", value="1"), NS(key="EMPTY", value="")],
        mounts=[
            NS(kind=Kind("BIND"), source="/home/u/proj", target="/workspace", read_only=False),
            NS(kind=Kind("BIND"), source="/data", target="/data", read_only=True),
        ],
        ports=[],
        workdir="/workspace",
        user=None,
        entrypoint=None,
        command=list(KEEP_ALIVE),
        resources=NS(cpus=None, memory_bytes=None),
        capabilities=NS(drop=["ALL"], add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID"]),
        restart=Kind("UNLESS_STOPPED"),
        network=NetworkMode_Default(),
        init=False,
    )
    for k, v in changes.items():
        setattr(s, k, v)
    return s


class CreateArgs(unittest.TestCase):
    def test_shape(self):
        args = ctr.create_args(spec())
        self.assertEqual(args[:3], ["container", "create", "--seccomp=true"])
        sep = args.index("--")
        self.assertEqual(args[sep + 1:], [spec().image, spec().name] + KEEP_ALIVE)
        opts = args[3:sep]
        self.assertIn("--label=alca.project.id=p1", opts)
        self.assertIn("--env=EMPTY=", opts)
        self.assertIn("--cwd=/workspace", opts)
        self.assertIn("--mount=type=bind,src=/home/u/proj,dst=/workspace,options=rbind:rw", opts)
        self.assertIn("--mount=type=bind,src=/data,dst=/data,options=rbind:ro", opts)
        # Every value is one `--flag=value` argument: nothing for ctr to reorder.
        self.assertTrue(all(o.startswith("--") and "=" in o for o in opts), opts)

    def test_drop_all_drops_each_capability_but_the_added_ones(self):
        args = ctr.create_args(spec())
        drops = {a.split("=", 1)[1] for a in args if a.startswith("--cap-drop=")}
        adds = {a.split("=", 1)[1] for a in args if a.startswith("--cap-add=")}
        self.assertEqual(adds, {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"})
        self.assertEqual(drops, {f"CAP_{c}" for c in ctr.LINUX_CAPABILITIES} - adds)
        self.assertNotIn("CAP_ALL", drops)
        self.assertEqual(len(ctr.LINUX_CAPABILITIES), 41)

    def test_capabilities_are_spelled_as_ctr_needs(self):
        drop, add = ctr.capability_args(["cap_net_raw", "mknod"], ["chown", "CAP_NET_RAW"])
        self.assertEqual(drop, ["MKNOD"])  # NET_RAW is added back: the contract drops before it adds
        self.assertEqual(add, ["CHOWN", "NET_RAW"])
        with self.assertRaises(ctr.SpecError):
            ctr.capability_args([], ["ALL"])
        with self.assertRaises(ctr.SpecError):
            ctr.capability_args(["NET RAW"], [])

    def test_memory(self):
        args = ctr.create_args(spec(resources=NS(cpus=None, memory_bytes=2 * 1024**3)))
        self.assertIn("--memory-limit=2147483648", args)

    def test_what_ctr_cannot_express(self):
        for changes in [
            dict(ports=[NS(host_ip=None, host_port=8080, container_port=80, protocol=Kind("TCP"))]),
            dict(user="1000"),
            dict(entrypoint=["/bin/sh"]),
            dict(resources=NS(cpus=1.5, memory_bytes=None)),
            dict(network=NetworkMode_Named("mynet")),
            dict(network=NetworkMode_None_()),
            dict(mounts=[NS(kind=Kind("TMPFS"), source="", target="/tmp", read_only=False)]),
            dict(mounts=[NS(kind=Kind("VOLUME"), source="v", target="/v", read_only=False)]),
            dict(mounts=[NS(kind=Kind("BIND"), source="/a,b", target="/b", read_only=False)]),
            dict(command=[]),
        ]:
            with self.subTest(changes=changes), self.assertRaises(ctr.SpecError):
                ctr.create_args(spec(**changes))

    def test_init_and_restart_are_ignored(self):
        self.assertEqual(ctr.create_args(spec(init=True)), ctr.create_args(spec()))


class OtherArgs(unittest.TestCase):
    def test_operands_follow_a_double_dash(self):
        for args in [
            ctr.task_start_args("c"),
            ctr.task_kill_args("c", "SIGTERM"),
            ctr.task_kill_args("c", "SIGKILL", all_processes=True),
            ctr.task_wait_args("c"),
            ctr.task_delete_args("c", force=True),
            ctr.container_delete_args("c"),
            ctr.container_info_args("c"),
            ctr.image_pull_args("docker.io/library/x:1"),
        ]:
            with self.subTest(args=args):
                self.assertEqual(args[-2], "--")
                before = args[2:-2]
                self.assertTrue(all(a.startswith("--") and "=" in a for a in before), before)

    def test_exec(self):
        req = NS(container="c", argv=["ls", "-d", "--tty", "/"], tty=True, interactive=True, user="1000",
                 workdir="/workspace", env=[])
        self.assertEqual(
            ctr.exec_args(req, "alca-1"),
            ["task", "exec", "--exec-id=alca-1", "--cwd=/workspace", "--user=1000", "--tty", "--", "c",
             "ls", "-d", "--tty", "/"],
        )
        req.tty, req.user, req.workdir = False, None, None
        self.assertEqual(ctr.exec_args(req, "alca-2"),
                         ["task", "exec", "--exec-id=alca-2", "--", "c", "ls", "-d", "--tty", "/"])

    def test_label_filter_ands_every_selector_in_one_argument(self):
        sel = [NS(key="alca.project.id", value="p1"), NS(key="x", value=None)]
        self.assertEqual(
            ctr.container_list_args(sel),
            ["container", "ls", "--quiet=true", "--", 'labels."alca.project.id"=="p1",labels."x"'],
        )
        with self.assertRaises(ctr.SpecError):
            ctr.label_filter([NS(key="k", value='a"b')])

    def test_docker_hub_name(self):
        self.assertEqual(ctr.docker_hub_name("busybox:1"), "docker.io/library/busybox:1")
        self.assertEqual(ctr.docker_hub_name("me/app"), "docker.io/me/app")
        self.assertIsNone(ctr.docker_hub_name("ghcr.io/me/app"))
        self.assertIsNone(ctr.docker_hub_name("localhost:5000/app"))


class Parsing(unittest.TestCase):
    def test_version(self):
        out = "Client:\n  Version:  1.6.20~ds1\n  Revision: x\n\nServer:\n  Version:  1.6.21\n  UUID: u\n"
        self.assertEqual(ctr.parse_version(out), ("1.6.20~ds1", "1.6.21"))
        self.assertEqual(ctr.parse_version("Client:\n  Version:  1.6.20\n"), ("1.6.20", None))

    def test_task_list(self):
        out = "TASK    PID     STATUS    \nc1      2735    RUNNING\nc2      0       STOPPED\n"
        self.assertEqual(ctr.parse_task_list(out), {"c1": "RUNNING", "c2": "STOPPED"})
        self.assertEqual(ctr.parse_task_list("TASK    PID    STATUS    \n"), {})
        self.assertEqual(ctr.state_of(None), "exited")
        self.assertEqual(ctr.state_of("RUNNING"), "running")
        self.assertEqual(ctr.state_of("WEIRD"), "unknown")

    def test_container_info(self):
        out = ('{"ID":"c1","Labels":{"b":"2","a":"1"},"Image":"docker.io/library/x:1","CreatedAt":'
               '"2026-11-29T13:11:46.5Z","Spec":{}}')
        info = ctr.parse_container_info(out)
        self.assertEqual(info["id"], "c1")
        self.assertEqual(info["labels"], [("a", "1"), ("b", "2")])
        self.assertEqual(info["created_at"], "2026-11-29T13:11:46.5Z")
        for bad in ["[]", "{}", '{"ID": 3}', '{"ID":"c","Labels":[]}']:
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                ctr.parse_container_info(bad)

    def test_classify(self):
        cases = {
            'ctr: container "x" in namespace "alca": not found': "not-found",
            "ctr: no running task found: task c1 not found: not found": "not-found",
            'ctr: failed to dial "/run/containerd/containerd.sock": context deadline exceeded': "not-available",
            'ctr: container "c1": already exists': "conflict",
            "ctr: task must be stopped before deletion: running: failed precondition": "conflict",
            "ctr: something else": "command-failed",
        }
        for stderr, kind in cases.items():
            with self.subTest(stderr=stderr):
                self.assertEqual(ctr.classify('time="..." level=error msg="x"\n' + stderr + "\n"), kind)

    def test_exec_failures(self):
        missing = 'ctr: OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": ' \
                  "executable file not found in $PATH: unknown\n"
        self.assertEqual(ctr.exec_failed_to_start(1, missing), 127)
        denied = 'ctr: OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc": ' \
                 "permission denied: unknown\n"
        self.assertEqual(ctr.exec_failed_to_start(1, denied), 126)
        self.assertIsNone(ctr.exec_failed_to_start(3, missing))
        self.assertIsNone(ctr.exec_failed_to_start(1, "grep: x: No such file or directory\n"))
        self.assertTrue(ctr.ctr_failed(1, 'ctr: container "x" in namespace "alca": not found\n'))
        self.assertFalse(ctr.ctr_failed(1, "my own error\n"))


if __name__ == "__main__":
    unittest.main()
