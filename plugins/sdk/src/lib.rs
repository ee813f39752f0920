//! The Rust SDK for alca runtime plugins.
//!
//! A runtime plugin turns alca's runtime-neutral requests into invocations of
//! one container runtime's CLI. This crate is the whole surface a Rust plugin
//! needs:
//!
//! * the types of the `alca:runtime@0.2.0` contract (re-exported from the
//!   generated [`bindings`]);
//! * the [`Runtime`] trait, whose methods default to "unsupported", and the
//!   [`export_runtime!`] macro that turns an implementation into a component;
//! * [`Command`], a `std::process::Command`-shaped builder over the host's
//!   `process.run` import (the only way a plugin can affect the world);
//! * [`host`] helpers (log, host facts, granted environment variables).
//!
//! ```ignore
//! use alca_plugin_sdk::*;
//!
//! struct Nerdctl;
//! impl Runtime for Nerdctl {
//!     fn info(&self) -> PluginInfo { /* ... */ }
//!     fn detect(&self) -> Availability { /* ... */ }
//! }
//! alca_plugin_sdk::export_runtime!(Nerdctl = Nerdctl);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component alca loads.
//!
//! A runtime that can also give a project a bridge network of its own (the
//! optional `networks` interface) uses the companion crate
//! `alca-plugin-sdk-networks` and its `export_runtime_with_networks!`
//! instead of [`export_runtime!`].

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "runtime-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_runtime_plugin",
        default_bindings_module: "alca_plugin_sdk::bindings",
        generate_all,
    });
}

mod command;
mod error;
pub mod host;
mod runtime;

pub use bindings::alca::runtime::process::{OutputMode, RunOutput, SpawnError};
pub use bindings::alca::runtime::types::{
    Availability, Capabilities, CommandFailure, CommandPlan, ContainerId, ContainerInfo, ContainerSpec, ContainerState,
    ExecOutput, ExecRequest, Features, KeyValue, LabelSelector, Mount, MountKind, NetworkMode, PluginInfo, PortMapping,
    Protocol, Resources, RestartPolicy, RuntimeError,
};
pub use command::{Command, Output};
pub use error::stderr_tail;
pub use runtime::Runtime;

/// Re-exported so plugins parse runtime JSON with the same version the SDK uses.
pub use serde_json;

impl KeyValue {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue { key: key.into(), value: value.into() }
    }
}
