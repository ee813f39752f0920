"""Tests of the fake Apple `container` CLI itself: `python3 -B -m unittest -v test_fake` (from this directory).

Every behaviour is checked for the three modelled versions (0.9.0, 1.2.2, 1.5.0). The tests that run processes in
containers need root, util-linux `unshare`/`nsenter` and a static /bin/busybox (the fake's sandbox mode); without
them they are skipped, except the host-mode ones.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "container")  # run with this python (no pyenv shim)
SANDBOX = (os.geteuid() == 0 and bool(shutil.which("unshare")) and bool(shutil.which("nsenter"))
           and os.path.exists("/bin/busybox"))
CGROUP_V1 = os.path.isdir("/sys/fs/cgroup/memory") and os.path.isdir("/sys/fs/cgroup/cpu")
IMG = "alca-test-busybox:latest"
XPC_NEW = ('Error: internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: '
           'Connection invalid"")\nEnsure container system service has been started with `container system start`.\n')
XPC_OLD = ('Error: interrupted: "internalError: "failed to list containers" (cause: "interrupted: "XPC connection '
           'error: Connection invalid"")\nEnsure container system service has been started with `container system '
           'start`."\n')


class Fake:
    def __init__(self, version, **env):
        self.dir = tempfile.mkdtemp(prefix="fake-apple-test-")
        self.env = dict(os.environ, FAKE_CONTAINER_VERSION=version, FAKE_CONTAINER_STATE=self.dir, **env)

    def __call__(self, *args, input=None, timeout=60, **env):
        return subprocess.run([sys.executable, "-S", FAKE, *args], capture_output=True, text=True, input=input, timeout=timeout,
                              env=dict(self.env, **env), stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        if r.returncode != 0:
            raise AssertionError("container %s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), r.returncode,
                                                                                     r.stdout, r.stderr))
        return r

    def close(self):
        self("system", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class Base:
    VERSION = None

    def setUp(self):
        self.v = tuple(int(x) for x in self.VERSION.split("."))
        self.c = Fake(self.VERSION)
        self.c.ok("system", "start", "--enable-kernel-install")

    def tearDown(self):
        self.c.close()

    def err(self, new, old):
        """The expected stderr: `new` from 0.10 on, `old` (ContainerizationError's `code: "message"`) before."""
        return new if self.v >= (0, 10, 0) else old

    def assertFails(self, r, code, stderr=None, contains=None):
        self.assertEqual(r.returncode, code, r.stderr)
        if stderr is not None:
            self.assertEqual(r.stderr, stderr)
        if contains is not None:
            self.assertIn(contains, r.stderr)

    def inspect(self, cid):
        return json.loads(self.c.ok("inspect", cid).stdout)[0]

    def cfg(self, cid):
        return self.inspect(cid)["configuration"]

    def state(self, obj):
        return obj["status"]["state"] if self.v >= (1, 0, 0) else obj["status"]

    # -------------------------------------------------------------- version, system

    def test_version_works_without_the_system(self):
        self.c.ok("system", "stop")
        r = self.c.ok("--version")
        self.assertEqual(r.stdout, "container CLI version %s (build: release, commit: abcdef1)\n" % self.VERSION)

    def test_data_commands_fail_until_system_start(self):
        self.c.ok("system", "stop")
        r = self.c("list", "--all", "--format", "json")
        self.assertFails(r, 1, self.err(XPC_NEW, XPC_OLD))
        for args in (["run", "-d", "--name", "aa", IMG], ["exec", "aa", "true"], ["inspect", "aa"], ["image", "list"],
                     ["stop", "aa"], ["delete", "--force", "aa"], ["image", "pull", IMG]):
            r = self.c(*args)
            self.assertFails(r, 1, contains="XPC connection error")
            self.assertIn("Ensure container system service has been started with `container system start`.", r.stderr)
        self.c.ok("system", "start", "--enable-kernel-install")
        self.assertEqual(self.c.ok("list").stdout.split(), ["ID", "IMAGE", "OS", "ARCH", "STATE",
                                                            "IP" if self.v >= (1, 0, 0) else "ADDR", "CPUS", "MEMORY", "STARTED"])

    def test_system_start_prompts_for_the_kernel(self):
        fresh = Fake(self.VERSION)
        try:
            r = fresh("system", "start", input="")
            self.assertFails(r, 1, stderr=None)
            self.assertTrue(r.stdout.endswith("Install the recommended default kernel from [https://github.com/kata-"
                                              "containers/kata-containers/releases/download/%s/kata-static-%s-arm64.tar.zst]"
                                              "? [Y/n]: " % (("3.28.0",) * 2 if self.v >= (1, 0, 0) else ("3.26.0",) * 2)))
            self.assertTrue(r.stderr.endswith(self.err("Error: failed to read user input\n",
                                                       'Error: internalError: "failed to read user input"\n')))
            # the apiserver did start; only the kernel is missing, which `run` reports
            self.assertEqual(fresh("system", "status").returncode, 0)
            r = fresh("run", "-d", "--name", "kk", IMG, "sleep", "1")
            self.assertFails(r, 1, contains="default kernel not configured for architecture arm64")
            fresh.ok("system", "start", input="y\n")
            fresh.ok("create", "--name", "kk", IMG)
        finally:
            fresh.close()

    def test_system_status(self):
        r = self.c("system", "status", "--format", "json")
        if self.v < (0, 10, 0):
            self.assertFails(r, 64, "Error: Unknown option '--format'\nUsage: container system status [--prefix "
                                    "<prefix>] [--debug]\n  See 'container system status --help' for more information.\n")
            self.assertEqual(self.c.ok("system", "status").stdout.splitlines()[0], "apiserver is running")
        else:
            self.assertEqual(r.returncode, 0)
            status = json.loads(r.stdout)
            self.assertEqual(status["status"], "running")
            if self.v >= (1, 3, 0):
                self.assertEqual(sorted(status), ["client", "host", "paths", "resources", "server", "status"])
                self.assertEqual(status["client"]["version"], self.VERSION)
            else:
                self.assertEqual(sorted(status), ["apiServerAppName", "apiServerBuild", "apiServerCommit",
                                                  "apiServerVersion", "appRoot", "installRoot", "status"])
                self.assertTrue(r.stdout.startswith('{"apiServerAppName":"container-apiserver",'))
        self.c.ok("system", "stop")
        r = self.c("system", "status")
        self.assertFails(r, 1, "")
        self.assertEqual(r.stdout, "apiserver is not running and not registered with launchd\n")
        if self.v >= (0, 10, 0):
            self.assertEqual(json.loads(self.c("system", "status", "--format", "json").stdout)["status"], "unregistered")

    # -------------------------------------------------------------- parsing

    def usage(self, msg, cmd="run", helpline=None):
        syn = {"run": "container run [<options>] <image> [<arguments> ...]",
               "create": "container create [<options>] <image> [<arguments> ...]",
               "exec": "container exec [<options>] <container-id> <arguments> ..."}[cmd]
        return "Error: %s\n%sUsage: %s\n  See 'container %s --help' for more information.\n" % (
            msg, "Help:  %s\n" % helpline if helpline else "", syn, cmd)

    def test_docker_only_flags_are_parse_errors(self):
        for flag, msg in (("--restart=always", "Unknown option '--restart'"), ("--privileged", "Unknown option '--privileged'"),
                          ("--hostname", "Unknown option '--hostname'"), ("--security-opt", "Unknown option '--security-opt'"),
                          ("--pids-limit", "Unknown option '--pids-limit'"), ("-P", "Unknown option '-P'"),
                          ("--userns", "Unknown option '--userns'. Did you mean '--user'?"),
                          ("--label-file", "Unknown option '--label-file'"), ("--add-host", "Unknown option '--add-host'")):
            args = [flag] if "=" in flag or flag in ("--privileged", "-P") else [flag, "x"]
            r = self.c("run", "-d", *args, IMG)
            self.assertFails(r, 64, self.usage(msg))
        self.assertEqual(self.c.ok("list", "-a", "-q").stdout, "")
        r = self.c("run", "-h", "x", IMG)  # -h is help
        self.assertEqual((r.returncode, r.stdout.splitlines()[0]), (0, "OVERVIEW: Run a container"))

    def test_version_gated_options(self):
        for flag, since in (("--cap-add=NET_RAW", (0, 12, 0)), ("--cap-drop=ALL", (0, 12, 0)), ("--init", (0, 10, 0)),
                            ("--shm-size=64M", (1, 0, 0))):
            r = self.c("create", flag, IMG)
            if self.v >= since:
                self.assertEqual(r.returncode, 0, r.stderr)
            else:
                self.assertFails(r, 64)
                self.assertTrue(r.stderr.startswith("Error: Unknown option '%s'" % flag.split("=")[0]), r.stderr)

    def test_value_errors(self):
        self.assertFails(self.c("run", "--cpus", "1.5", IMG), 64, self.usage(
            "The value '1.5' is invalid for '--cpus <cpus>'", helpline="--cpus <cpus>  Number of CPUs to allocate to the container"))
        self.assertFails(self.c("run", "-c", "1.5", IMG), 64, contains="The value '1.5' is invalid for '-c <cpus>'")
        self.assertFails(self.c("run", "--name", "-x", IMG), 64, self.usage(
            "Missing value for '--name <name>'", helpline="--name <name>  Use the specified name as the container ID"))
        self.assertFails(self.c("run", "-d", "--label"), 64, contains="Error: Missing value for '--label <label>'\n")
        self.assertFails(self.c("run", "-d"), 64, self.usage("Missing expected argument '<image>'", helpline="<image>  Image name"))
        self.assertFails(self.c("exec", "ab"), 64, self.usage("Missing expected argument '<arguments> ...'", "exec",
                                                              helpline="<arguments>  New process arguments"))
        self.assertFails(self.c("run", "--rm=yes", IMG), 64, contains="The option '--rm' does not take any value, but 'yes' was specified.")
        self.assertFails(self.c("start", "a1", "a2", "a3"), 64, contains="Error: 2 unexpected arguments: 'a2', 'a3'\n")
        self.assertFails(self.c("list", "--format", "xml"), 64, contains="The value 'xml' is invalid for '--format <format>'")
        self.assertFails(self.c("stop"), 1, self.err("Error: no containers specified and --all not supplied\n",
                                                     'Error: invalidArgument: "no containers specified and --all not supplied"\n'))
        self.assertFails(self.c("run", "-d", "-l", "k=v=w", IMG), 1, self.err(
            "Error: invalid label format k=v=w\n", 'Error: invalidArgument: "invalid label format k=v=w"\n'))
        self.assertFails(self.c("create", "-p", "80", IMG), 1, contains="invalid publish value: 80")
        self.assertFails(self.c("create", "-v", "/nonexistent-dir:/x", IMG), 1, contains="path '/nonexistent-dir' does not exist")
        self.assertFails(self.c("create", "--mount", "type=bind,source=%s,target=/x" % FAKE, IMG), 1,
                         contains="path '%s' is not a directory" % FAKE)
        self.assertFails(self.c("create", "-m", "1x", IMG), 1, "Error: invalid symbol: x\n")
        if self.v >= (0, 12, 0):
            self.assertFails(self.c("create", "--cap-add", "FOO", IMG), 1, "Error: invalid CapabilityName 'FOO'\n")
        self.assertEqual(self.c.ok("list", "-a", "-q").stdout, "")

    def test_memory_minimum(self):
        r = self.c("create", "--name", "mm", "-m", "100M", IMG)
        if self.v >= (0, 10, 0):
            self.assertFails(r, 1, "Error: minimum memory amount allowed is 200 MiB (got 104857600 bytes)\n")
            self.assertFails(self.c("create", "-m", "512", IMG), 1, contains="(got 0 bytes)")
        else:
            self.assertEqual(r.returncode, 0, r.stderr)
        self.c.ok("create", "--name", "m2", "-m", "2G", "-c", "2", IMG)
        res = self.cfg("m2")["resources"]
        self.assertEqual((res["cpus"], res["memoryInBytes"]), (2, 2 << 30))

    def test_name_rule(self):
        long = "a" * 64
        for name in ("x", "_ab", "a b", long):
            r = self.c("create", "--name", name, IMG)
            if name == long and self.v < (1, 2, 0):
                self.assertEqual(r.returncode, 0)
                continue
            self.assertFails(r, 1, self.err(
                "Error: container ID %s is not a valid container ID\n" % name if self.v >= (1, 2, 0) else
                "Error: invalid entity name %s\n" % name, 'Error: invalidArgument: "invalid entity name %s"\n' % name))
        self.assertEqual(self.c.ok("create", "--name", "a.b-c_1", IMG).stdout, "a.b-c_1\n")
        uid = self.c.ok("create", IMG).stdout.strip()
        self.assertRegex(uid, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

    def test_flag_forms_and_passthrough(self):
        self.c.ok("create", "--name=pt", "-it", "-e", "A=1", "--env=B", "-l", "dev.alca.sandbox=s1", IMG,
                  "sh", "-c", "echo", "--rm", "-d", "--name", "zz", B="")
        cfg = self.cfg("pt")
        p = cfg["initProcess"]
        self.assertEqual((p["executable"], p["arguments"]), ("sh", ["-c", "echo", "--rm", "-d", "--name", "zz"]))
        self.assertTrue(p["terminal"])
        self.assertIn("A=1", p["environment"])
        self.assertEqual(cfg["labels"], {"dev.alca.sandbox": "s1"})
        env = self.c.ok("create", "--name", "pt2", "-e", "FROM_HOST", "-e", "EMPTY=", "-e", "UNSET_X", IMG,
                        FROM_HOST="h v").stdout
        p2 = self.cfg("pt2")["initProcess"]["environment"]
        self.assertIn("FROM_HOST=h v", p2)
        self.assertIn("EMPTY=", p2)
        self.assertFalse(any(e.startswith("UNSET_X") for e in p2))
        self.assertTrue(env)
        self.c.ok("run", "-dit", "--name", "pt3", IMG, "sleep", "30")
        self.assertEqual(self.state(self.inspect("pt3")), "running")

    # -------------------------------------------------------------- JSON shapes

    def test_json_shapes(self):
        src = tempfile.mkdtemp()
        try:
            extra = ["--cap-drop", "all", "--cap-add", "net_bind_service"] if self.v >= (0, 12, 0) else []
            self.c.ok("run", "-d", "--name", "web", "-l", "dev.alca.sandbox=s1", "-e", "FOO=bar", "-w", "/src",
                      "-v", "%s:/src:ro" % src, "-v", "vol1:/data", "--tmpfs", "/scratch", "-p", "127.0.0.1:8080:80",
                      "-p", "9000-9001:9000-9001/udp", "-c", "2", "-m", "512M", "-u", "1000:1000", *extra,
                      IMG, "sleep", "infinity")
            self.c.ok("create", "--name", "idle", IMG)
            raw = self.c.ok("list", "--all", "--format", "json").stdout
            self.assertNotIn("null", raw)
            self.assertIn("\\/", raw)
            items = {(i["id"] if self.v >= (1, 0, 0) else i["configuration"]["id"]): i for i in json.loads(raw)}
            web, idle = items["web"], items["idle"]
            cfg = web["configuration"]
            if self.v >= (1, 0, 0):
                self.assertEqual(sorted(web), ["configuration", "id", "status"])
                self.assertEqual(web["status"]["state"], "running")
                nets = web["status"]["networks"]
                self.assertRegex(web["status"]["startedDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                self.assertEqual(raw[:-1], json.dumps(json.loads(raw), separators=(",", ":"), sort_keys=True,
                                                 ensure_ascii=False).replace("/", "\\/"))
                self.assertEqual((idle["status"]["state"], idle["status"]["networks"]), ("stopped", []))
                self.assertNotIn("startedDate", idle["status"])
                self.assertEqual(cfg["resources"], {"cpuOverhead": 1, "cpus": 2, "memoryInBytes": 512 << 20})
                self.assertIn("creationDate", cfg)
            else:
                self.assertEqual(list(web), ["status", "configuration", "networks", "startedDate"])
                self.assertEqual(web["status"], "running")
                self.assertIsInstance(web["startedDate"], float)
                self.assertGreater(web["startedDate"], 7e8)  # seconds since 2001
                nets = web["networks"]
                self.assertEqual((idle["status"], idle["networks"]), ("stopped", []))
                self.assertEqual(cfg["resources"], {"cpus": 2, "memoryInBytes": 512 << 20})
                self.assertEqual(list(cfg)[:3], ["id", "image", "mounts"])
            self.assertRegex(nets[0]["ipv4Address"], r"^192\.168\.64\.\d+/24$")
            self.assertEqual(nets[0]["ipv4Gateway"], "192.168.64.1")
            self.assertEqual(cfg["labels"], {"dev.alca.sandbox": "s1"})
            self.assertEqual(cfg["image"]["reference"], "docker.io/library/alca-test-busybox:latest")
            p = cfg["initProcess"]
            self.assertEqual((p["executable"], p["arguments"], p["workingDirectory"]), ("sleep", ["infinity"], "/src"))
            self.assertIn("FOO=bar", p["environment"])
            self.assertEqual(p["user"], {"raw": {"userString": "1000:1000"}})
            self.assertEqual(idle["configuration"]["initProcess"]["user"], {"id": {"uid": 0, "gid": 0}})
            mounts = {m["destination"]: m for m in cfg["mounts"]}
            self.assertEqual(mounts["/src"], {"type": {"virtiofs": {}}, "source": src, "destination": "/src", "options": ["ro"]})
            self.assertEqual(mounts["/scratch"]["type"], {"tmpfs": {}})
            self.assertEqual(mounts["/data"]["type"], {"volume": {"name": "vol1", "format": "ext4", "cache": {"on": {}},
                                                                  "sync": {"fsync": {}}}})
            self.assertEqual(cfg["publishedPorts"], [
                {"hostAddress": "127.0.0.1", "hostPort": 8080, "containerPort": 80, "proto": "tcp", "count": 1},
                {"hostAddress": "0.0.0.0", "hostPort": 9000, "containerPort": 9000, "proto": "udp", "count": 2}])
            if self.v >= (0, 12, 0):
                self.assertEqual((cfg["capAdd"], cfg["capDrop"]), (["CAP_NET_BIND_SERVICE"], ["ALL"]))
            else:
                self.assertNotIn("capAdd", cfg)
            # inspect: pretty with `"k" : v` from 1.0, compact before
            out = self.c.ok("inspect", "web").stdout
            if self.v >= (1, 0, 0):
                self.assertTrue(out.startswith('[\n  {\n    "configuration" : {\n      "capAdd" : [\n        "CAP_NET_BIND_SERVICE"'), out[:120])
                self.assertIn('"reference" : "docker.io\\/library\\/alca-test-busybox:latest"', out)
            else:
                self.assertTrue(out.startswith('[{"status":"running","configuration":{"id":"web",'), out[:80])
        finally:
            shutil.rmtree(src)

    def test_list_quirks(self):
        self.assertEqual(self.c.ok("list", "--format", "json").stdout, "[]\n")
        self.assertEqual(self.c.ok("list", "-q").stdout, "")
        self.c.ok("create", "--name", "off", IMG)
        self.c.ok("run", "-d", "--name", "on", IMG, "sleep", "infinity")
        ids = lambda *a: [(i["id"] if self.v >= (1, 0, 0) else i["configuration"]["id"])
                          for i in json.loads(self.c.ok("list", "--format", "json", *a).stdout)]
        self.assertEqual(ids(), ["off", "on"] if self.v < (0, 10, 0) else ["on"])  # <= 0.9 ignores --all
        self.assertEqual(ids("--all"), ["off", "on"])
        self.assertEqual(self.c.ok("ls", "-q").stdout, "on\n")
        self.assertEqual(self.c.ok("ls", "-qa").stdout, "off\non\n")

    # -------------------------------------------------------------- lifecycle and its traps

    def test_lifecycle_idempotency(self):
        c = self.c
        self.assertEqual(c.ok("run", "-d", "--name", "lc", IMG, "sleep", "infinity").stdout, "lc\n")
        self.assertFails(c("run", "-d", "--name", "lc", IMG), 1, self.err(
            "Error: container with id lc already exists\n", 'Error: exists: "container with id lc already exists"\n'))
        self.assertFails(c("create", "--name", "lc", IMG), 1, self.err(
            "Error: container already exists: lc\n", 'Error: exists: "container already exists: lc"\n'))
        self.assertEqual(c.ok("start", "lc").stdout, "lc\n")  # running: prints the ID
        self.assertFails(c("start", "-a", "lc"), 1, contains="attach is currently unsupported on already running containers")
        self.assertFails(c("delete", "lc"), 1, {
            (0, 9): 'failed to delete container lc: invalidState: "container is running"\n'
                    'Error: internalError: "delete failed for one or more containers: ["lc"]"\n',
        }.get(self.v[:2], 'Error: internalError: "failed to delete container" (cause: "invalidState: "container lc is '
                          'running and can not be deleted"")\n'))
        self.assertEqual(c.ok("stop", "-t", "2", "lc").stdout, "lc\n")
        self.assertEqual(c.ok("stop", "lc").stdout, "lc\n")  # stopping a stopped container succeeds
        self.assertEqual(self.state(self.inspect("lc")), "stopped")
        r = c("kill", "lc")
        if self.v >= (0, 10, 0):
            self.assertFails(r, 1, 'Error: internalError: "failed to kill container" (cause: "invalidState: "no runtime '
                                   'client exists: container is stopped"")\n')
        else:
            self.assertEqual((r.returncode, r.stdout), (0, ""))  # 0.9 only signals running containers
        self.assertFails(c("exec", "lc", "true"), 1, self.err("Error: container lc is not running\n",
                                                              'Error: invalidState: "container lc is not running"\n'))
        self.assertEqual(c.ok("start", "lc").stdout, "lc\n")
        self.assertEqual(c.ok("delete", "--force", "lc").stdout, "lc\n")
        missing_new = 'Error: internalError: "failed to delete container" (cause: "notFound: "container with ID lc not found"")\n'
        missing_old = 'Error: notFound: "failed to delete one or more containers: ["lc"]"\n'
        for args in (["delete", "lc"], ["delete", "--force", "lc"]):
            self.assertFails(c(*args), 1, missing_new if self.v >= (0, 11, 0) else missing_old)
        r = c("stop", "lc")
        if self.v >= (0, 11, 0):
            self.assertFails(r, 1, 'Error: internalError: "failed to stop container" (cause: "notFound: "container with '
                                   'ID lc not found"")\n')
        else:
            self.assertEqual((r.returncode, r.stdout), (0, ""))
        for args in (["start", "lc"], ["exec", "lc", "true"], ["logs", "lc"]):
            self.assertFails(c(*args), 1, self.err("Error: get failed: container lc not found\n",
                                                   'Error: notFound: "get failed: container lc not found"\n'))
        r = c("inspect", "lc", "lb")
        if self.v >= (1, 0, 0):
            self.assertFails(r, 1, "Error: container not found: lb, lc\n")
        else:
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "[]\n", ""))

    def test_stop_many_reports_each_error(self):
        self.c.ok("create", "--name", "s1", IMG)
        r = self.c("stop", "s1", "nx1", "nx2")
        self.assertEqual(r.stdout, "s1\n")
        if self.v >= (0, 11, 0):
            self.assertFails(r, 1, "".join('Error: internalError: "failed to stop container" (cause: "notFound: '
                                           '"container with ID %s not found"")\n' % n for n in ("nx1", "nx2")).replace(
                "\nError: ", "\n"))
        else:
            self.assertEqual(r.returncode, 0)

    def test_images(self):
        self.assertFails(self.c("image", "inspect", "busybox:1.36"), 1, "Error: image not found: busybox:1.36\n"
                         if self.v >= (1, 0, 0) else None)
        r = self.c("image", "pull", "--progress", "none", "nonexistent")
        self.assertFails(r, 1, self.err(
            "Error: HTTP request to https://registry-1.docker.io/v2/library/nonexistent/manifests/latest failed with "
            "response: 401 Unauthorized. Reason: Unknown\n",
            'Error: unknown: "HTTP request to https://registry-1.docker.io/v2/library/nonexistent/manifests/latest failed '
            'with response: 401 Unauthorized. Reason: Unknown"\n'))
        self.assertFails(self.c("run", "-d", "ghcr.io/x/nonexistent:1"), 1,
                         contains="https://ghcr.io/v2/x/nonexistent/manifests/1 failed with response: 401 Unauthorized.")
        self.assertEqual(self.c.ok("image", "pull", "--progress", "none", "busybox:1.36").stdout, "")
        imgs = json.loads(self.c.ok("image", "inspect", "busybox:1.36").stdout)
        name = imgs[0]["configuration"]["name"] if self.v >= (1, 0, 0) else imgs[0]["name"]
        self.assertEqual(name, "docker.io/library/busybox:1.36")
        self.assertEqual(self.c.ok("image", "list", "-q").stdout, "busybox:1.36\n")

    # -------------------------------------------------------------- processes

    def test_foreground_run_rm_and_exit_status(self):
        r = self.c("run", "--rm", "--name", "fg", IMG, "sh", "-c", "echo out; echo err >&2; exit 7")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (7, "out\n", "err\n"))
        self.assertEqual(self.c.ok("list", "-a", "-q").stdout, "")
        r = self.c("run", "-i", "--name", "fg2", IMG, "cat", input="piped\n")
        self.assertEqual((r.returncode, r.stdout), (0, "piped\n"))
        self.assertEqual(self.state(self.inspect("fg2")), "stopped")
        r = self.c("run", "--name", "fg3", IMG, "cat", input="not passed\n")  # no -i: no stdin
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        r = self.c("run", "--name", "fg4", IMG, "no-such-binary")
        self.assertFails(r, 1, self.err("Error: failed to find target executable no-such-binary\n",
                                        'Error: internalError: "failed to find target executable no-such-binary"\n'))
        self.assertEqual(self.c("inspect", "fg4").returncode, 1 if self.v >= (1, 0, 0) else 0)  # run deleted it

    @unittest.skipUnless(SANDBOX, "needs root, unshare, nsenter and /bin/busybox")
    def test_exec_in_the_sandbox(self):
        src = tempfile.mkdtemp()
        try:
            self.c.ok("run", "-d", "--name", "box", "-e", "FOO=bar", "-w", "/src", "-v", "%s:/src:ro" % src,
                      "-v", "data:/data", "--tmpfs", "/scratch", IMG, "sleep", "infinity")
            r = self.c("exec", "-e", "BAR=baz", "box", "sh", "-c", 'echo "$FOO $BAR $(pwd) $(hostname) $(id -u)"; exit 5')
            self.assertEqual((r.returncode, r.stdout), (5, "bar baz /src box 0\n"))
            r = self.c("exec", "-w", "/tmp", "-u", "nobody", "box", "sh", "-c", "pwd; id -u; grep CapEff /proc/self/status")
            self.assertEqual(r.stdout.split(), ["/tmp", "65534", "CapEff:", "0000000000000000"])
            r = self.c("exec", "box", "sh", "-c", "touch /src/f")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("Read-only file system", r.stderr)
            self.assertFalse(os.listdir(src))
            self.c.ok("exec", "box", "sh", "-c", "echo v > /data/f && echo t > /scratch/f && echo r > /rootfile")
            self.assertEqual(self.c.ok("exec", "box", "cat", "/data/f", "/scratch/f", "/rootfile").stdout, "v\nt\nr\n")
            self.assertEqual(self.c.ok("exec", "-i", "box", "cat", input="stdin\n").stdout, "stdin\n")
            self.assertEqual(self.c.ok("exec", "box", "cat", input="ignored\n").stdout, "")
            # the main process is really there; exec'd processes share its pid namespace
            self.assertIn("sleep infinity", self.c.ok("exec", "box", "ps").stdout)
            self.assertEqual(self.c.ok("exec", "-d", "box", "sleep", "300").stdout, "box\n")
            time.sleep(0.3)
            self.assertIn("sleep 300", self.c.ok("exec", "box", "ps").stdout)
            r = self.c("exec", "box", "no-such-binary")
            self.assertFails(r, 1, self.err("Error: failed to find target executable no-such-binary\n",
                                            'Error: internalError: "failed to find target executable no-such-binary"\n'))
            # stop, start: the root filesystem persists, tmpfs does not, processes are gone
            self.c.ok("stop", "box")
            self.c.ok("start", "box")
            self.assertEqual(self.c("exec", "box", "cat", "/rootfile", "/scratch/f").stdout, "r\n")
            self.assertNotIn("sleep 300", self.c.ok("exec", "box", "ps").stdout)
        finally:
            self.c("delete", "--force", "box")
            shutil.rmtree(src)

    @unittest.skipUnless(SANDBOX, "needs root, unshare, nsenter and /bin/busybox")
    def test_read_only_rootfs_and_capabilities(self):
        caps = ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"] if self.v >= (0, 12, 0) else []
        self.c.ok("run", "-d", "--name", "ro", "--read-only", "--tmpfs", "/tmp", *caps, IMG, "sleep", "infinity")
        r = self.c("exec", "ro", "sh", "-c", "touch /x; touch /tmp/x && echo tmp-ok; grep -E 'Cap(Eff|Bnd)' /proc/self/status")
        self.assertIn("Read-only file system", r.stderr)
        want = "0000000000000400" if caps else "00000000a80425fb"  # NET_BIND_SERVICE; else the 14 default caps
        self.assertEqual(r.stdout.split(), ["tmp-ok", "CapEff:", want, "CapBnd:", want])
        self.c.ok("delete", "-f", "ro")

    @unittest.skipUnless(SANDBOX and CGROUP_V1, "needs the sandbox and cgroup v1")
    def test_resources_in_cgroups(self):
        self.c.ok("run", "-d", "--name", "res", "-c", "2", "-m", "300M", IMG, "sleep", "infinity")
        r = self.c.ok("exec", "res", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                      "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
        self.assertEqual(r.stdout.split(), [str(300 << 20), "200000", "100000"])
        self.c.ok("delete", "-f", "res")

    @unittest.skipUnless(SANDBOX, "needs root, unshare, nsenter and /bin/busybox")
    def test_main_process_end_stops_the_container(self):
        self.c.ok("run", "-d", "--name", "short", IMG, "sh", "-c", "echo logged; exit 3")
        self.c.ok("run", "-d", "--rm", "--name", "gone", IMG, "true")
        deadline = time.time() + 10
        while time.time() < deadline and self.c.ok("list", "-q").stdout:
            time.sleep(0.2)
        self.assertEqual(self.c.ok("list", "-a", "-q").stdout, "short\n")
        self.assertEqual(self.c.ok("logs", "short").stdout, "logged\n")

    def test_host_mode_exec(self):
        host = Fake(self.VERSION, FAKE_CONTAINER_EXEC_MODE="host", FAKE_CONTAINER_SYSTEM="running")
        proj = tempfile.mkdtemp()
        try:
            host.ok("run", "-d", "--name", "h1", "-w", "/w/sub", "-v", "%s:/w" % proj, "-e", "X=1", IMG, "sleep", "infinity")
            os.mkdir(os.path.join(proj, "sub"))
            r = host("exec", "h1", "sh", "-c", 'echo "$X $(pwd)"; touch made; exit 4')
            self.assertEqual((r.returncode, r.stdout), (4, "1 %s/sub\n" % proj))
            self.assertTrue(os.path.exists(os.path.join(proj, "sub", "made")))
            self.assertFails(host("exec", "h1", "no-such-binary"), 1, contains="failed to find target executable no-such-binary")
        finally:
            host.close()
            shutil.rmtree(proj)

    def test_concurrent_runs(self):
        results = []
        threads = [threading.Thread(target=lambda n=n: results.append(self.c("run", "-d", "--name", "cc%d" % n, IMG,
                                                                              "sleep", "infinity")))
                   for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(r.returncode for r in results), [0] * 4, [r.stderr for r in results])
        items = json.loads(self.c.ok("list", "--format", "json").stdout)
        nets = [(i["status"]["networks"] if self.v >= (1, 0, 0) else i["networks"])[0]["ipv4Address"] for i in items]
        self.assertEqual(len(set(nets)), 4)
        self.assertEqual(self.c.ok("delete", "--force", "cc0", "cc1", "cc2", "cc3").returncode, 0)


class V0_9_0(Base, unittest.TestCase):
    VERSION = "0.9.0"


class V1_2_2(Base, unittest.TestCase):
    VERSION = "1.2.2"


class V1_5_0(Base, unittest.TestCase):
    VERSION = "1.5.0"


if __name__ == "__main__":
    unittest.main()
