//! `alca plugin list` and `alca plugin info`: the plugins alca knows, what
//! they may do, and (with `--check`) whether their runtimes are available.

use serde::Serialize;

use crate::plugin::{Origin, PluginSource};
use crate::{Alca, Error};

#[derive(Debug, Clone, Serialize)]
pub struct PluginReport {
    pub id: String,
    pub name: String,
    pub version: String,
    pub runtime: String,
    pub description: String,
    /// `built-in` or the manifest's path.
    pub source: String,
    /// `built-in`, `installed`, `not installed` (a directory put there by
    /// hand) or `changed` (its files differ from what was consented to).
    pub status: String,
    /// Why it is not loaded, and what to do, when it is not.
    pub problem: Option<String>,
    pub hint: Option<String>,
    /// The contract version it implements, when installed.
    pub api: Option<String>,
    pub component_sha256: Option<String>,
    pub installed_at: Option<String>,
    /// With `--check`: whether its runtime can be used now.
    pub availability: Option<AvailabilityReport>,
    pub memory_mib: u32,
    pub cpu_ms: u32,
    pub programs: Vec<ProgramReport>,
    pub host_env: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AvailabilityReport {
    pub available: bool,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    pub name: String,
    pub located: Option<String>,
    /// Passed from the user's environment.
    pub env: Vec<String>,
    /// Set by the plugin itself.
    pub set_env: Vec<String>,
    pub max_timeout_secs: u32,
    pub max_output_mib: usize,
    pub deny: Vec<String>,
    /// Each rule as written in the manifest.
    pub allow: Vec<String>,
}

/// Every plugin alca knows, with its grants, and plugin directories it
/// does not load; with `check`, every loadable plugin's `detect`, run
/// concurrently.
pub async fn plugins(alca: &Alca, check: bool) -> Vec<PluginReport> {
    let mut reports: Vec<PluginReport> = alca.registry.all().iter().map(|s| report(alca, s)).collect();
    for u in alca.registry.all_unusable() {
        reports.push(PluginReport {
            id: u.id.clone(),
            name: String::new(),
            version: String::new(),
            runtime: String::new(),
            description: String::new(),
            source: u.dir.display().to_string(),
            status: if u.installed { "changed" } else { "not installed" }.into(),
            problem: Some(u.reason.clone()),
            hint: Some(u.hint.clone()),
            api: None,
            component_sha256: None,
            installed_at: None,
            availability: None,
            memory_mib: 0,
            cpu_ms: 0,
            programs: Vec::new(),
            host_env: Vec::new(),
        });
    }
    if check {
        let ids: Vec<String> = alca.registry.ids();
        let checks = ids.iter().map(|id| async move { (id.clone(), availability(alca, id).await) });
        let results = futures::future::join_all(checks).await;
        for (id, a) in results {
            if let Some(r) = reports.iter_mut().find(|r| r.id == id) {
                r.availability = Some(a);
            }
        }
    }
    reports
}

/// One plugin, by id (loadable or not).
pub async fn plugin_info(alca: &Alca, id: &str, check: bool) -> Result<PluginReport, Error> {
    let mut all = plugins(alca, false).await;
    let Some(i) = all.iter().position(|r| r.id == id) else {
        return Err(Error::unknown_runtime_arg(id, alca.registry.ids()));
    };
    let mut r = all.swap_remove(i);
    if check && r.problem.is_none() {
        r.availability = Some(availability(alca, id).await);
    }
    Ok(r)
}

async fn availability(alca: &Alca, id: &str) -> AvailabilityReport {
    match crate::runtime::probe(alca, id).await {
        Ok(s) => AvailabilityReport {
            available: s.availability.available,
            version: s.availability.version,
            reason: s.availability.reason,
            hint: s.availability.hint,
        },
        Err(e) => AvailabilityReport { available: false, version: None, reason: Some(e.to_string()), hint: e.hint() },
    }
}

/// The grant of a manifest that is not installed (yet), as `plugin list`
/// shows grants.
pub fn manifest_report(alca: &Alca, manifest: &std::sync::Arc<crate::plugin::Manifest>) -> PluginReport {
    let source = PluginSource {
        manifest: manifest.clone(),
        component: crate::plugin::ComponentSource::Static(&[], ""),
        origin: Origin::Directory(std::path::PathBuf::new()),
        consent: None,
    };
    report(alca, &source)
}

fn report(alca: &Alca, s: &PluginSource) -> PluginReport {
    let path = std::env::var_os("PATH");
    let m = &s.manifest;
    let limits = alca.settings.limits_for(&m.id);
    let consent = s.consent.as_deref();
    PluginReport {
        id: m.id.clone(),
        name: m.name.clone(),
        version: m.version.clone(),
        runtime: m.runtime.clone(),
        description: m.description.clone(),
        source: match &s.origin {
            Origin::Builtin => "built-in".into(),
            Origin::Installed(p) | Origin::Directory(p) => p.display().to_string(),
        },
        status: match &s.origin {
            Origin::Builtin => "built-in",
            Origin::Installed(_) => "installed",
            Origin::Directory(_) => "not installed",
        }
        .into(),
        problem: None,
        hint: None,
        api: consent.map(|c| c.api.clone()),
        component_sha256: consent.map(|c| c.component_sha256.clone()),
        installed_at: consent.map(|c| c.consented_at.clone()),
        availability: None,
        memory_mib: limits.memory_mib.unwrap_or(m.limits.memory_mib),
        cpu_ms: limits.cpu_ms.unwrap_or(m.limits.cpu_ms),
        programs: m
            .programs
            .iter()
            .map(|p| ProgramReport {
                name: p.name.clone(),
                located: path
                    .as_ref()
                    .and_then(|path| which::which_in(&p.name, Some(path), "/").ok())
                    .map(|p| p.display().to_string()),
                env: p.env.iter().cloned().collect(),
                set_env: p.set_env.iter().cloned().collect(),
                max_timeout_secs: p.max_timeout_secs,
                max_output_mib: p.max_output_bytes / (1024 * 1024),
                deny: p.deny.iter().map(|d| d.source.clone()).collect(),
                allow: p.allow.iter().map(|r| r.source.clone()).collect(),
            })
            .collect(),
        host_env: m.host_env.iter().cloned().collect(),
    }
}
