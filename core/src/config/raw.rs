//! What a configuration file may say, as typed serde structures.
//!
//! These types are the one table of keys: serde parses files with them
//! (unknown keys are errors, with the nearest valid key suggested), the JSON
//! Schema of `.alca.toml` is derived from them (`alca config schema`), and
//! the documentation is checked against that schema. Every value keeps its
//! span, so the rules applied afterwards (`layer.rs`) can point at it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A value and where it is in its file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sp<T>(pub toml::Spanned<T>);

impl<T> Sp<T> {
    pub fn get(&self) -> &T {
        self.0.get_ref()
    }
    pub fn span(&self) -> std::ops::Range<usize> {
        self.0.span()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        toml::Spanned::deserialize(d).map(Sp)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A value written either as a string (the short form) or as a table.
#[derive(Debug, Clone, PartialEq)]
pub enum StringOrTable<T> {
    String(String),
    Table(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StringOrTable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = StringOrTable<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a table")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(StringOrTable::String(s.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StringOrTable::Table)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for StringOrTable<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("StringOr{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [{ "type": "string" }, generator.subschema_for::<T>()] })
    }
}

/// A value written either as an array (the short form) or as a table.
#[derive(Debug, Clone, PartialEq)]
pub enum ListOrTable<I, T> {
    List(Vec<I>),
    Table(T),
}

impl<'de, I: Deserialize<'de>, T: Deserialize<'de>> Deserialize<'de> for ListOrTable<I, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<I, T>(PhantomData<(I, T)>);
        impl<'de, I: Deserialize<'de>, T: Deserialize<'de>> Visitor<'de> for V<I, T> {
            type Value = ListOrTable<I, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array or a table")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(ListOrTable::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ListOrTable::Table)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<I: JsonSchema, T: JsonSchema> JsonSchema for ListOrTable<I, T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("ListOf{}Or{}", I::schema_name(), T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "array", "items": generator.subschema_for::<I>() },
                generator.subschema_for::<T>(),
            ]
        })
    }
}

/// alca's project configuration, `.alca.toml` (and the files it extends
/// and includes).
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "alca project configuration (.alca.toml)")]
pub struct RawFile {
    /// Files this one builds on; their settings have the lowest precedence (the first wins among
    /// them). Paths are relative to this file; `$VAR`, `~` and globs (`*`, `?`, `[...]`) are expanded.
    #[serde(default)]
    pub extends: Vec<Sp<String>>,
    /// Files merged over this one, in order (the last wins), e.g. `./.alca.*.toml`. Paths are
    /// relative to this file; `$VAR`, `~` and globs are expanded; a glob may match nothing.
    #[serde(default)]
    pub includes: Vec<Sp<String>>,
    /// The container image, e.g. `debian:bookworm-slim`. Required (in this file or one it extends
    /// or includes).
    pub image: Option<Sp<String>>,
    /// Where the project is mounted in the container, and where commands run. Default `/workspace`.
    pub workdir: Option<Sp<String>>,
    /// Not supported by this version of alca yet: files of the project to hide from the container.
    pub workdir_exclude: Option<Sp<Vec<String>>>,
    /// The runtime plugin: `auto` (default; podman, then docker on Linux; apple, docker, then
    /// podman on macOS), `docker`, `podman`, `apple`, or the id of an installed plugin.
    pub runtime: Option<Sp<String>>,
    /// Host paths mounted in the container: `"source:target"`, `"source:target:ro"`, or
    /// `{ source, target, readonly }`. Relative sources are relative to the file that declares them;
    /// `~` and `$VAR` are expanded.
    #[serde(default)]
    pub mounts: Vec<Sp<StringOrTable<MountTable>>>,
    /// Commands run in the container.
    pub commands: Option<RawCommands>,
    /// Environment variables of the container: a literal string, `"${HOST_VAR}"` (the host's
    /// value), or `{ value, override_on_enter }`.
    #[serde(default)]
    pub envs: BTreeMap<String, Sp<StringOrTable<EnvTable>>>,
    /// Resource limits of the container.
    pub resources: Option<RawResources>,
    /// Network settings.
    pub network: Option<RawNetwork>,
    /// Linux capabilities. Absent: all dropped but CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETUID and
    /// SETGID. An array adds capabilities to those; a table `{ drop, add }` takes full control.
    pub caps: Option<Sp<ListOrTable<Sp<String>, CapsTable>>>,
    /// Commands run on the host, in the project directory.
    pub hooks: Option<RawHooks>,
}

/// A mount in table form.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MountTable {
    /// The host path (relative to the declaring file; `~` and `$VAR` expanded).
    pub source: Sp<String>,
    /// The absolute path in the container.
    pub target: Sp<String>,
    /// Mount it read-only.
    #[serde(default)]
    pub readonly: Option<Sp<bool>>,
    /// Not supported by this version of alca yet: paths under the mount to hide.
    pub exclude: Option<Sp<Vec<String>>>,
}

/// `[commands]`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCommands {
    /// Run once in the container after it is created (`sh -c`), e.g. to install tools; retried by
    /// the next `alca up` until it succeeds.
    pub up: Option<Sp<StringOrTable<CommandTable>>>,
    /// Prefix of every `alca run`: `sh -c "<enter> '<arg>'..."`.
    pub enter: Option<Sp<StringOrTable<CommandTable>>>,
}

/// A command in table form.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandTable {
    /// The shell command.
    pub command: Sp<String>,
    /// Append to the command of the files this one extends or is included over (with a space)
    /// instead of replacing it.
    #[serde(default)]
    pub append: Option<Sp<bool>>,
}

/// An environment variable in table form.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvTable {
    /// A literal value, or `"${HOST_VAR}"`.
    #[serde(default)]
    pub value: Option<Sp<String>>,
    /// Read the host's value again at every `alca run` (for `"${HOST_VAR}"` values).
    #[serde(default)]
    pub override_on_enter: Option<Sp<bool>>,
}

/// `[resources]`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    /// Memory limit: a number of bytes with an optional unit `b`, `k`, `m`, `g`, `t`, `p` (powers
    /// of 1024), e.g. `"512m"`, `"1.5g"`, `"16g"`.
    pub memory: Option<Sp<String>>,
    /// CPU limit, in CPUs, e.g. `2` or `1.5`.
    pub cpus: Option<Sp<f64>>,
}

/// `[network]`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Published ports: `"[hostIp:]hostPort:containerPort[/tcp|udp]"`, `"containerPort"`, or
    /// `{ port, hostPort, hostIp, protocol }`.
    #[serde(default)]
    pub ports: Vec<Sp<StringOrTable<PortTable>>>,
    /// What the container may reach on private and link-local addresses, which it cannot by
    /// default. Each rule: `"*"` (everything: no isolation), or an optional `tcp://`, `udp://` or
    /// `*://` prefix, then an IPv4 address or CIDR with an optional `:port` or `:*`
    /// (`"192.168.1.10:8080"`, `"10.0.0.0/8"`), or an IPv6 address or CIDR, bare without a port
    /// (`"fe80::1"`) or in brackets (`"[fd00::1]:8080"`, `"[fd00::/8]:*"`). Ports are 1-65535; no
    /// port or `*` is every port. Protocols: the prefix's; without one, TCP for a rule with a port
    /// and every protocol without; `*://` with a port is TCP and UDP. `${alca:HOST_IP}` is the
    /// host's address as the container sees it.
    #[serde(rename = "lan-access")]
    pub lan_access: Option<Sp<Vec<Sp<String>>>>,
    /// A transparent proxy every outbound TCP connection of the container is redirected to:
    /// `"ip:port"` (an IP address, not a host name; IPv4 only in effect), e.g.
    /// `"${alca:HOST_IP}:1080"` for a proxy on the host. It is allowed through the isolation.
    pub proxy: Option<Sp<String>>,
}

/// A published port in table form.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortTable {
    /// The port in the container.
    pub port: Sp<i64>,
    /// The port on the host (default: the same as `port`).
    #[serde(rename = "hostPort")]
    pub host_port: Option<Sp<i64>>,
    /// The host address to publish on (default: every address).
    #[serde(rename = "hostIp")]
    pub host_ip: Option<Sp<String>>,
    /// `tcp` (default) or `udp`.
    pub protocol: Option<Sp<String>>,
}

/// `caps` in table form: full control.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapsTable {
    /// Capabilities to drop (`ALL` for all).
    #[serde(default)]
    pub drop: Vec<Sp<String>>,
    /// Capabilities to add.
    #[serde(default)]
    pub add: Vec<Sp<String>>,
}

/// `[hooks]`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHooks {
    /// Run on the host (`sh -c`, in the project directory) after every successful `alca up`; its
    /// failure fails `alca up`.
    pub post_up: Option<Sp<String>>,
    /// Run on the host at the start of `alca down`; its failure is a warning.
    pub pre_down: Option<Sp<String>>,
}

/// The JSON Schema of `.alca.toml` (draft-07, which TOML editors read).
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RawFile>();
    schema.insert("$id".into(), super::SCHEMA_URL.into());
    schema.to_value()
}
