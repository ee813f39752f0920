//! Choosing the container runtime for a project.
//!
//! * `runtime = "<id>"` in `.alca.toml`: that plugin, which must be available.
//! * `auto`: the runtime already holding the project's container (from the
//!   state file) if it is available, so a newly installed engine never
//!   orphans a container; otherwise the platform's preference order
//!   (Linux: podman, then docker; macOS: Apple's `container` when its
//!   system service is running, then docker, then podman), then the
//!   installed plugins in id order. `apple` is never tried on Linux, where
//!   it cannot run, but `runtime = "apple"` is accepted everywhere and says
//!   why it is not available.

use crate::Alca;
use crate::config::RuntimeChoice;
use crate::container;
use crate::error::Error;
use crate::plugin::PluginInstance;
use crate::report::Reporter;

/// Auto-detection order on this platform.
pub fn preference() -> &'static [&'static str] {
    if cfg!(target_os = "linux") {
        &["podman", "docker"]
    } else if cfg!(target_os = "macos") {
        &["apple", "docker", "podman"]
    } else {
        &["docker", "podman"]
    }
}

/// A loaded runtime plugin that answered `detect` positively.
pub struct Selected {
    pub plugin: PluginInstance,
    pub info: container::PluginInfo,
    pub availability: container::Availability,
    /// Whether `availability` is `detect`'s answer (see [`unprobed`]).
    pub probed: bool,
}

impl Selected {
    pub fn id(&self) -> &str {
        self.plugin.id()
    }

    /// `Docker 28.2.2`
    pub fn describe(&self) -> String {
        match &self.availability.version {
            Some(v) => format!("{} {v}", self.info.name),
            None => self.info.name.clone(),
        }
    }
}

/// Loads and probes one runtime.
pub async fn probe(alca: &Alca, id: &str) -> Result<Selected, Error> {
    let mut plugin = alca.load_plugin(id).await?;
    let info = plugin.info().clone();
    let availability = plugin.detect().await?;
    Ok(Selected { plugin, info, availability, probed: true })
}

/// The runtime the project's state names, when the configuration lets it
/// stand (`auto`, or the same id).
pub fn pinned<'a>(choice: &RuntimeChoice, sticky: Option<&'a str>) -> Option<&'a str> {
    match (choice, sticky) {
        (RuntimeChoice::Auto, Some(id)) => Some(id),
        (RuntimeChoice::Named(named), Some(id)) if named == id => Some(id),
        _ => None,
    }
}

/// Loads a runtime without asking it anything: for a project whose
/// container it already holds, the first engine command is the one that
/// matters (an inspect), and `detect` runs only if something needs it
/// ([`Selected::ensure_probed`]): creating a container, or explaining a
/// failure.
pub async fn unprobed(alca: &Alca, id: &str) -> Result<Selected, Error> {
    let plugin = alca.load_plugin(id).await?;
    let info = plugin.info().clone();
    let availability = container::Availability {
        available: true,
        version: None,
        reason: None,
        hint: None,
        features: None,
        min_memory_bytes: None,
    };
    Ok(Selected { plugin, info, availability, probed: false })
}

impl Selected {
    /// Runs `detect` if it has not run; an unavailable runtime is an error.
    pub async fn ensure_probed(&mut self) -> Result<(), Error> {
        if !self.probed {
            self.availability = self.plugin.detect().await?;
            self.probed = true;
        }
        if self.availability.available {
            return Ok(());
        }
        Err(Error::RuntimeUnavailable {
            id: self.id().to_string(),
            reason: self.availability.reason.clone().unwrap_or_else(|| "it did not say why".into()),
            hint: self.availability.hint.clone(),
        })
    }
}

/// Picks the runtime for a project; `sticky` is the runtime in its state.
pub async fn select(
    alca: &Alca,
    choice: &RuntimeChoice,
    sticky: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Selected, Error> {
    if let RuntimeChoice::Named(id) = choice {
        let selected = probe(alca, id).await?;
        return require_available(selected);
    }
    let mut tried: Vec<(String, String, Option<String>)> = Vec::new();
    let mut candidates: Vec<&str> = Vec::new();
    if let Some(s) = sticky.filter(|s| alca.registry.get(s).is_some()) {
        candidates.push(s);
    }
    candidates.extend(preference().iter().copied().filter(|c| Some(*c) != sticky));
    // Installed plugins take part after the built-ins, in id order.
    candidates.extend(alca.registry.installed().map(|s| s.id()).filter(|id| Some(*id) != sticky));
    for id in candidates {
        match probe(alca, id).await {
            Ok(s) if s.availability.available => {
                if !tried.is_empty() {
                    reporter.step(&format!(
                        "Using {} ({} is not available)",
                        s.info.name,
                        tried.iter().map(|t| t.0.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
                return Ok(s);
            }
            Ok(s) => tried.push((
                id.to_string(),
                s.availability.reason.clone().unwrap_or_else(|| "not available".into()),
                s.availability.hint.clone(),
            )),
            Err(e) => tried.push((id.to_string(), e.to_string(), e.hint())),
        }
    }
    Err(Error::NoRuntime { tried })
}

fn require_available(s: Selected) -> Result<Selected, Error> {
    if s.availability.available {
        Ok(s)
    } else {
        Err(Error::RuntimeUnavailable {
            id: s.id().to_string(),
            reason: s.availability.reason.clone().unwrap_or_else(|| "it did not say why".into()),
            hint: s.availability.hint.clone(),
        })
    }
}
