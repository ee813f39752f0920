//! The optional `networks` interface of `alca:runtime@0.2.0` for Rust
//! plugins built with `alca-plugin-sdk`.
//!
//! A runtime that can give a project a bridge network of its own implements
//! [`Networks`] next to `alca_plugin_sdk::Runtime` and exports both with
//! [`export_runtime_with_networks!`] instead of `export_runtime!`; its
//! component then implements the world `runtime-plugin-with-networks`. alca
//! uses the interface to isolate a project's container from the host's
//! private networks: it asks for a network named after the container, keys
//! firewall rules on the bridge interface reported, and creates the
//! container with `network: named(<that name>)`.
//!
//! A plugin that does not use this crate has no `networks` export at all
//! (the world `runtime-plugin`); alca then cannot isolate its containers
//! that way.
//!
//! ```ignore
//! use alca_plugin_sdk::*;
//! use alca_plugin_sdk_networks::{NetworkInfo, NetworkRequest, Networks};
//!
//! struct Nerdctl;
//! impl Runtime for Nerdctl { /* ... */ }
//! impl Networks for Nerdctl {
//!     fn network_create(&self, req: NetworkRequest) -> Result<NetworkInfo, RuntimeError> { /* ... */ }
//!     fn network_remove(&self, name: &str) -> Result<(), RuntimeError> { /* ... */ }
//! }
//! alca_plugin_sdk_networks::export_runtime_with_networks!(Nerdctl = Nerdctl);
//! ```

/// The bindings of the world `runtime-plugin-with-networks`. The types and
/// imports are those of `alca_plugin_sdk::bindings`; the exports (`runtime`
/// again, and `networks`) are generated here, so that one export macro
/// exports both and describes the whole world. (They cannot live in
/// `alca-plugin-sdk` itself: the two worlds' export macros would have the
/// same names.)
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../sdk/wit",
        world: "runtime-plugin-with-networks",
        pub_export_macro: true,
        export_macro_name: "__export_runtime_plugin_with_networks",
        default_bindings_module: "alca_plugin_sdk_networks::bindings",
        with: {
            "alca:runtime/types@0.2.0": alca_plugin_sdk::bindings::alca::runtime::types,
            "alca:runtime/process@0.2.0": alca_plugin_sdk::bindings::alca::runtime::process,
            "alca:runtime/host@0.2.0": alca_plugin_sdk::bindings::alca::runtime::host,
        },
    });
}

#[doc(hidden)]
pub use alca_plugin_sdk as sdk;

pub use bindings::exports::alca::runtime::networks::{NetworkInfo, NetworkRequest};

use alca_plugin_sdk::RuntimeError;

/// A runtime that can give a project a bridge network of its own.
///
/// Report only what the engine printed in the call (the interface name, the
/// subnets, the gateways): alca keys its firewall on them and refuses a
/// value the engine did not print. Report `interface: None` when the
/// network's bridge is not on this host (an engine in a VM, a rootless
/// engine's own network namespace), and answer `RuntimeError::Unsupported`
/// when the runtime cannot do it at all on this host.
pub trait Networks {
    /// Creates the network (a bridge, with the requested interface name
    /// where the engine can choose it, and the requested labels), or
    /// reports the existing one of that name.
    fn network_create(&self, req: NetworkRequest) -> Result<NetworkInfo, RuntimeError>;

    /// Removes the network; one that does not exist is not an error, one
    /// that containers still use fails with `RuntimeError::Conflict`.
    fn network_remove(&self, name: &str) -> Result<(), RuntimeError>;
}

/// Exports a type implementing `alca_plugin_sdk::Runtime` and [`Networks`]
/// as the component's `alca:runtime/runtime` and `alca:runtime/networks`.
///
/// `export_runtime_with_networks!(MyType = expr)` evaluates `expr` once, on
/// first use. Use it instead of `alca_plugin_sdk::export_runtime!`, not
/// with it.
#[macro_export]
macro_rules! export_runtime_with_networks {
    ($ty:ty = $init:expr) => {
        $crate::sdk::__runtime_instance!($ty = $init);

        #[doc(hidden)]
        struct __AlcaRuntimeExport;

        $crate::sdk::__impl_runtime_guest!($crate::bindings::exports::alca::runtime::runtime::Guest);

        impl $crate::bindings::exports::alca::runtime::networks::Guest for __AlcaRuntimeExport {
            fn create(req: $crate::NetworkRequest) -> Result<$crate::NetworkInfo, $crate::sdk::RuntimeError> {
                $crate::Networks::network_create(__alca_runtime(), req)
            }
            fn remove(name: String) -> Result<(), $crate::sdk::RuntimeError> {
                $crate::Networks::network_remove(__alca_runtime(), &name)
            }
        }

        $crate::bindings::__export_runtime_plugin_with_networks!(__AlcaRuntimeExport with_types_in $crate::bindings);
    };
}
