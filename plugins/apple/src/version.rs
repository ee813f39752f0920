//! Which Apple `container` this is, and what that version can express
//! (container-cli-contracts §1.4 and §1.10).

use std::fmt;

use alca_plugin_sdk::Features;

/// A release of Apple's `container` CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version { major, minor, patch }
    }

    /// The oldest release alca drives: `--progress none`, `ipv4Address`
    /// attachments, `-p` and `--ulimit` are all there.
    pub const MIN: Version = Version::new(0, 9, 0);
    /// `--init`, `system status --format`, error texts without the code prefix.
    pub const INIT: Version = Version::new(0, 10, 0);
    /// `--cap-add` / `--cap-drop`.
    pub const CAPABILITIES: Version = Version::new(0, 12, 0);

    /// The version in `container --version`'s output:
    /// `container CLI version 1.2.2 (build: release, commit: abcdef1)`.
    /// Returns the version and the token as printed.
    pub fn from_cli(stdout: &str) -> Option<(Version, String)> {
        stdout.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("container CLI version ")?;
            let token = rest.split_whitespace().next()?;
            Some((Version::parse(token)?, token.to_string()))
        })
    }

    /// `1.2.2`, `0.10.0`, `1.3.0-rc1`, `v1.2`: the leading digits of the
    /// first three dot-separated parts (the patch defaults to 0).
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let num = |p: Option<&str>| -> Option<u32> {
            let p = p?;
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let major = num(parts.next())?;
        let minor = num(parts.next())?;
        let patch = num(parts.next()).unwrap_or(0);
        Some(Version { major, minor, patch })
    }

    pub fn has_init(self) -> bool {
        self >= Version::INIT
    }

    pub fn has_capabilities(self) -> bool {
        self >= Version::CAPABILITIES
    }

    /// `container system status --format json` (since 0.10).
    pub fn has_status_format(self) -> bool {
        self >= Version::INIT
    }

    /// What this version of the CLI can express. Never a restart policy
    /// (Apple has none) nor fractional CPUs (`--cpus` is an integer).
    pub fn features(self) -> Features {
        let mut f = Features::PORTS
            | Features::RESOURCE_LIMITS
            | Features::NAMED_NETWORKS
            | Features::VOLUMES
            | Features::TMPFS
            | Features::READ_ONLY_MOUNTS
            | Features::PORT_HOST_IP;
        if self.has_init() {
            f |= Features::INIT;
        }
        if self.has_capabilities() {
            f |= Features::CAPABILITIES;
        }
        f
    }
}

/// The most any version can express: what `info().features` reports.
pub fn newest_features() -> Features {
    Version::new(u32::MAX, 0, 0).features()
}
