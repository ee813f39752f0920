//! `alca:runtime@0.1.0`: the first released contract, frozen in
//! `wit/since_v0.1.0/`. Plugins built against it load in every later 0.x
//! alca.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "runtime-plugin",
    imports: {
        "alca:runtime/process.run": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

/// The contract version, as it appears in import and export names.
pub const VERSION: &str = "0.1.0";

/// 0.1.0 has no way to say anything about the abilities added later; its
/// contract told plugins to refuse (`invalid-spec`) what they cannot express,
/// so those count as present.
/// 0.1.0 has no version-dependent features and no memory minimum.
fn availability(a: alca::runtime::types::Availability) -> crate::container::Availability {
    crate::container::Availability {
        available: a.available,
        version: a.version,
        reason: a.reason,
        hint: a.hint,
        features: None,
        min_memory_bytes: None,
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
        read_only_mounts: true,
        fractional_cpus: true,
        port_host_ip: true,
    }
}

/// 0.1.0 has no `networks` interface.
pub(crate) enum NetworksExport {}

fn load_networks(
    _pre: &wasmtime::component::InstancePre<super::host::PluginState>,
    _store: &mut wasmtime::Store<super::host::PluginState>,
    _instance: &wasmtime::component::Instance,
) -> wasmtime::Result<Option<NetworksExport>> {
    Ok(None)
}

include!("versioned.rs");
