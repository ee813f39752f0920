//! alca's built-in Docker plugin: the shared docker-compatible logic with
//! Docker's data. Also drives Docker Desktop, OrbStack, Colima and any other
//! engine reached through the `docker` CLI.

use alca_docker_compat::{DockerCompat, Engine, Flavor};

static DOCKER: Flavor = Flavor {
    id: "docker",
    name: "Docker",
    program: "docker",
    engine: Engine::Docker,
    not_running_hint: "start the Docker engine (Linux: `sudo systemctl start docker`; macOS: open Docker Desktop or OrbStack), or set runtime = \"podman\" in .alca.toml",
    install_hint: "install Docker (https://docs.docker.com/engine/install/), or set runtime = \"podman\" in .alca.toml",
};

alca_plugin_sdk_networks::export_runtime_with_networks!(DockerCompat = DockerCompat::new(&DOCKER));
