//! The contract versions alca supports, and which one a component
//! implements.
//!
//! Every released `alca:runtime` version stays supported for all of 0.x:
//! its WIT is frozen in `wit/since_vX.Y.Z/`, bound by its own module
//! (`v0_1`, `v0_2`) and converted to alca's own types there. A component
//! says which version it implements through the names of what it imports
//! and exports, whatever language built it.

use std::fmt;

use wasmtime::Engine;
use wasmtime::Store;
use wasmtime::component::{Component, InstancePre, Linker};

use super::host::PluginState;
use super::{v0_1, v0_2};
use crate::container as c;

/// A contract version the host binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    V0_1,
    V0_2,
}

impl ApiVersion {
    /// Oldest first.
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V0_1, ApiVersion::V0_2];
    /// What new plugins should target: the newest version.
    pub const NEWEST: ApiVersion = ApiVersion::V0_2;

    /// `0.1.0`.
    pub fn version(self) -> &'static str {
        match self {
            ApiVersion::V0_1 => v0_1::VERSION,
            ApiVersion::V0_2 => v0_2::VERSION,
        }
    }

    /// The frozen WIT of this version (as `wit/since_vX.Y.Z/runtime.wit`).
    pub fn wit(self) -> &'static str {
        match self {
            ApiVersion::V0_1 => include_str!("../../../wit/since_v0.1.0/runtime.wit"),
            ApiVersion::V0_2 => include_str!("../../../wit/since_v0.2.0/runtime.wit"),
        }
    }

    /// The version whose major.minor matches `v` (`0.1.3` → 0.1.0):
    /// patch releases of a contract only clarify documentation.
    fn parse(v: &str) -> Option<ApiVersion> {
        let mut parts = v.split('.');
        let (major, minor) = (parts.next()?, parts.next()?);
        ApiVersion::ALL.into_iter().find(|a| {
            let mut own = a.version().split('.');
            own.next() == Some(major) && own.next() == Some(minor)
        })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alca:runtime@{}", self.version())
    }
}

/// `alca:runtime@0.1.0 and alca:runtime@0.2.0`.
pub fn supported() -> String {
    let all: Vec<String> = ApiVersion::ALL.iter().map(|a| a.to_string()).collect();
    all.join(" and ")
}

/// The WASI 0.2 packages whose interfaces the host links (granting nothing).
const WASI_PACKAGES: &[&str] = &["cli", "clocks", "filesystem", "io", "random", "sockets", "http"];

/// Links the imports of every supported version.
pub(crate) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::add_to_linker(linker)?;
    v0_2::add_to_linker(linker)
}

/// Which version `component` implements; or, in words a plugin author can
/// act on, why it is not an alca runtime plugin this alca can load: it
/// exports no `alca:runtime/runtime`, implements a version this alca does
/// not know, mixes versions, or imports something the host does not provide.
pub fn check(engine: &Engine, component: &Component) -> Result<ApiVersion, String> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    let runtime: Vec<&str> = exports.iter().filter_map(|n| n.strip_prefix("alca:runtime/runtime@")).collect();
    let version = match runtime.as_slice() {
        [] => {
            return Err(format!(
                "it does not export `alca:runtime/runtime` (it exports: {}); an alca runtime plugin implements the world `runtime-plugin` of {}",
                list(&exports),
                supported()
            ));
        }
        [v] => *v,
        _ => return Err(format!("it exports several versions of `alca:runtime/runtime` ({})", runtime.join(", "))),
    };
    let Some(api) = ApiVersion::parse(version) else {
        return Err(format!(
            "it implements alca:runtime@{version}, which this alca does not support (it supports {}); use an alca that supports it, or rebuild the plugin against a supported version",
            supported()
        ));
    };
    // The optional `networks` export (since 0.2.0) must be of the same version.
    for name in &exports {
        if let Some(v) = name.strip_prefix("alca:runtime/networks@")
            && (api < ApiVersion::V0_2 || ApiVersion::parse(v) != Some(api))
        {
            return Err(format!(
                "it exports {api} but also `{}`: a plugin must use one version of the contract throughout, and `networks` exists since alca:runtime@0.2.0",
                super::text::line(name)
            ));
        }
    }
    let mut unknown = Vec::new();
    for (name, _) in ty.imports(engine) {
        if let Some(rest) = name.strip_prefix("alca:runtime/") {
            let (iface, v) = rest.split_once('@').unwrap_or((rest, ""));
            let known = matches!(iface, "types" | "process" | "host");
            if !known {
                unknown.push(name.to_string());
            } else if ApiVersion::parse(v) != Some(api) {
                return Err(format!(
                    "it exports {api} but imports `{name}`: a plugin must use one version of the contract throughout"
                ));
            }
        } else if let Some(rest) = name.strip_prefix("wasi:") {
            let (package, v) = rest.split_once('@').unwrap_or((rest, ""));
            let package = package.split('/').next().unwrap_or_default();
            if !WASI_PACKAGES.contains(&package) || !v.starts_with("0.2.") {
                unknown.push(name.to_string());
            }
        } else {
            unknown.push(name.to_string());
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "it imports {}, which alca does not provide; a plugin may import only alca:runtime's `types`, `process` and `host` and the WASI 0.2 interfaces ({})",
            list(&unknown),
            WASI_PACKAGES.iter().map(|p| format!("wasi:{p}")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(api)
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "nothing".into();
    }
    let shown: Vec<String> = names.iter().take(6).map(|n| format!("`{}`", super::text::line(n))).collect();
    let more = if names.len() > 6 { format!(" and {} more", names.len() - 6) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// An instance's `runtime` export, whatever its version, called with alca's
/// own types.
pub(crate) enum Exports {
    V0_1(v0_1::Exports),
    V0_2(v0_2::Exports),
}

/// Forwards a call to the instance's version.
macro_rules! forward {
    ($( $method:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty; )*) => {
        impl Exports {
            $(
                pub async fn $method(&self, store: &mut Store<PluginState> $(, $arg: $ty)*) -> $ret {
                    match self {
                        Exports::V0_1(e) => e.$method(store $(, $arg)*).await,
                        Exports::V0_2(e) => e.$method(store $(, $arg)*).await,
                    }
                }
            )*
        }
    };
}

type Call<T> = wasmtime::Result<Result<T, c::RuntimeError>>;

/// A call of `networks` on a component that does not export it.
pub(crate) fn no_networks() -> c::RuntimeError {
    c::RuntimeError::Unsupported("the plugin does not export the `networks` interface".into())
}

forward! {
    info() -> wasmtime::Result<c::PluginInfo>;
    detect() -> wasmtime::Result<c::Availability>;
    image_exists(image: &str) -> Call<bool>;
    image_pull(image: &str) -> Call<()>;
    create(spec: &c::ContainerSpec) -> Call<String>;
    start(id: &str) -> Call<()>;
    stop(id: &str, grace_secs: Option<u32>) -> Call<()>;
    remove(id: &str, force: bool) -> Call<()>;
    inspect(id: &str) -> Call<Option<c::ContainerInfo>>;
    list_containers(selector: &[c::LabelSelector], include_stopped: bool) -> Call<Vec<c::ContainerInfo>>;
    exec(req: &c::ExecRequest) -> Call<c::ExecOutput>;
    exec_plan(req: &c::ExecRequest) -> Call<c::CommandPlan>;
}

impl Exports {
    /// Does the component export the optional `networks` interface?
    pub fn has_networks(&self) -> bool {
        match self {
            Exports::V0_1(e) => e.has_networks(),
            Exports::V0_2(e) => e.has_networks(),
        }
    }

    /// `networks.create`; `unsupported` when the component does not export
    /// `networks` (the caller asks [`Self::has_networks`] first).
    pub async fn network_create(
        &self,
        store: &mut Store<PluginState>,
        req: &c::NetworkRequest,
    ) -> Call<c::NetworkInfo> {
        match self {
            Exports::V0_1(_) => Ok(Err(no_networks())),
            Exports::V0_2(e) => e.network_create(store, req).await,
        }
    }

    /// `networks.remove`; `unsupported` without the export.
    pub async fn network_remove(&self, store: &mut Store<PluginState>, name: &str) -> Call<()> {
        match self {
            Exports::V0_1(_) => Ok(Err(no_networks())),
            Exports::V0_2(e) => e.network_remove(store, name).await,
        }
    }

    pub async fn instantiate(
        version: ApiVersion,
        pre: &InstancePre<PluginState>,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Exports> {
        Ok(match version {
            ApiVersion::V0_1 => Exports::V0_1(v0_1::Exports::instantiate(pre, store).await?),
            ApiVersion::V0_2 => Exports::V0_2(v0_2::Exports::instantiate(pre, store).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_on_major_and_minor() {
        assert_eq!(ApiVersion::parse("0.1.0"), Some(ApiVersion::V0_1));
        assert_eq!(ApiVersion::parse("0.1.7"), Some(ApiVersion::V0_1));
        assert_eq!(ApiVersion::parse("0.2.0"), Some(ApiVersion::V0_2));
        assert_eq!(ApiVersion::parse("0.3.0"), None);
        assert_eq!(ApiVersion::parse("1.1.0"), None);
        assert_eq!(ApiVersion::parse("garbage"), None);
    }

    fn check_wat(wat: &str) -> Result<ApiVersion, String> {
        let engine = Engine::default();
        let component = Component::new(&engine, wat).expect("test component");
        check(&engine, &component)
    }

    #[test]
    fn components_are_told_apart_by_what_they_import_and_export() {
        let e = check_wat("(component)").unwrap_err();
        assert!(e.contains("does not export `alca:runtime/runtime`") && e.contains("exports: nothing"), "{e}");

        let e =
            check_wat(r#"(component (instance $i) (export "alca:runtime/runtime@0.9.0" (instance $i)))"#).unwrap_err();
        assert!(e.contains("alca:runtime@0.9.0, which this alca does not support"), "{e}");
        assert!(e.contains("alca:runtime@0.1.0 and alca:runtime@0.2.0"), "{e}");

        let e = check_wat(
            r#"(component
                 (import "foo:bar/baz@1.0.0" (instance))
                 (import "wasi:cli/stdout@0.2.3" (instance))
                 (instance $i) (export "alca:runtime/runtime@0.1.0" (instance $i)))"#,
        )
        .unwrap_err();
        assert!(e.contains("`foo:bar/baz@1.0.0`, which alca does not provide"), "{e}");
        assert!(!e.contains("wasi:cli/stdout"), "WASI 0.2 is provided: {e}");

        let e = check_wat(
            r#"(component
                 (import "wasi:keyvalue/store@0.2.0" (instance))
                 (instance $i) (export "alca:runtime/runtime@0.1.0" (instance $i)))"#,
        )
        .unwrap_err();
        assert!(e.contains("wasi:keyvalue/store@0.2.0"), "{e}");

        let e = check_wat(
            r#"(component
                 (import "alca:runtime/process@0.2.0" (instance))
                 (instance $i) (export "alca:runtime/runtime@0.1.0" (instance $i)))"#,
        )
        .unwrap_err();
        assert!(e.contains("one version of the contract throughout"), "{e}");

        let e = check_wat(
            r#"(component
                 (instance $i) (export "alca:runtime/runtime@0.1.0" (instance $i))
                 (instance $n) (export "alca:runtime/networks@0.2.0" (instance $n)))"#,
        )
        .unwrap_err();
        assert!(e.contains("`networks` exists since alca:runtime@0.2.0"), "{e}");
        let e = check_wat(
            r#"(component
                 (instance $i) (export "alca:runtime/runtime@0.2.0" (instance $i))
                 (instance $n) (export "alca:runtime/networks@0.3.0" (instance $n)))"#,
        )
        .unwrap_err();
        assert!(e.contains("one version of the contract throughout"), "{e}");
        let ok = check_wat(
            r#"(component
                 (instance $i) (export "alca:runtime/runtime@0.2.0" (instance $i))
                 (instance $n) (export "alca:runtime/networks@0.2.0" (instance $n)))"#,
        );
        assert_eq!(ok, Ok(ApiVersion::V0_2));

        let ok = check_wat(
            r#"(component
                 (import "alca:runtime/process@0.1.0" (instance))
                 (import "wasi:http/types@0.2.10" (instance))
                 (instance $i) (export "alca:runtime/runtime@0.1.0" (instance $i)))"#,
        );
        assert_eq!(ok, Ok(ApiVersion::V0_1));
    }

    /// A released contract never changes: plugins built against it must
    /// keep loading. (A new ability goes into a new version.)
    #[test]
    fn released_versions_are_frozen() {
        assert_eq!(
            super::super::cache::sha256_hex(ApiVersion::V0_1.wit().as_bytes()),
            "7d60ff7b7054a839d8aa6d162de62670d47f99520929eb1ec530476354130a52",
            "wit/since_v0.1.0 was edited; released contracts are frozen (docs/plugins/compatibility.md)"
        );
    }

    #[test]
    fn each_version_is_the_frozen_copy_it_names() {
        for api in ApiVersion::ALL {
            assert!(api.wit().contains(&format!("package alca:runtime@{};", api.version())), "{api}");
        }
        // The SDK carries the newest contract with it.
        assert_eq!(include_str!("../../../plugins/sdk/wit/runtime.wit"), ApiVersion::NEWEST.wit());
        // The example plugins are built from the frozen 0.1.0 contract: they
        // are the proof that a 0.1.0 plugin keeps working.
        assert_eq!(include_str!("../../../plugins/examples/docker-js/wit/runtime.wit"), ApiVersion::V0_1.wit());
        assert_eq!(include_str!("../../../plugins/examples/containerd-py/wit/runtime.wit"), ApiVersion::V0_1.wit());
    }
}
