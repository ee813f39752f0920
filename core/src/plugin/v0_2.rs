//! `alca:runtime@0.2.0`: the newest contract (`wit/since_v0.2.0/`), which
//! the built-in plugins use. Until alca 0.2.0 is released it may still
//! change; from then on it is frozen like 0.1.0.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "runtime-plugin",
    imports: {
        "alca:runtime/process.run": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

/// The contract version, as it appears in import and export names.
pub const VERSION: &str = "0.2.0";

fn availability(a: alca::runtime::types::Availability) -> crate::container::Availability {
    crate::container::Availability {
        available: a.available,
        version: a.version,
        reason: a.reason,
        hint: a.hint,
        features: a.features.map(features),
        min_memory_bytes: a.min_memory_bytes,
    }
}

fn features(f: alca::runtime::types::Features) -> crate::container::Features {
    use alca::runtime::types::Features as F;
    crate::container::Features {
        ports: f.contains(F::PORTS),
        resource_limits: f.contains(F::RESOURCE_LIMITS),
        capabilities: f.contains(F::CAPABILITIES),
        restart_policy: f.contains(F::RESTART_POLICY),
        named_networks: f.contains(F::NAMED_NETWORKS),
        volumes: f.contains(F::VOLUMES),
        tmpfs: f.contains(F::TMPFS),
        init: f.contains(F::INIT),
        read_only_mounts: f.contains(F::READ_ONLY_MOUNTS),
        fractional_cpus: f.contains(F::FRACTIONAL_CPUS),
        port_host_ip: f.contains(F::PORT_HOST_IP),
    }
}

include!("versioned.rs");
