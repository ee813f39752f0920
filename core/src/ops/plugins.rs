//! `alca plugin list`: the plugins alca knows and what they may do.

use serde::Serialize;

use crate::Alca;
use crate::plugin::Origin;

#[derive(Debug, Clone, Serialize)]
pub struct PluginReport {
    pub id: String,
    pub name: String,
    pub version: String,
    pub runtime: String,
    pub description: String,
    /// `built-in` or the manifest's path.
    pub source: String,
    pub memory_mib: u32,
    pub cpu_ms: u32,
    pub programs: Vec<ProgramReport>,
    pub host_env: Vec<String>,
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

/// Every plugin alca knows, with its grants; plus problems with installed ones.
pub fn plugins(alca: &Alca) -> (Vec<PluginReport>, Vec<String>) {
    let path = std::env::var_os("PATH");
    let reports = alca
        .registry
        .all()
        .iter()
        .map(|s| {
            let m = &s.manifest;
            let limits = alca.settings.limits_for(&m.id);
            PluginReport {
                id: m.id.clone(),
                name: m.name.clone(),
                version: m.version.clone(),
                runtime: m.runtime.clone(),
                description: m.description.clone(),
                source: match &s.origin {
                    Origin::Builtin => "built-in".into(),
                    Origin::Installed(p) => p.display().to_string(),
                },
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
        })
        .collect();
    (reports, alca.registry.problems.clone())
}
