use crate::{
    Availability, CommandPlan, ContainerId, ContainerInfo, ContainerSpec, ExecOutput, ExecRequest, LabelSelector,
    PluginInfo, RuntimeError,
};

/// A container runtime, as alca sees it.
///
/// Only [`info`](Runtime::info) and [`detect`](Runtime::detect) are required;
/// every other operation answers [`RuntimeError::Unsupported`] until you
/// implement it, so a new plugin can grow one operation at a time.
///
/// Methods take `&self`: the value given to [`export_runtime!`](crate::export_runtime)
/// is created once per component instance (alca makes a fresh instance per
/// command), so it can hold configuration but should not cache engine state.
pub trait Runtime {
    /// Identity and features; `id` must equal the manifest's `id`.
    fn info(&self) -> PluginInfo;

    /// Is the runtime usable right now? Describe every failure in the record.
    fn detect(&self) -> Availability;

    fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        let _ = image;
        Err(RuntimeError::unsupported("image-exists"))
    }

    fn image_pull(&self, image: &str) -> Result<(), RuntimeError> {
        let _ = image;
        Err(RuntimeError::unsupported("image-pull"))
    }

    fn create(&self, spec: ContainerSpec) -> Result<ContainerId, RuntimeError> {
        let _ = spec;
        Err(RuntimeError::unsupported("create"))
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let _ = id;
        Err(RuntimeError::unsupported("start"))
    }

    fn stop(&self, id: &str, grace_secs: Option<u32>) -> Result<(), RuntimeError> {
        let _ = (id, grace_secs);
        Err(RuntimeError::unsupported("stop"))
    }

    fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let _ = (id, force);
        Err(RuntimeError::unsupported("remove"))
    }

    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        let _ = id;
        Err(RuntimeError::unsupported("inspect"))
    }

    fn list_containers(
        &self,
        selector: Vec<LabelSelector>,
        include_stopped: bool,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let _ = (selector, include_stopped);
        Err(RuntimeError::unsupported("list-containers"))
    }

    fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        let _ = req;
        Err(RuntimeError::unsupported("exec"))
    }

    fn exec_plan(&self, req: ExecRequest) -> Result<CommandPlan, RuntimeError> {
        let _ = req;
        Err(RuntimeError::unsupported("exec-plan"))
    }
}

/// Exports a [`Runtime`] implementation as the component's `alca:runtime/runtime`.
///
/// `export_runtime!(MyType = expr)` evaluates `expr` once, on first use.
#[macro_export]
macro_rules! export_runtime {
    ($ty:ty = $init:expr) => {
        $crate::__runtime_instance!($ty = $init);

        #[doc(hidden)]
        struct __AlcaRuntimeExport;

        $crate::__impl_runtime_guest!($crate::bindings::exports::alca::runtime::runtime::Guest);

        $crate::bindings::__export_runtime_plugin!(__AlcaRuntimeExport with_types_in $crate::bindings);
    };
}

/// The one instance of the plugin's type, `__alca_runtime()`, created on
/// first use (also used by `alca-plugin-sdk-networks`).
#[doc(hidden)]
#[macro_export]
macro_rules! __runtime_instance {
    ($ty:ty = $init:expr) => {
        #[doc(hidden)]
        fn __alca_runtime() -> &'static $ty {
            static INSTANCE: ::std::sync::OnceLock<$ty> = ::std::sync::OnceLock::new();
            INSTANCE.get_or_init(|| $init)
        }
    };
}

/// Implements a generated `runtime` guest trait for `__AlcaRuntimeExport`
/// by forwarding to [`Runtime`] on `__alca_runtime()` (also used by
/// `alca-plugin-sdk-networks`, whose bindings generate the trait again).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_runtime_guest {
    ($guest:path) => {
        impl $guest for __AlcaRuntimeExport {
            fn info() -> $crate::PluginInfo {
                $crate::Runtime::info(__alca_runtime())
            }
            fn detect() -> $crate::Availability {
                $crate::Runtime::detect(__alca_runtime())
            }
            fn image_exists(image: String) -> Result<bool, $crate::RuntimeError> {
                $crate::Runtime::image_exists(__alca_runtime(), &image)
            }
            fn image_pull(image: String) -> Result<(), $crate::RuntimeError> {
                $crate::Runtime::image_pull(__alca_runtime(), &image)
            }
            fn create(spec: $crate::ContainerSpec) -> Result<String, $crate::RuntimeError> {
                $crate::Runtime::create(__alca_runtime(), spec)
            }
            fn start(id: String) -> Result<(), $crate::RuntimeError> {
                $crate::Runtime::start(__alca_runtime(), &id)
            }
            fn stop(id: String, grace_secs: Option<u32>) -> Result<(), $crate::RuntimeError> {
                $crate::Runtime::stop(__alca_runtime(), &id, grace_secs)
            }
            fn remove(id: String, force: bool) -> Result<(), $crate::RuntimeError> {
                $crate::Runtime::remove(__alca_runtime(), &id, force)
            }
            fn inspect(id: String) -> Result<Option<$crate::ContainerInfo>, $crate::RuntimeError> {
                $crate::Runtime::inspect(__alca_runtime(), &id)
            }
            fn list_containers(
                selector: Vec<$crate::LabelSelector>,
                include_stopped: bool,
            ) -> Result<Vec<$crate::ContainerInfo>, $crate::RuntimeError> {
                $crate::Runtime::list_containers(__alca_runtime(), selector, include_stopped)
            }
            fn exec(req: $crate::ExecRequest) -> Result<$crate::ExecOutput, $crate::RuntimeError> {
                $crate::Runtime::exec(__alca_runtime(), req)
            }
            fn exec_plan(req: $crate::ExecRequest) -> Result<$crate::CommandPlan, $crate::RuntimeError> {
                $crate::Runtime::exec_plan(__alca_runtime(), req)
            }
        }
    };
}
