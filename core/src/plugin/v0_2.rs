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

/// The optional `networks` export (world `runtime-plugin-with-networks`).
/// Its imports and types are those bound above; only the export is new.
mod with_networks {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "runtime-plugin-with-networks",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "alca:runtime/types": super::alca::runtime::types,
            "alca:runtime/process": super::alca::runtime::process,
            "alca:runtime/host": super::alca::runtime::host,
        },
    });
}

use with_networks::exports::alca::runtime::networks as wit_networks;

pub(crate) type NetworksExport = wit_networks::Guest;

/// The component's `networks` export, if it has one. One that exports it
/// with other functions or types fails here, like a malformed `runtime`.
fn load_networks(
    pre: &wasmtime::component::InstancePre<super::host::PluginState>,
    store: &mut wasmtime::Store<super::host::PluginState>,
    instance: &wasmtime::component::Instance,
) -> wasmtime::Result<Option<NetworksExport>> {
    if pre.component().get_export_index(None, format!("alca:runtime/networks@{VERSION}")).is_none() {
        return Ok(None);
    }
    Ok(Some(wit_networks::GuestIndices::new(pre)?.load(store, instance)?))
}

include!("versioned.rs");

impl Exports {
    pub async fn network_create(
        &self,
        store: &mut Store<PluginState>,
        req: &c::NetworkRequest,
    ) -> Call<c::NetworkInfo> {
        let Some(networks) = &self.networks else { return Ok(Err(super::compat::no_networks())) };
        let req = wit_networks::NetworkRequest {
            name: req.name.clone(),
            labels: req
                .labels
                .iter()
                .map(|(key, value)| wit::KeyValue { key: key.clone(), value: value.clone() })
                .collect(),
            interface: req.interface.clone(),
        };
        result(networks.call_create(store, &req).await, |i| c::NetworkInfo {
            name: i.name,
            interface: i.interface,
            subnets: i.subnets,
            gateways: i.gateways,
        })
    }

    pub async fn network_remove(&self, store: &mut Store<PluginState>, name: &str) -> Call<()> {
        let Some(networks) = &self.networks else { return Ok(Err(super::compat::no_networks())) };
        result(networks.call_remove(store, name).await, |()| ())
    }
}
