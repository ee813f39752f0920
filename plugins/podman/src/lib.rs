//! alca's built-in Podman plugin: the shared docker-compatible logic with
//! Podman's data.

use alca_docker_compat::{DockerCompat, Engine, Flavor};

static PODMAN: Flavor = Flavor {
    id: "podman",
    name: "Podman",
    program: "podman",
    engine: Engine::Podman,
    not_running_hint: "start Podman's machine (`podman machine start`) or check `podman system connection list`; on Linux, check that `podman info` works",
    install_hint: "install Podman (Debian/Ubuntu: `sudo apt-get install podman`; macOS: https://podman.io), or set runtime = \"docker\" in .alca.toml",
};

alca_plugin_sdk_networks::export_runtime_with_networks!(DockerCompat = DockerCompat::new(&PODMAN));
