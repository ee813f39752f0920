//! Every rule of the configuration, on real files: each field, the merge of
//! `extends`/`includes`, and the errors (short form and rendered).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::*;
use crate::fsutil;

/// A project directory with configuration files in it.
struct Proj {
    dir: tempfile::TempDir,
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
}

impl Proj {
    fn new() -> Proj {
        Proj { dir: tempfile::tempdir().unwrap(), vars: HashMap::new(), home: Some(PathBuf::from("/home/u")) }
    }

    /// A project whose `.alca.toml` is `text`.
    fn with(text: &str) -> Proj {
        let p = Proj::new();
        p.write(FILE_NAME, text);
        p
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> &Proj {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn var(mut self, k: &str, v: &str) -> Proj {
        self.vars.insert(k.into(), v.into());
        self
    }

    fn load(&self) -> Result<Config, ConfigError> {
        let vars = self.vars.clone();
        let env = move |k: &str| vars.get(k).cloned();
        let ctx = LoadContext { project_root: self.root(), env: &env, home: self.home.clone() };
        Config::load(&self.path(FILE_NAME), &ctx)
    }

    fn ok(&self) -> Config {
        self.load().unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(&self) -> ConfigError {
        match self.load() {
            Ok(c) => panic!("expected an error, got {c:#?}"),
            Err(e) => e,
        }
    }

    /// The error as `file:line:col: message`, the project directory as `<dir>`.
    fn err(&self) -> String {
        self.strip(&self.error().short())
    }

    /// The error's help, the project directory as `<dir>`.
    fn help(&self) -> Option<String> {
        self.error().help.map(|h| self.strip(&h))
    }

    /// The error as the user sees it (annotate-snippets).
    fn rendered(&self) -> String {
        self.strip(&self.error().to_string())
    }

    fn strip(&self, s: &str) -> String {
        s.replace(&self.root().display().to_string(), "<dir>")
    }
}

fn ok(text: &str) -> Config {
    Proj::with(text).ok()
}

fn err(text: &str) -> String {
    Proj::with(text).err()
}

fn caps(drop: &[&str], add: &[&str]) -> Caps {
    Caps { drop: drop.iter().map(|s| s.to_string()).collect(), add: add.iter().map(|s| s.to_string()).collect() }
}

fn default_caps() -> Caps {
    caps(&["ALL"], DEFAULT_CAPS)
}

fn cmd(command: &str, append: bool) -> Option<CommandConfig> {
    Some(CommandConfig { command: command.into(), append })
}

// --- image ------------------------------------------------------------------

#[test]
fn image_is_required_somewhere() {
    let p = Proj::with("workdir = \"/w\"\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:1:1: `image` is required, e.g. image = \"debian:bookworm-slim\"");
    assert_eq!(p.help(), None);

    // With several files, the help names every one of them.
    let p = Proj::with("includes = [\"a.toml\"]\nextends = [\"b.toml\"]\n");
    p.write("a.toml", "workdir = \"/w\"\n").write("b.toml", "");
    assert!(p.err().starts_with("<dir>/.alca.toml:1:1: `image` is required"), "{}", p.err());
    assert_eq!(p.help().unwrap(), "none of these files sets it: <dir>/.alca.toml, <dir>/b.toml, <dir>/a.toml");

    // Set in a file extended or included is enough.
    let p = Proj::with("extends = [\"base.toml\"]\n");
    p.write("base.toml", "image = \"from-base\"\n");
    assert_eq!(p.ok().image, "from-base");

    assert_eq!(ok("image = \"  alpine:3.21 \"\n").image, "alpine:3.21");
    assert_eq!(err("image = \"\"\n"), "<dir>/.alca.toml:1:9: `image` is empty");
    assert_eq!(err("image = 3\n"), "<dir>/.alca.toml:1:9: image: invalid type: integer `3`, expected a string");
}

// --- workdir ----------------------------------------------------------------

#[test]
fn workdir_is_an_absolute_path_other_than_root() {
    assert_eq!(ok("image = \"x\"\n").workdir, "/workspace");
    assert_eq!(ok("image = \"x\"\nworkdir = \"/src\"\n").workdir, "/src");
    assert_eq!(ok("image = \"x\"\nworkdir = \"/src/\"\n").workdir, "/src");
    assert_eq!(ok("image = \"x\"\nworkdir = \"/a/./b//c/../d\"\n").workdir, "/a/b/d");
    assert_eq!(
        err("image = \"x\"\nworkdir = \"src\"\n"),
        "<dir>/.alca.toml:2:11: `workdir` must be an absolute path in the container, got \"src\""
    );
    assert_eq!(err("image = \"x\"\nworkdir = \"\"\n"), {
        "<dir>/.alca.toml:2:11: `workdir` must be an absolute path in the container, got \"\""
    });
    for root in ["/", "//", "/a/.."] {
        assert_eq!(
            err(&format!("image = \"x\"\nworkdir = \"{root}\"\n")),
            "<dir>/.alca.toml:2:11: `workdir` cannot be `/`: the project would hide the container's whole filesystem"
        );
    }
    assert_eq!(
        err("image = \"x\"\nworkdir = \"/a:b\"\n"),
        "<dir>/.alca.toml:2:11: `workdir` cannot contain `:` or `,`"
    );
    // An include's workdir wins.
    let p = Proj::with("image = \"x\"\nworkdir = \"/a\"\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "workdir = \"/b\"\n");
    assert_eq!(p.ok().workdir, "/b");
}

// --- runtime ----------------------------------------------------------------

#[test]
fn runtime_is_auto_or_a_plugin_id() {
    assert_eq!(ok("image = \"x\"\n").runtime, RuntimeChoice::Auto);
    assert_eq!(ok("image = \"x\"\nruntime = \"auto\"\n").runtime, RuntimeChoice::Auto);
    assert_eq!(ok("image = \"x\"\nruntime = \"\"\n").runtime, RuntimeChoice::Auto);
    for id in ["docker", "podman", "my-plugin2"] {
        assert_eq!(ok(&format!("image = \"x\"\nruntime = \"{id}\"\n")).runtime, RuntimeChoice::Named(id.into()));
    }
    assert_eq!(
        err("image = \"x\"\nruntime = \"Docker\"\n"),
        "<dir>/.alca.toml:2:11: `runtime` must be \"auto\", \"docker\", \"podman\", \"apple\" or the id of an installed plugin, \
         got \"Docker\""
    );
    // The include wins; an extended file loses to the file itself.
    let p = Proj::with("image = \"x\"\nruntime = \"docker\"\nextends = [\"e.toml\"]\nincludes = [\"i.toml\"]\n");
    p.write("e.toml", "runtime = \"e\"\n").write("i.toml", "runtime = \"podman\"\n");
    assert_eq!(p.ok().runtime, RuntimeChoice::Named("podman".into()));
    p.write("i.toml", "");
    assert_eq!(p.ok().runtime, RuntimeChoice::Named("docker".into()));
}

// --- mounts -----------------------------------------------------------------

fn mounts_of(c: &Config) -> Vec<(String, String, bool)> {
    c.mounts.iter().map(|m| (m.source.display().to_string(), m.target.clone(), m.read_only)).collect()
}

fn m(source: &str, target: &str, ro: bool) -> (String, String, bool) {
    (source.to_string(), target.to_string(), ro)
}

#[test]
fn mounts_string_and_table_forms() {
    let p = Proj::with(
        r#"image = "x"
mounts = [
  "/a:/a",
  "/b:/b:ro",
  "/c:/c:rw",
  { source = "/d", target = "/d" },
  { source = "/e", target = "/e", readonly = true },
  { source = "/f", target = "/f/", readonly = false, exclude = [] },
  "/g:/g/../h/",
]
"#,
    );
    assert_eq!(
        mounts_of(&p.ok()),
        vec![
            m("/a", "/a", false),
            m("/b", "/b", true),
            m("/c", "/c", false),
            m("/d", "/d", false),
            m("/e", "/e", true),
            m("/f", "/f", false),
            m("/g", "/h", false),
        ]
    );
}

#[test]
fn mount_sources_expand_home_and_variables() {
    let p = Proj::with(
        "image = \"x\"\nmounts = [\"~/.ssh:/root/.ssh:ro\", \"$CACHE/pip:/pip\", { source = \"${CACHE}/npm\", target = \
         \"/npm\" }]\n",
    )
    .var("CACHE", "/var/cache");
    assert_eq!(
        mounts_of(&p.ok()),
        vec![
            m("/home/u/.ssh", "/root/.ssh", true),
            m("/var/cache/pip", "/pip", false),
            m("/var/cache/npm", "/npm", false)
        ]
    );
    // The target is never expanded (and `$X` is not absolute).
    assert_eq!(
        err("image = \"x\"\nmounts = [\"/a:$X\"]\n"),
        "<dir>/.alca.toml:2:11: mounts[0]: the target must be an absolute path in the container, got \"$X\""
    );
    // An unset variable is an error located at the entry.
    assert_eq!(
        err("image = \"x\"\nmounts = [\"/a:/a\", \"$NOPE/x:/x\"]\n"),
        "<dir>/.alca.toml:2:20: mounts[1]: source \"$NOPE/x\": environment variable $NOPE is not set"
    );
    assert_eq!(
        err("image = \"x\"\nmounts = [{ source = \"${NOPE}\", target = \"/x\" }]\n"),
        "<dir>/.alca.toml:2:11: mounts[0]: source \"${NOPE}\": environment variable $NOPE is not set"
    );
    // A value with `:` cannot be a mount source.
    let p = Proj::with("image = \"x\"\nmounts = [\"$V:/x\"]\n").var("V", "/a:b");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:11: mounts[0]: source \"$V\" expands to \"/a:b\", which contains `:`");
    // `~` without a home directory.
    let mut p = Proj::with("image = \"x\"\nmounts = [\"~/.ssh:/s\"]\n");
    p.home = None;
    assert_eq!(p.err(), "<dir>/.alca.toml:2:11: mounts[0]: source \"~/.ssh\": cannot expand `~` (HOME is not set)");
}

#[test]
fn relative_mount_sources_are_relative_to_the_declaring_file() {
    let p = Proj::with("image = \"x\"\nmounts = [\"data:/data\", \"./cfg:/cfg\"]\nincludes = [\"sub/more.toml\"]\n");
    p.write("sub/more.toml", "mounts = [\"cache:/cache\", { source = \"../top\", target = \"/top\" }]\n");
    let c = p.ok();
    // (Compared lexically here; `paths_alca_shows_and_compares_are_normal` checks the spelling.)
    let sources: Vec<String> = c.mounts.iter().map(|m| fsutil::lexical(&m.source.display().to_string())).collect();
    let expected: Vec<String> =
        ["data", "cfg", "sub/cache", "top"].iter().map(|s| p.path(s).display().to_string()).collect();
    assert_eq!(sources, expected);
    // Also through a glob and `extends`, from a nested directory.
    let p = Proj::with("image = \"x\"\nextends = [\"conf/*/base.toml\"]\n");
    p.write("conf/x/base.toml", "mounts = [\"d:/d\"]\n");
    assert_eq!(p.ok().mounts[0].source, p.path("conf/x/d"));
}

#[test]
fn mount_errors() {
    let at = |mounts: &str| err(&format!("image = \"x\"\nmounts = [{mounts}]\n"));
    let cases = [
        ("\"a\"", "mounts[0]: invalid mount \"a\": expected \"source:target\" or \"source:target:ro\""),
        ("\"a:b:c:d\"", "mounts[0]: invalid mount \"a:b:c:d\": expected \"source:target\" or \"source:target:ro\""),
        ("\"a:/b:RO\"", "mounts[0]: invalid mount option \"RO\" in \"a:/b:RO\": expected `ro` or `rw`"),
        ("\":/b\"", "mounts[0]: the source is empty"),
        ("\"a:\"", "mounts[0]: the target must be an absolute path in the container, got \"\""),
        ("\"a:b\"", "mounts[0]: the target must be an absolute path in the container, got \"b\""),
        ("\"a:/\"", "mounts[0]: the target cannot be `/`"),
        ("\"a:/x,y\"", "mounts[0]: the target \"/x,y\" cannot contain `,`"),
        ("{ source = \"\", target = \"/x\" }", "mounts[0]: the source is empty"),
    ];
    for (mount, message) in cases {
        assert_eq!(at(mount), format!("<dir>/.alca.toml:2:11: {message}"), "{mount}");
    }
    // Type and key errors come from the typed structures.
    assert_eq!(at("{ source = \"a\" }"), "<dir>/.alca.toml:2:11: mounts[0]: missing key `target`");
    assert_eq!(
        at("{ source = \"a\", target = \"/a\", readonly = \"yes\" }"),
        "<dir>/.alca.toml:2:53: mounts[0].readonly: invalid type: string \"yes\", expected true or false"
    );
    assert_eq!(
        at("{ source = \"a\", target = \"/a\", read_only = true }"),
        "<dir>/.alca.toml:2:42: mounts[0]: unknown key `read_only`"
    );
    assert_eq!(
        Proj::with("image = \"x\"\nmounts = [{ source = \"a\", target = \"/a\", read_only = true }]\n").help().unwrap(),
        "did you mean `readonly`? (valid keys here: `source`, `target`, `readonly`, `exclude`)"
    );
    assert_eq!(at("3"), "<dir>/.alca.toml:2:11: mounts[0]: invalid type: integer `3`, expected a string or a table");
    assert_eq!(
        err("image = \"x\"\nmounts = \"a:/b\"\n"),
        "<dir>/.alca.toml:2:10: mounts: invalid type: string \"a:/b\", expected an array"
    );
}

#[test]
fn a_mount_on_the_workdir_is_an_error() {
    assert_eq!(
        err("image = \"x\"\nmounts = [\"/a:/workspace/\"]\n"),
        "<dir>/.alca.toml:2:11: mounts[0]: target \"/workspace\" is the workdir, where the project is already mounted"
    );
    // The workdir of another file counts.
    let p = Proj::with("image = \"x\"\nmounts = [\"/a:/src\"]\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "workdir = \"/src\"\n");
    assert_eq!(
        p.err(),
        "<dir>/.alca.toml:2:11: mounts[0]: target \"/src\" is the workdir, where the project is already mounted"
    );
    // ...and then /workspace is an ordinary target.
    p.write(FILE_NAME, "image = \"x\"\nmounts = [\"/a:/workspace\"]\nincludes = [\"i.toml\"]\n");
    assert_eq!(mounts_of(&p.ok()), vec![m("/a", "/workspace", false)]);
}

#[test]
fn two_mounts_on_one_target_are_an_error_pointing_at_both() {
    let p = Proj::with("image = \"x\"\nmounts = [\"/a:/t\"]\nincludes = [\"inc/i.toml\"]\n");
    p.write("inc/i.toml", "# another mount\nmounts = [\"/b:/t/\"]\n");
    assert_eq!(p.err(), "<dir>/inc/i.toml:2:11: mounts[1]: target \"/t\" is already mounted");
    assert_eq!(p.help().unwrap(), "by the mount at <dir>/.alca.toml:2:11; keep one of them");
    // In one file too, even when identical.
    let p = Proj::with("image = \"x\"\nmounts = [\"/a:/t\", \"/a:/t\"]\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:20: mounts[1]: target \"/t\" is already mounted");
    assert_eq!(p.help().unwrap(), "by the mount at <dir>/.alca.toml:2:11; keep one of them");
}

#[test]
fn a_mount_reached_twice_through_a_diamond_is_mounted_once() {
    let p = Proj::with("image = \"x\"\nincludes = [\"a.toml\", \"b.toml\"]\n");
    p.write("a.toml", "includes = [\"common.toml\"]\n")
        .write("b.toml", "extends = [\"common.toml\"]\n")
        .write("common.toml", "mounts = [\"data:/data\", \"~/.x:/x:ro\"]\n");
    assert_eq!(
        mounts_of(&p.ok()),
        vec![m(&p.path("data").display().to_string(), "/data", false), m("/home/u/.x", "/x", true)]
    );
}

/// A diamond whose branches spell the shared file's path differently
/// (`a/../common.toml`, `b/../common.toml`) is still one file with one mount.
#[test]
fn a_diamond_through_different_directories_is_still_one_file() {
    let p = Proj::with("image = \"x\"\nincludes = [\"a/x.toml\", \"b/y.toml\"]\n");
    p.write("a/x.toml", "includes = [\"../common.toml\"]\n")
        .write("b/y.toml", "includes = [\"../common.toml\"]\n")
        .write("common.toml", "mounts = [\"data:/data\"]\n[network]\nports = [\"8080:80\"]\n");
    let c = p.load().map_err(|e| p.strip(&e.to_string())).unwrap();
    assert_eq!(mounts_of(&c), vec![m(&p.path("data").display().to_string(), "/data", false)]);
    assert_eq!(c.ports.len(), 1);
}

/// A path alca shows (in errors, `config.files`, mount sources) or compares
/// (diamonds, drift) is spelled as the path it is: `./` and `dir/..`
/// resolved, as the `./.alca.*.toml` of every template would otherwise show
/// `<dir>/./.alca.local.toml`.
#[test]
fn paths_alca_shows_and_compares_are_normal() {
    let p = Proj::with("image = \"x\"\nincludes = [\"./.alca.*.toml\", \"sub/../other.toml\", \"sub/x.toml\"]\n");
    p.write(".alca.local.toml", "mounts = [\"./data:/data\"]\n")
        .write("other.toml", "")
        .write("sub/x.toml", "mounts = [\"../top:/top\"]\n");
    let c = p.ok();
    let files: Vec<String> = c.files.iter().map(|f| p.strip(&f.display().to_string())).collect();
    assert_eq!(files, ["<dir>/.alca.toml", "<dir>/.alca.local.toml", "<dir>/other.toml", "<dir>/sub/x.toml"]);
    let sources: Vec<String> = c.mounts.iter().map(|m| p.strip(&m.source.display().to_string())).collect();
    assert_eq!(sources, ["<dir>/data", "<dir>/top"]);
    p.write(".alca.local.toml", "image = 1\n");
    assert_eq!(p.err(), "<dir>/.alca.local.toml:1:9: image: invalid type: integer `1`, expected a string");
}

#[test]
fn mount_exclude_is_refused_until_supported() {
    assert_eq!(
        err("image = \"x\"\nmounts = [{ source = \"a\", target = \"/a\", exclude = [\"*.key\"] }]\n"),
        "<dir>/.alca.toml:2:11: mounts[0]: `exclude` is not supported by this version of alca yet; remove it (alca \
         will not ignore it silently)"
    );
    assert_eq!(ok("image = \"x\"\nmounts = [{ source = \"/a\", target = \"/a\", exclude = [] }]\n").mounts.len(), 1);
}

// --- commands ---------------------------------------------------------------

#[test]
fn commands_string_and_table_forms() {
    let c = ok("image = \"x\"\n[commands]\nup = \"apk add git\"\nenter = { command = \". ~/.profile;\" }\n");
    assert_eq!(c.commands.up, cmd("apk add git", false));
    assert_eq!(c.commands.enter, cmd(". ~/.profile;", false));
    let c = ok("image = \"x\"\n[commands.up]\ncommand = \"make\"\nappend = false\n");
    assert_eq!(c.commands.up, cmd("make", false));
    // Empty is none.
    let c = ok("image = \"x\"\n[commands]\nup = \"\"\nenter = { command = \" \", append = true }\n");
    assert_eq!(c.commands, Commands::default());
    // A dangling `append` (nothing to append to) is harmless: the command runs.
    assert_eq!(
        ok("image = \"x\"\ncommands.up = { command = \"make\", append = true }\n").commands.up.unwrap().command,
        "make"
    );
    // Errors.
    assert_eq!(
        err("image = \"x\"\n[commands]\nenter = [\"a\"]\n"),
        "<dir>/.alca.toml:3:9: commands.enter: invalid type: sequence, expected a string or a table"
    );
    assert_eq!(
        err("image = \"x\"\n[commands]\nup = { cmd = \"a\" }\n"),
        "<dir>/.alca.toml:3:8: commands.up: unknown key `cmd`"
    );
    assert_eq!(
        err("image = \"x\"\n[commands]\nup = { append = true }\n"),
        "<dir>/.alca.toml:3:6: commands.up: missing key `command`"
    );
    assert_eq!(
        err("image = \"x\"\n[commands]\nup = { command = \"a\", append = 1 }\n"),
        "<dir>/.alca.toml:3:32: commands.up.append: invalid type: integer `1`, expected true or false"
    );
    assert_eq!(
        err("image = \"x\"\n[commands]\nstart = \"a\"\n"),
        "<dir>/.alca.toml:3:1: commands: unknown key `start`"
    );
}

#[test]
fn commands_append_across_extends_and_includes() {
    // extends e2 < e1 < self < i1 < i2, each appending.
    let p = Proj::with(
        "image = \"x\"\nextends = [\"e1.toml\", \"e2.toml\"]\nincludes = [\"i1.toml\", \"i2.toml\"]\n[commands]\nup = { \
         command = \"self\", append = true }\n",
    );
    p.write("e2.toml", "commands.up = \"e2\"\ncommands.enter = \"enter-e2;\"\n")
        .write("e1.toml", "commands.up = { command = \"e1\", append = true }\n")
        .write("i1.toml", "commands.up = { command = \"i1\", append = true }\n")
        .write("i2.toml", "[commands.up]\ncommand = \"i2\"\nappend = true\n");
    let c = p.ok();
    assert_eq!(c.commands.up, cmd("e2 e1 self i1 i2", false));
    assert_eq!(c.commands.enter, cmd("enter-e2;", false));

    // An overlay without `append` replaces, whatever it is merged over.
    p.write("i1.toml", "commands.up = \"i1\"\n");
    assert_eq!(p.ok().commands.up, cmd("i1 i2", false));
    p.write("i2.toml", "commands.up = { command = \"i2\", append = false }\n");
    assert_eq!(p.ok().commands.up, cmd("i2", false));
    // An empty overlay keeps the base, even appending.
    p.write("i2.toml", "commands.up = \"\"\n");
    assert_eq!(p.ok().commands.up, cmd("i1", false));
    p.write("i2.toml", "commands.up = { command = \"\", append = true }\n");
    assert_eq!(p.ok().commands.up, cmd("i1", false));
}

#[test]
fn an_append_is_resolved_inside_its_file_first() {
    // x.toml's own append has nothing below it inside x.toml: it stays an
    // append and joins the including file's command.
    let p = Proj::with("image = \"x\"\ncommands.up = \"a\"\nincludes = [\"x.toml\"]\n");
    p.write("x.toml", "extends = [\"y.toml\"]\ncommands.up = { command = \"b\", append = true }\n").write("y.toml", "");
    assert_eq!(p.ok().commands.up, cmd("a b", false));
    // With a command in y.toml, x.toml appends to that, and the result
    // replaces the including file's command (only the overlay's flag counts).
    p.write("y.toml", "commands.up = \"y\"\n");
    assert_eq!(p.ok().commands.up, cmd("y b", false));
    // Appending in the including file to a command from an extended file.
    let p = Proj::with(
        "image = \"x\"\nextends = [\"base.toml\"]\ncommands.enter = { command = \"--command\", append = true }\n",
    );
    p.write("base.toml", "commands.enter = \"nix develop\"\n");
    assert_eq!(p.ok().commands.enter, cmd("nix develop --command", false));
}

// --- envs -------------------------------------------------------------------

fn env_of(c: &Config, name: &str) -> (EnvValue, bool) {
    let e = c.envs.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no {name} in {:?}", c.envs));
    (e.value.clone(), e.override_on_enter)
}

#[test]
fn envs_forms() {
    let c = ok(r#"image = "x"
[envs]
LIT = "hello"
EMPTY = ""
DOLLAR = "$HOME"
BRACED = "${HOME}"
DASH = "${MY-VAR_1}"
T1 = { value = "${TOKEN}", override_on_enter = true }
T2 = { value = "v" }
T3 = { override_on_enter = true }
"#);
    assert_eq!(env_of(&c, "LIT"), (EnvValue::Literal("hello".into()), false));
    assert_eq!(env_of(&c, "EMPTY"), (EnvValue::Literal("".into()), false));
    // A literal "" sets an empty variable; an unset host variable is left out.
    let empty = c.envs.iter().find(|e| e.name == "EMPTY").unwrap();
    assert_eq!(empty.resolve(&|_| None), Some(String::new()));
    let braced = c.envs.iter().find(|e| e.name == "BRACED").unwrap();
    assert_eq!(braced.resolve(&|_| None), None);
    assert_eq!(braced.resolve(&|k| (k == "HOME").then(|| "/h".into())), Some("/h".into()));
    assert_eq!(env_of(&c, "DOLLAR"), (EnvValue::Literal("$HOME".into()), false));
    assert_eq!(env_of(&c, "BRACED"), (EnvValue::Host("HOME".into()), false));
    assert_eq!(env_of(&c, "DASH"), (EnvValue::Host("MY-VAR_1".into()), false));
    assert_eq!(env_of(&c, "T1"), (EnvValue::Host("TOKEN".into()), true));
    assert_eq!(env_of(&c, "T2"), (EnvValue::Literal("v".into()), false));
    assert_eq!(env_of(&c, "T3"), (EnvValue::Literal("".into()), true));
    let names: Vec<&str> = c.envs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["BRACED", "DASH", "DOLLAR", "EMPTY", "LIT", "T1", "T2", "T3"]);
}

#[test]
fn envs_errors() {
    let at = |line: &str| err(&format!("image = \"x\"\n[envs]\n{line}\n"));
    for (value, shown) in [
        ("\"hello${X}\"", "\"hello${X}\""),
        ("\"${X}/bin\"", "\"${X}/bin\""),
        ("\"${1X}\"", "\"${1X}\""),
        ("\"${X\"", "\"${X\""),
        ("{ value = \"a${X}\" }", "\"a${X}\""),
    ] {
        assert_eq!(
            at(&format!("A = {value}")),
            format!(
                "<dir>/.alca.toml:3:5: envs.A: `${{...}}` must be the whole value (e.g. \"${{HOME}}\"); {shown} mixes it \
                 with text"
            )
        );
    }
    assert_eq!(at("\"A B\" = \"x\""), "<dir>/.alca.toml:3:9: envs: \"A B\" is not a valid variable name");
    assert_eq!(at("\"A=B\" = \"x\""), "<dir>/.alca.toml:3:9: envs: \"A=B\" is not a valid variable name");
    assert_eq!(at("A = 1"), "<dir>/.alca.toml:3:5: envs.A: invalid type: integer `1`, expected a string or a table");
    assert_eq!(
        at("A = { value = 1 }"),
        "<dir>/.alca.toml:3:15: envs.A.value: invalid type: integer `1`, expected a string"
    );
    assert_eq!(at("A = { val = \"1\" }"), "<dir>/.alca.toml:3:7: envs.A: unknown key `val`");
    assert_eq!(
        at("A = { value = \"1\", override_on_enter = \"yes\" }"),
        "<dir>/.alca.toml:3:40: envs.A.override_on_enter: invalid type: string \"yes\", expected true or false"
    );
}

#[test]
fn envs_merge_by_name_and_the_overlay_replaces_the_whole_entry() {
    let p = Proj::with(
        "image = \"x\"\nextends = [\"e.toml\"]\nincludes = [\"i.toml\"]\n[envs]\nA = { value = \"${A}\", \
         override_on_enter = true }\nB = \"self\"\n",
    );
    p.write("e.toml", "[envs]\nB = \"e\"\nE = \"e\"\n").write("i.toml", "[envs]\nA = \"lit\"\nI = \"${I}\"\n");
    let c = p.ok();
    assert_eq!(env_of(&c, "A"), (EnvValue::Literal("lit".into()), false));
    assert_eq!(env_of(&c, "B"), (EnvValue::Literal("self".into()), false));
    assert_eq!(env_of(&c, "E"), (EnvValue::Literal("e".into()), false));
    assert_eq!(env_of(&c, "I"), (EnvValue::Host("I".into()), false));
    assert_eq!(c.envs.len(), 4);
    // alca's defaults sit under the user's.
    let p = Proj::with("image = \"x\"\nenvs.LANG = \"C.UTF-8\"\n");
    let all = p.ok().effective_envs();
    assert_eq!(all.len(), DEFAULT_ENVS.len());
    let lang = all.iter().find(|e| e.name == "LANG").unwrap();
    assert_eq!((&lang.value, lang.override_on_enter), (&EnvValue::Literal("C.UTF-8".into()), false));
}

// --- resources --------------------------------------------------------------

fn memory(value: &str) -> Result<Option<u64>, String> {
    let p = Proj::with(&format!("image = \"x\"\n[resources]\nmemory = \"{value}\"\n"));
    p.load().map(|c| c.resources.memory_bytes).map_err(|e| p.strip(&e.short()))
}

#[test]
fn resources_memory_units() {
    const K: u64 = 1024;
    for (text, bytes) in [
        ("6291456", 6 * K * K),
        ("6291456b", 6 * K * K),
        ("6291456B", 6 * K * K),
        ("6144k", 6 * K * K),
        ("6144kb", 6 * K * K),
        ("6144KiB", 6 * K * K),
        ("6m", 6 * K * K),
        ("512m", 512 * K * K),
        ("512 M", 512 * K * K),
        ("512mb", 512 * K * K),
        ("512MiB", 512 * K * K),
        ("1g", K * K * K),
        ("16G", 16 * K * K * K),
        ("2gb", 2 * K * K * K),
        ("2gib", 2 * K * K * K),
        ("1t", K * K * K * K),
        ("1TB", K * K * K * K),
        ("1tib", K * K * K * K),
        (" 4g ", 4 * K * K * K),
    ] {
        assert_eq!(memory(text), Ok(Some(bytes)), "{text}");
    }
    assert_eq!(memory(""), Ok(None));
    assert_eq!(ok("image = \"x\"\n").resources, Resources::default());
}

/// docker and podman read `-m 1.5g` (go-units `RAMInBytes` takes a decimal
/// number), and the reference passes `memory` to them as is: a fractional
/// size is a valid memory limit.
#[test]
fn resources_memory_fractional_sizes_as_the_engines_read_them() {
    assert_eq!(memory("1.5g"), Ok(Some(1536 * 1024 * 1024)));
    assert_eq!(memory("0.5g"), Ok(Some(512 * 1024 * 1024)));
}

#[test]
fn resources_memory_errors() {
    let at = "<dir>/.alca.toml:3:10: resources.memory: ";
    for (text, message) in [
        ("5m", "\"5m\" is less than the 6 MiB a container needs at least"),
        ("512", "\"512\" is less than the 6 MiB a container needs at least"),
        ("0", "\"0\" is less than the 6 MiB a container needs at least"),
        ("lots", "\"lots\" is not a size; write e.g. \"512m\", \"1.5g\" or \"4g\""),
        ("g", "\"g\" is not a size; write e.g. \"512m\", \"1.5g\" or \"4g\""),
        ("4x", "\"4x\" is not a size; write e.g. \"512m\", \"1.5g\" or \"4g\""),
        ("-1g", "\"-1g\" is not a size; write e.g. \"512m\", \"1.5g\" or \"4g\""),
        ("1g1", "\"1g1\" is not a size; write e.g. \"512m\", \"1.5g\" or \"4g\""),
        ("99999999999t", "\"99999999999t\" is too large"),
    ] {
        assert_eq!(memory(text), Err(format!("{at}{message}")), "{text}");
    }
    assert_eq!(
        err("image = \"x\"\n[resources]\nmemory = 1024\n"),
        "<dir>/.alca.toml:3:10: resources.memory: invalid type: integer `1024`, expected a string"
    );
}

#[test]
fn resources_cpus() {
    let cpus = |v: &str| {
        let p = Proj::with(&format!("image = \"x\"\n[resources]\ncpus = {v}\n"));
        p.load().map(|c| c.resources.cpus).map_err(|e| p.strip(&e.short()))
    };
    assert_eq!(cpus("2"), Ok(Some(2.0)));
    assert_eq!(cpus("1.5"), Ok(Some(1.5)));
    assert_eq!(cpus("0"), Ok(None));
    assert_eq!(cpus("0.0"), Ok(None));
    assert_eq!(
        cpus("-1"),
        Err("<dir>/.alca.toml:3:8: resources.cpus: -1 is not a number of CPUs (e.g. 2 or 1.5)".into())
    );
    assert_eq!(
        cpus("nan"),
        Err("<dir>/.alca.toml:3:8: resources.cpus: NaN is not a number of CPUs (e.g. 2 or 1.5)".into())
    );
    assert_eq!(
        cpus("\"2\""),
        Err("<dir>/.alca.toml:3:8: resources.cpus: invalid type: string \"2\", expected a number".into())
    );
}

#[test]
fn resources_merge_per_key() {
    let p =
        Proj::with("image = \"x\"\nextends = [\"e.toml\"]\nincludes = [\"i.toml\"]\n[resources]\nmemory = \"1g\"\n");
    p.write("e.toml", "resources = { memory = \"2g\", cpus = 2 }\n").write("i.toml", "[resources]\ncpus = 0\n");
    // 0 CPUs is "unset": it does not replace the base's limit.
    assert_eq!(p.ok().resources, Resources { memory_bytes: Some(1 << 30), cpus: Some(2.0) });
    p.write("i.toml", "[resources]\ncpus = 0.5\nmemory = \"\"\n");
    assert_eq!(p.ok().resources, Resources { memory_bytes: Some(1 << 30), cpus: Some(0.5) });
}

// --- network ----------------------------------------------------------------

#[test]
fn ports_append_across_files_and_clash_across_files() {
    let p =
        Proj::with("image = \"x\"\nextends = [\"e.toml\"]\nincludes = [\"i.toml\"]\nnetwork.ports = [\"8080:80\"]\n");
    p.write("e.toml", "network.ports = [\"3000\"]\n")
        .write("i.toml", "[network]\nports = [\"8080:80\", \"53:53/udp\"]\n");
    let shown: Vec<String> = p.ok().ports.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown, ["3000:3000", "8080:80", "53:53/udp"]);
    // The same host port for another container port, in another file.
    p.write("i.toml", "[network]\nports = [\"127.0.0.1:8080:81\"]\n");
    assert_eq!(
        p.err(),
        "<dir>/i.toml:2:10: network: ports[2]: 127.0.0.1:8080:81 publishes the same host port as ports[1] (8080:80)"
    );
}

#[test]
fn lan_access_rules_and_proxy_are_kept_as_written_with_their_position() {
    let p = Proj::with(
        "image = \"x\"\n[network]\nlan-access = [\"10.0.0.0/8:*\", \"tcp://[fd00::1]:22\", \" ${alca:HOST_IP}:8080 \"]\n\
         proxy = \"${alca:HOST_IP}:1080\"\n",
    );
    let c = p.ok();
    let shown: Vec<(String, String)> = c.network.lan_access.iter().map(|e| (e.text.clone(), p.strip(&e.at))).collect();
    assert_eq!(
        shown,
        [
            ("10.0.0.0/8:*".to_string(), "<dir>/.alca.toml:3:15".to_string()),
            ("tcp://[fd00::1]:22".to_string(), "<dir>/.alca.toml:3:31".to_string()),
            (" ${alca:HOST_IP}:8080 ".to_string(), "<dir>/.alca.toml:3:53".to_string()),
        ]
    );
    let proxy = c.network.proxy.as_ref().unwrap();
    assert_eq!((proxy.text.as_str(), p.strip(&proxy.at).as_str()), ("${alca:HOST_IP}:1080", "<dir>/.alca.toml:4:9"));
    assert!(!c.network.allows_all() && c.network.needs_host_ip());
    // At `up`, with the host's address.
    let r = c.network.resolve(Some("172.17.0.1".parse().unwrap())).unwrap();
    let rules: Vec<String> = r.rules.iter().map(|r| format!("{} {:?} {}", r.net, r.port, r.protocols)).collect();
    assert_eq!(rules, ["10.0.0.0/8 None any", "fd00::1/128 Some(22) tcp", "172.17.0.1/32 Some(8080) tcp"]);
    assert_eq!(r.proxy.unwrap().to_string(), "172.17.0.1:1080");
    assert!(!r.allow_all);
    // Without it, the error names the entry.
    assert_eq!(
        p.strip(&c.network.resolve(None).unwrap_err()),
        "<dir>/.alca.toml:3:53: network.lan-access: \" ${alca:HOST_IP}:8080 \" uses ${alca:HOST_IP}, but the host's \
         address (as the container sees it) could not be found"
    );
}

#[test]
fn a_bad_rule_is_an_error_at_its_entry_in_the_file_that_has_it() {
    let p = Proj::with("image = \"x\"\nincludes = [\"net/i.toml\"]\nnetwork.lan-access = [\"10.0.0.1\"]\n");
    p.write("net/i.toml", "[network]\nlan-access = [\"*\", \"[fe80::1]:http\"]\n");
    assert_eq!(p.err(), "<dir>/net/i.toml:2:20: network.lan-access[1]: invalid port \"http\"");
    assert_eq!(
        p.rendered(),
        r#"network.lan-access[1]: invalid port "http"
 --> <dir>/net/i.toml:2:20
  |
2 | lan-access = ["*", "[fe80::1]:http"]
  |                    ^^^^^^^^^^^^^^^^"#
    );
    p.write("net/i.toml", "[network]\nproxy = \"[::1]:70000\"\n");
    assert_eq!(
        p.err(),
        "<dir>/net/i.toml:2:9: network.proxy: invalid proxy address \"[::1]:70000\": port must be 1-65535: proxy \
         port must be 1-65535"
    );
    // `${alca:HOST_IP}` is checked with a stand-in address; the error shows the token.
    p.write("net/i.toml", "network.lan-access = [\"[${alca:HOST_IP}]:53\"]\n");
    assert_eq!(
        p.err(),
        "<dir>/net/i.toml:1:23: network.lan-access[0]: expected IPv6 address but got IPv4: \"${alca:HOST_IP}\""
    );
    p.write("net/i.toml", "network.proxy = \"${alca:HOST_IP}.lan:3128\"\n");
    assert_eq!(
        p.err(),
        "<dir>/net/i.toml:1:17: network.proxy: invalid proxy address \"${alca:HOST_IP}.lan:3128\": host must be an IP \
         address, not a hostname: proxy host must be an IP address"
    );
    // Plain `${VAR}` is not expanded: an invalid address.
    let p = Proj::with("image = \"x\"\nnetwork.lan-access = [\"${NAS}:445\"]\n").var("NAS", "10.0.0.5");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:23: network.lan-access[0]: invalid IP address \"${NAS}\"");
}

#[test]
fn lan_access_tokens_are_checked_first() {
    let net = |v: &str| format!("image = \"x\"\n[network]\nlan-access = {v}\n");
    assert_eq!(
        err(&net("[\"10.0.0.1\", \"${alca:HOST}:80\"]")),
        "<dir>/.alca.toml:3:27: network.lan-access[1]: unknown alca token \"HOST\" in \"${alca:HOST}:80\"; valid \
         tokens: HOST_IP"
    );
    assert_eq!(
        err(&net("[\"${alca:HOST-IP}\"]")),
        "<dir>/.alca.toml:3:15: network.lan-access[0]: invalid alca token syntax \"${alca:HOST-IP}\" in \
         \"${alca:HOST-IP}\""
    );
    assert_eq!(
        err(&net("[\"${alca:HOST_IP\"]")),
        "<dir>/.alca.toml:3:15: network.lan-access[0]: invalid alca token syntax in \"${alca:HOST_IP\": missing `}`"
    );
    assert_eq!(
        err("image = \"x\"\n[network]\nproxy = \"${alca:IP}:3128\"\n"),
        "<dir>/.alca.toml:3:9: network.proxy: unknown alca token \"IP\" in \"${alca:IP}:3128\"; valid tokens: HOST_IP"
    );
}

/// lan-access appends across files (an identical entry once); the proxy of
/// the highest file that sets one wins.
#[test]
fn lan_access_appends_and_the_proxy_is_overridden_across_files() {
    let p = Proj::with(
        "image = \"x\"\nextends = [\"e.toml\"]\nincludes = [\"i.toml\"]\n[network]\nlan-access = [\"10.0.0.2\", \
         \" 10.0.0.1 \"]\nproxy = \"10.0.0.9:3128\"\n",
    );
    p.write("e.toml", "network.lan-access = [\"10.0.0.1\"]\nnetwork.proxy = \"10.0.0.8:3128\"\n")
        .write("i.toml", "[network]\nlan-access = [\"10.0.0.2\", \"*\", \"10.0.0.3\"]\nproxy = \"\"\n");
    let c = p.ok();
    let texts: Vec<&str> = c.network.lan_access.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["10.0.0.1", "10.0.0.2", "*", "10.0.0.3"]);
    assert!(p.strip(&c.network.lan_access[1].at).starts_with("<dir>/.alca.toml:5:"));
    assert!(p.strip(&c.network.lan_access[2].at).starts_with("<dir>/i.toml:2:"));
    assert_eq!(c.network.proxy.as_ref().unwrap().text, "10.0.0.9:3128");
    assert!(c.network.allows_all());
    let r = c.network.resolve(None).unwrap();
    assert!(r.allow_all);
    assert_eq!(r.rules.len(), 3);
    // A non-empty overlay wins; no file setting one: none.
    p.write("i.toml", "network.proxy = \"[fd00::1]:1080\"\n");
    assert_eq!(p.ok().network.proxy.unwrap().text, "[fd00::1]:1080");
    p.write(".alca.toml", "image = \"x\"\nextends = [\"e.toml\"]\n").write("e.toml", "network.proxy = \"\"\n");
    assert_eq!(p.ok().network, NetworkConfig::default());
    // A diamond: the fragment both branches extend is counted once.
    let p = Proj::with("image = \"x\"\nextends = [\"a.toml\", \"b.toml\"]\n");
    p.write("a.toml", "extends = [\"lan.toml\"]\n")
        .write("b.toml", "extends = [\"lan.toml\"]\n")
        .write("lan.toml", "network.lan-access = [\"192.168.1.0/24:*\"]\n");
    assert_eq!(p.ok().network.lan_access.len(), 1);
}

// --- caps -------------------------------------------------------------------

#[test]
fn caps_absent_drops_all_but_the_defaults() {
    assert_eq!(ok("image = \"x\"\n").caps, default_caps());
    assert_eq!(DEFAULT_CAPS, ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID"]);
    // A table with both lists empty is the same.
    assert_eq!(ok("image = \"x\"\ncaps = {}\n").caps, default_caps());
    assert_eq!(ok("image = \"x\"\n[caps]\ndrop = []\nadd = []\n").caps, default_caps());
    // ...and so is an empty array.
    assert_eq!(ok("image = \"x\"\ncaps = []\n").caps, default_caps());
}

#[test]
fn caps_array_adds_to_the_defaults() {
    let c =
        ok("image = \"x\"\ncaps = [\"NET_ADMIN\", \"cap_sys_ptrace\", \"chown\", \"CAP_NET_ADMIN\", \" net_raw \"]\n");
    let mut add = DEFAULT_CAPS.to_vec();
    add.extend(["NET_ADMIN", "SYS_PTRACE", "NET_RAW"]);
    assert_eq!(c.caps, caps(&["ALL"], &add));
}

#[test]
fn caps_table_is_full_control() {
    assert_eq!(
        ok("image = \"x\"\ncaps = { drop = [\"all\"], add = [\"NET_BIND_SERVICE\"] }\n").caps,
        caps(&["ALL"], &["NET_BIND_SERVICE"])
    );
    assert_eq!(ok("image = \"x\"\n[caps]\nadd = [\"cap_net_admin\"]\n").caps, caps(&[], &["NET_ADMIN"]));
    assert_eq!(ok("image = \"x\"\n[caps]\ndrop = [\"NET_RAW\", \"MKNOD\"]\n").caps, caps(&["NET_RAW", "MKNOD"], &[]));
}

#[test]
fn caps_errors() {
    let p = Proj::with("image = \"x\"\ncaps = [\"CHOWN\", \"NET_ADMN\"]\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:18: caps: \"NET_ADMN\" is not a Linux capability; did you mean NET_ADMIN?");
    assert_eq!(
        err("image = \"x\"\ncaps = [\"FLY\"]\n"),
        "<dir>/.alca.toml:2:9: caps: \"FLY\" is not a Linux capability"
    );
    assert_eq!(
        err("image = \"x\"\ncaps = { drop = [\"ALL\"], add = [\"sys_admn\"] }\n"),
        "<dir>/.alca.toml:2:33: caps.add: \"sys_admn\" is not a Linux capability; did you mean SYS_ADMIN?"
    );
    assert_eq!(
        err("image = \"x\"\ncaps = { drop = [\"NET_RAWW\"] }\n"),
        "<dir>/.alca.toml:2:18: caps.drop: \"NET_RAWW\" is not a Linux capability; did you mean NET_RAW?"
    );
    let all = "adding ALL capabilities would make the sandbox privileged; name the capabilities you need";
    assert_eq!(err("image = \"x\"\ncaps = { add = [\"ALL\"] }\n"), format!("<dir>/.alca.toml:2:17: caps.add: {all}"));
    assert_eq!(err("image = \"x\"\ncaps = [\"CAP_ALL\"]\n"), format!("<dir>/.alca.toml:2:9: caps: {all}"));
    assert_eq!(
        err("image = \"x\"\ncaps = \"NET_ADMIN\"\n"),
        "<dir>/.alca.toml:2:8: caps: invalid type: string \"NET_ADMIN\", expected an array or a table"
    );
    assert_eq!(
        err("image = \"x\"\ncaps = [1]\n"),
        "<dir>/.alca.toml:2:9: caps[0]: invalid type: integer `1`, expected a string"
    );
    assert_eq!(err("image = \"x\"\ncaps = { remove = [] }\n"), "<dir>/.alca.toml:2:10: caps: unknown key `remove`");
}

#[test]
fn caps_merge() {
    let p = Proj::with("image = \"x\"\ncaps = [\"NET_ADMIN\"]\nincludes = [\"i.toml\"]\n");
    let with = |more: &[&str]| {
        let mut add = DEFAULT_CAPS.to_vec();
        add.extend(more);
        caps(&["ALL"], &add)
    };
    // Array over array: the union.
    p.write("i.toml", "caps = [\"SYS_PTRACE\", \"NET_ADMIN\"]\n");
    assert_eq!(p.ok().caps, with(&["NET_ADMIN", "SYS_PTRACE"]));
    // Table over array: replaces.
    p.write("i.toml", "caps = { drop = [\"ALL\"], add = [\"KILL\"] }\n");
    assert_eq!(p.ok().caps, caps(&["ALL"], &["KILL"]));
    // Array over table: adds to the table's `add`.
    p.write(FILE_NAME, "image = \"x\"\ncaps = { drop = [\"ALL\"], add = [\"CHOWN\"] }\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "caps = [\"NET_ADMIN\", \"CHOWN\"]\n");
    assert_eq!(p.ok().caps, caps(&["ALL"], &["CHOWN", "NET_ADMIN"]));
    // Nothing over anything: kept.
    p.write("i.toml", "image = \"y\"\n");
    assert_eq!(p.ok().caps, caps(&["ALL"], &["CHOWN"]));
    // An extended file's table under the file's array.
    let p = Proj::with("image = \"x\"\nextends = [\"e.toml\"]\ncaps = [\"NET_RAW\"]\n");
    p.write("e.toml", "[caps]\ndrop = [\"MKNOD\"]\n");
    assert_eq!(p.ok().caps, caps(&["MKNOD"], &["NET_RAW"]));
}

/// §2.4: an overlay replaces a value only if it sets one; an empty value in
/// an included file leaves the base's.
#[test]
fn an_empty_runtime_overlay_leaves_the_base() {
    let p = Proj::with("image = \"x\"\nruntime = \"docker\"\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "runtime = \"\"\n");
    assert_eq!(p.ok().runtime, RuntimeChoice::Named("docker".into()));
}

/// §2.4: `caps` is replaced only by a value with a capability in it; an
/// empty table (`caps = {}`, which alone means the defaults) in an included
/// file leaves the base's.
#[test]
fn an_empty_caps_table_overlay_leaves_the_base() {
    let p = Proj::with("image = \"x\"\ncaps = [\"NET_ADMIN\"]\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "caps = {}\n");
    let mut add = DEFAULT_CAPS.to_vec();
    add.push("NET_ADMIN");
    assert_eq!(p.ok().caps, caps(&["ALL"], &add));
}

// --- hooks ------------------------------------------------------------------

#[test]
fn hooks() {
    let c = ok("image = \"x\"\n[hooks]\npost_up = \"echo up\"\npre_down = \"echo down\"\n");
    assert_eq!(c.hooks, Hooks { post_up: Some("echo up".into()), pre_down: Some("echo down".into()) });
    assert_eq!(ok("image = \"x\"\n[hooks]\npost_up = \"\"\npre_down = \"  \"\n").hooks, Hooks::default());
    assert_eq!(ok("image = \"x\"\n").hooks, Hooks::default());
    // Per hook, the overlay wins if it sets one.
    let p = Proj::with("image = \"x\"\nextends = [\"e.toml\"]\nincludes = [\"i.toml\"]\nhooks.post_up = \"self\"\n");
    p.write("e.toml", "[hooks]\npost_up = \"e\"\npre_down = \"e\"\n")
        .write("i.toml", "[hooks]\npost_up = \"i\"\npre_down = \"\"\n");
    assert_eq!(p.ok().hooks, Hooks { post_up: Some("i".into()), pre_down: Some("e".into()) });
    assert_eq!(
        err("image = \"x\"\n[hooks]\npost_down = \"x\"\n"),
        "<dir>/.alca.toml:3:1: hooks: unknown key `post_down`"
    );
    assert_eq!(
        Proj::with("image = \"x\"\n[hooks]\npost_down = \"x\"\n").help().unwrap(),
        "did you mean `post_up`? (valid keys here: `post_up`, `pre_down`)"
    );
}

// --- workdir_exclude --------------------------------------------------------

#[test]
fn workdir_exclude_is_refused_until_supported() {
    let p = Proj::with("image = \"x\"\nworkdir_exclude = [\"node_modules/\"]\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:19: `workdir_exclude` is not supported by this version of alca yet");
    assert_eq!(p.help().unwrap(), "remove it (alca will not ignore it silently)");
    assert_eq!(ok("image = \"x\"\nworkdir_exclude = []\n").workdir, "/workspace");
    // In an included file too, named.
    let p = Proj::with("image = \"x\"\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "\nworkdir_exclude = [\"a\"]\n");
    assert_eq!(p.err(), "<dir>/i.toml:2:19: `workdir_exclude` is not supported by this version of alca yet");
}

// --- extends / includes -----------------------------------------------------

#[test]
fn precedence_extends_then_self_then_includes() {
    let p = Proj::with(
        "extends = [\"e1.toml\", \"e2.toml\"]\nincludes = [\"i1.toml\", \"i2.toml\"]\nworkdir = \"/self\"\nruntime = \
         \"self\"\n",
    );
    // image: only the extended files set it (e1 wins); workdir: self over
    // them; runtime: i2 over everything.
    p.write("e1.toml", "image = \"e1\"\nworkdir = \"/e1\"\nruntime = \"e1\"\n")
        .write("e2.toml", "image = \"e2\"\nworkdir = \"/e2\"\nruntime = \"e2\"\nhooks.pre_down = \"e2\"\n")
        .write("i1.toml", "runtime = \"i1\"\nhooks.post_up = \"i1\"\n")
        .write("i2.toml", "runtime = \"i2\"\n");
    let c = p.ok();
    assert_eq!(c.image, "e1");
    assert_eq!(c.workdir, "/self");
    assert_eq!(c.runtime, RuntimeChoice::Named("i2".into()));
    assert_eq!(c.hooks, Hooks { post_up: Some("i1".into()), pre_down: Some("e2".into()) });
    // Every file read, the project's first.
    let files: Vec<PathBuf> = ["", "e2.toml", "e1.toml", "i1.toml", "i2.toml"]
        .iter()
        .map(|f| if f.is_empty() { p.path(FILE_NAME) } else { p.path(f) })
        .collect();
    assert_eq!(c.files, files);
    assert_eq!(c.path, p.path(FILE_NAME));
}

#[test]
fn extended_and_included_files_have_their_own_references() {
    // A nested file's references are relative to it.
    let p = Proj::with("image = \"x\"\nincludes = [\"a/a.toml\"]\n");
    p.write("a/a.toml", "extends = [\"b/b.toml\"]\nincludes = [\"../c.toml\"]\n")
        .write("a/b/b.toml", "workdir = \"/b\"\nruntime = \"b\"\n")
        .write("c.toml", "runtime = \"c\"\n");
    let c = p.ok();
    assert_eq!((c.workdir.as_str(), c.runtime), ("/b", RuntimeChoice::Named("c".into())));
    assert_eq!(c.files.len(), 4);
}

#[test]
fn globs_are_sorted_may_match_nothing_and_recurse_with_double_star() {
    let p = Proj::with("image = \"x\"\nincludes = [\"conf/*.toml\", \"none/*.toml\", \"deep/**/*.toml\"]\n");
    p.write("conf/b.toml", "runtime = \"b\"\nmounts = [\"/b:/b\"]\n")
        .write("conf/a.toml", "runtime = \"a\"\nmounts = [\"/a:/a\"]\n")
        .write("conf/c.txt", "not toml")
        .write("conf/dir.toml/x", "");
    let c = p.ok();
    assert_eq!(c.runtime, RuntimeChoice::Named("b".into()));
    assert_eq!(mounts_of(&c), vec![m("/a", "/a", false), m("/b", "/b", false)]);

    p.write("deep/x/y/z.toml", "runtime = \"z\"\n").write("deep/top.toml", "runtime = \"top\"\n");
    let c = p.ok();
    assert_eq!(c.runtime, RuntimeChoice::Named("z".into()));
    assert_eq!(c.files.len(), 5, "{:?}", c.files);

    // `?` and `[...]` are globs too.
    let p = Proj::with("image = \"x\"\nincludes = [\"f?.toml\", \"g[0-9].toml\"]\n");
    p.write("f1.toml", "workdir = \"/f1\"\n").write("g2.toml", "runtime = \"g2\"\n");
    let c = p.ok();
    assert_eq!((c.workdir.as_str(), c.runtime), ("/f1", RuntimeChoice::Named("g2".into())));
}

#[test]
fn the_usual_fragment_glob_never_includes_its_own_file() {
    // `.alca.*.toml` (and even `.alca*.toml`) from `.alca.toml` and from a
    // fragment that includes its siblings.
    let p = Proj::with("image = \"x\"\nincludes = [\"./.alca*.toml\"]\n");
    p.write(".alca.a.toml", "includes = [\"./.alca.*.toml\"]\nmounts = [\"/a:/a\"]\n")
        .write(".alca.b.toml", "mounts = [\"/b:/b\"]\n");
    let c = p.ok();
    assert_eq!(mounts_of(&c), vec![m("/a", "/a", false), m("/b", "/b", false)]);
    assert!(!c.files[1..].iter().any(|f| f.ends_with(FILE_NAME)), "{:?}", c.files);
}

#[test]
fn reference_paths_expand_variables_and_home() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("alca.toml"), "workdir = \"/home\"\n").unwrap();
    let mut p = Proj::with(
        "image = \"x\"\nextends = [\"~/alca.toml\"]\nincludes = [\"$PRESETS/p.toml\", \"${PRESETS}/q*.toml\"]\n",
    )
    .var("PRESETS", "presets");
    p.home = Some(home.path().to_path_buf());
    p.write("presets/p.toml", "runtime = \"p\"\n").write("presets/q1.toml", "hooks.post_up = \"q\"\n");
    let c = p.ok();
    assert_eq!(c.workdir, "/home");
    assert_eq!(c.runtime, RuntimeChoice::Named("p".into()));
    assert_eq!(c.hooks.post_up.as_deref(), Some("q"));

    // An unset variable is an error at the entry.
    p.vars.clear();
    assert_eq!(p.err(), "<dir>/.alca.toml:3:13: \"$PRESETS/p.toml\": environment variable $PRESETS is not set");
}

#[test]
fn a_missing_reference_is_an_error_at_the_entry() {
    let p = Proj::with("image = \"x\"\nincludes = [\n  \"here.toml\",\n  \"missing.toml\",\n]\n");
    p.write("here.toml", "");
    assert_eq!(p.err(), "<dir>/.alca.toml:4:3: cannot read <dir>/missing.toml: No such file or directory (os error 2)");
    let p = Proj::with("image = \"x\"\nextends = [\"dir\"]\n");
    std::fs::create_dir(p.path("dir")).unwrap();
    assert_eq!(p.err(), "<dir>/.alca.toml:2:12: <dir>/dir is not a file");
    assert_eq!(
        err("image = \"x\"\nincludes = [\"[\"]\n"),
        "<dir>/.alca.toml:2:13: invalid pattern \"[\": invalid range pattern"
    );
    assert_eq!(
        err("image = \"x\"\nincludes = \"a.toml\"\n"),
        "<dir>/.alca.toml:2:12: includes: invalid type: string \"a.toml\", expected an array"
    );
}

#[test]
fn cycles_are_errors_at_the_entry_that_closes_them() {
    // .alca.toml → a → b → a
    let p = Proj::with("image = \"x\"\nincludes = [\"a.toml\"]\n");
    p.write("a.toml", "includes = [\"b.toml\"]\n").write("b.toml", "# back\nextends = [\"./a.toml\"]\n");
    assert_eq!(p.err(), "<dir>/b.toml:2:12: circular reference: <dir>/a.toml → <dir>/b.toml → <dir>/a.toml");
    // Back to the project's file.
    p.write("b.toml", "extends = [\"sub/../.alca.toml\"]\n");
    std::fs::create_dir(p.path("sub")).unwrap();
    assert_eq!(
        p.err(),
        "<dir>/b.toml:1:12: circular reference: <dir>/.alca.toml → <dir>/a.toml → <dir>/b.toml → <dir>/.alca.toml"
    );
    // A file including itself.
    assert_eq!(
        err("image = \"x\"\nincludes = [\".alca.toml\"]\n"),
        "<dir>/.alca.toml:2:13: circular reference: <dir>/.alca.toml → <dir>/.alca.toml"
    );
}

#[test]
fn diamonds_are_accepted() {
    // .alca.toml includes a and b, which both extend base.
    let p = Proj::with("image = \"x\"\nincludes = [\"a.toml\", \"b.toml\"]\n");
    p.write("a.toml", "extends = [\"base.toml\"]\nworkdir = \"/a\"\n")
        .write("b.toml", "extends = [\"base.toml\"]\n")
        .write("base.toml", "workdir = \"/base\"\nenvs.X = \"1\"\ncaps = [\"NET_RAW\"]\nnetwork.ports = [\"80\"]\n");
    let c = p.ok();
    // b's base is merged over a, as the order says.
    assert_eq!(c.workdir, "/base");
    assert_eq!(c.envs.len(), 1);
    assert_eq!(c.ports.len(), 1);
    assert_eq!(c.caps.add.iter().filter(|c| *c == "NET_RAW").count(), 1);
}

/// `config.files` (what `alca config show` lists) names each file read
/// once, even when a diamond reaches it twice.
#[test]
fn files_lists_each_file_once() {
    let p = Proj::with("image = \"x\"\nincludes = [\"a.toml\", \"b.toml\"]\n");
    p.write("a.toml", "extends = [\"base.toml\"]\n")
        .write("b.toml", "extends = [\"base.toml\"]\n")
        .write("base.toml", "");
    let files: Vec<String> = p.ok().files.iter().map(|f| p.strip(&f.display().to_string())).collect();
    assert_eq!(files, ["<dir>/.alca.toml", "<dir>/a.toml", "<dir>/base.toml", "<dir>/b.toml"]);
}

#[test]
fn errors_in_an_included_file_name_that_file() {
    let p = Proj::with("image = \"x\"\nincludes = [\"sub/inc.toml\"]\n");
    p.write("sub/inc.toml", "# a fragment\n[resources]\ncpus = \"2\"\n");
    assert_eq!(p.err(), "<dir>/sub/inc.toml:3:8: resources.cpus: invalid type: string \"2\", expected a number");
    p.write("sub/inc.toml", "image = \"x\"\nimage = \"y\"\n");
    assert!(p.err().starts_with("<dir>/sub/inc.toml:2:1: "), "{}", p.err());
    p.write("sub/inc.toml", "mounts = [\"$NOPE:/x\"]\n");
    assert_eq!(p.err(), "<dir>/sub/inc.toml:1:11: mounts[0]: source \"$NOPE\": environment variable $NOPE is not set");
    p.write("sub/inc.toml", "includes = [\"gone.toml\"]\n");
    assert_eq!(
        p.err(),
        "<dir>/sub/inc.toml:1:13: cannot read <dir>/sub/gone.toml: No such file or directory (os error 2)"
    );
    std::fs::write(p.path("sub/inc.toml"), b"image = \"\xff\"\n").unwrap();
    assert_eq!(p.err(), "<dir>/sub/inc.toml:1:10: the file is not UTF-8 text");
}

#[test]
fn the_project_file_itself() {
    let p = Proj::new();
    let e = p.error();
    assert_eq!((e.line, e.column), (1, 1));
    assert!(p.strip(&e.short()).starts_with("<dir>/.alca.toml:1:1: cannot read the file: "), "{}", e.short());
    assert_eq!(
        err("image = \"x\"\0\n"),
        "<dir>/.alca.toml:1:12: the file contains a NUL byte; it is not a TOML text file"
    );
}

// --- errors -----------------------------------------------------------------

#[test]
fn unknown_keys_suggest_the_nearest_valid_one() {
    let p = Proj::with("imgae = \"x\"\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:1:1: unknown key `imgae`");
    assert!(p.help().unwrap().starts_with("did you mean `image`? (valid keys here: `extends`, `includes`, `image`"));
    let p = Proj::with("image = \"x\"\n[resources]\nmemroy = \"1g\"\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:3:1: resources: unknown key `memroy`");
    assert_eq!(p.help().unwrap(), "did you mean `memory`? (valid keys here: `memory`, `cpus`)");
    let p = Proj::with("image = \"x\"\n[network]\nport = [\"80\"]\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:3:1: network: unknown key `port`");
    assert_eq!(p.help().unwrap(), "did you mean `ports`? (valid keys here: `ports`, `lan-access`, `proxy`)");
    let p = Proj::with("image = \"x\"\nnetwork.lan_access = [\"*\"]\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:9: network: unknown key `lan_access`");
    assert!(p.help().unwrap().starts_with("did you mean `lan-access`?"));
    let p = Proj::with("image = \"x\"\nenv = {}\n");
    assert!(p.help().unwrap().starts_with("did you mean `envs`?"), "{:?}", p.help());
    let p = Proj::with("image = \"x\"\nzzz = 1\n");
    assert_eq!(p.err(), "<dir>/.alca.toml:2:1: unknown key `zzz`");
    assert_eq!(
        p.help().unwrap(),
        "valid keys here: `extends`, `includes`, `image`, `workdir`, `workdir_exclude`, `runtime`, `mounts`, \
         `commands`, `envs`, `resources`, `network`, `caps`, `hooks`"
    );
    // Keys of the reference tool have no aliases.
    assert_eq!(err("image = \"x\"\n[[mounts]]\nsource = \"a\"\ntarget = \"/a\"\nro = true\n"), {
        "<dir>/.alca.toml:5:1: mounts[0]: unknown key `ro`"
    });
}

#[test]
fn wrong_types() {
    assert_eq!(err("image = 3\n"), "<dir>/.alca.toml:1:9: image: invalid type: integer `3`, expected a string");
    assert_eq!(err("image = \"x\"\nworkdir = true\n"), {
        "<dir>/.alca.toml:2:11: workdir: invalid type: boolean `true`, expected a string"
    });
    assert_eq!(
        err("image = \"x\"\n[resources]\ncpus = \"2\"\n"),
        "<dir>/.alca.toml:3:8: resources.cpus: invalid type: string \"2\", expected a number"
    );
    assert_eq!(err("image = \"x\"\nresources = 2\n"), {
        "<dir>/.alca.toml:2:13: resources: invalid type: integer `2`, expected struct RawResources"
    });
    assert_eq!(err("image = \"x\"\nenvs = []\n"), "<dir>/.alca.toml:2:8: envs: invalid type: sequence, expected a map");
    assert_eq!(err("image = \"x\"\nhooks.post_up = [\"a\"]\n"), {
        "<dir>/.alca.toml:2:17: hooks.post_up: invalid type: sequence, expected a string"
    });
    assert_eq!(err("image = \"x\"\nextends = [1]\n"), {
        "<dir>/.alca.toml:2:12: extends[0]: invalid type: integer `1`, expected a string"
    });
    // TOML syntax.
    assert_eq!(err("image = \"x\n"), "<dir>/.alca.toml:1:11: invalid basic string, expected `\"`");
}

// --- rendered errors ----------------------------------------------------------

#[test]
fn rendered_unknown_key_with_help() {
    let p = Proj::with("image = \"x\"\n\n[resources]\nmemroy = \"16g\"\ncpus = 8\n");
    assert_eq!(
        p.rendered(),
        r#"resources: unknown key `memroy`
 --> <dir>/.alca.toml:4:1
  |
4 | memroy = "16g"
  | ^^^^^^
  |
  = help: did you mean `memory`? (valid keys here: `memory`, `cpus`)"#
    );
}

#[test]
fn rendered_mount_error() {
    let p = Proj::with("image = \"x\"\nmounts = [\n  \"~/.ssh:/root/.ssh:ro\",\n  \"$CACHE/pip:/pip\",\n]\n");
    assert_eq!(
        p.rendered(),
        r#"mounts[1]: source "$CACHE/pip": environment variable $CACHE is not set
 --> <dir>/.alca.toml:4:3
  |
4 |   "$CACHE/pip:/pip",
  |   ^^^^^^^^^^^^^^^^^"#
    );
    let p = Proj::with("image = \"x\"\nmounts = [\"/a:/t\"]\nincludes = [\"i.toml\"]\n");
    p.write("i.toml", "mounts = [{ source = \"/b\", target = \"/t\" }]\n");
    assert_eq!(
        p.rendered(),
        r#"mounts[1]: target "/t" is already mounted
 --> <dir>/i.toml:1:11
  |
1 | mounts = [{ source = "/b", target = "/t" }]
  |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  |
  = help: by the mount at <dir>/.alca.toml:2:11; keep one of them"#
    );
}

#[test]
fn rendered_error_in_an_included_file() {
    let p = Proj::with("image = \"x\"\nincludes = [\"./.alca.*.toml\"]\n");
    p.write(".alca.local.toml", "# personal\n[caps]\nadd = [\"SYS_ADMN\"]\n");
    assert_eq!(
        p.rendered(),
        r#"caps.add: "SYS_ADMN" is not a Linux capability; did you mean SYS_ADMIN?
 --> <dir>/.alca.local.toml:3:8
  |
3 | add = ["SYS_ADMN"]
  |        ^^^^^^^^^^"#
    );
}

#[test]
fn rendered_error_on_a_line_with_multibyte_characters() {
    // The column counts characters; the caret sits under the value.
    let p = Proj::with("image = \"x\"\n[envs]\n\"GRÜSSE\" = \"héllo ${NAME} – 👋\"\n");
    let e = p.error();
    assert_eq!((e.line, e.column), (3, 12));
    assert_eq!(
        p.rendered(),
        r#"envs.GRÜSSE: `${...}` must be the whole value (e.g. "${HOME}"); "héllo ${NAME} – 👋" mixes it with text
 --> <dir>/.alca.toml:3:12
  |
3 | "GRÜSSE" = "héllo ${NAME} – 👋"
  |            ^^^^^^^^^^^^^^^^^^^^"#
    );
}

#[test]
fn rendered_error_on_the_last_line_without_a_newline() {
    let p = Proj::with("image = \"x\"\nworkdir = \"rel/dir\"");
    assert_eq!(
        p.rendered(),
        r#"`workdir` must be an absolute path in the container, got "rel/dir"
 --> <dir>/.alca.toml:2:11
  |
2 | workdir = "rel/dir"
  |           ^^^^^^^^^"#
    );
    // A syntax error at the very end of the file.
    let p = Proj::with("image = \"x\"\nmounts = [");
    let rendered = p.rendered();
    assert!(rendered.contains(" --> <dir>/.alca.toml:2:11\n"), "{rendered}");
    assert!(rendered.contains("2 | mounts = [\n"), "{rendered}");
}

#[test]
fn rendered_error_without_a_line() {
    let p = Proj::with("extends = [\"base.toml\"]\n");
    p.write("base.toml", "# nothing\n");
    assert_eq!(
        p.rendered(),
        "<dir>/.alca.toml:1:1: `image` is required, e.g. image = \"debian:bookworm-slim\"\n  = help: none of these files \
         sets it: <dir>/.alca.toml, <dir>/base.toml"
    );
}

// --- the documentation keeps up with the types ---------------------------------

/// Every key path of the schema: `a.b` for tables, `a[].b` for the tables
/// of an array, `a.<NAME>.b` for the tables of a map.
fn key_paths(
    node: &serde_json::Value,
    defs: &serde_json::Value,
    prefix: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    assert!(depth < 16, "the schema nests too deep at {prefix}");
    if let Some(r) = node.get("$ref").and_then(|r| r.as_str()) {
        let name = r.strip_prefix("#/definitions/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
        key_paths(&defs[name], defs, prefix, out, depth + 1);
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for sub in node.get(combinator).and_then(|v| v.as_array()).into_iter().flatten() {
            key_paths(sub, defs, prefix, out, depth + 1);
        }
    }
    if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
        for (key, sub) in props {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            out.insert(path.clone());
            key_paths(sub, defs, &path, out, depth + 1);
        }
    }
    if let Some(items) = node.get("items") {
        key_paths(items, defs, &format!("{prefix}[]"), out, depth + 1);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        key_paths(values, defs, &format!("{prefix}.<NAME>"), out, depth + 1);
    }
}

#[test]
fn the_documentation_names_every_key_of_the_schema() {
    let schema = schema();
    let mut paths = BTreeSet::new();
    key_paths(&schema, &schema["definitions"], "", &mut paths, 0);
    // The walk itself.
    for expected in
        ["image", "network.ports[].hostIp", "mounts[].readonly", "envs.<NAME>.override_on_enter", "caps.drop"]
    {
        assert!(paths.contains(expected), "{expected} not in {paths:?}");
    }
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md")).unwrap();
    let missing: Vec<&String> = paths.iter().filter(|p| !docs.contains(&format!("`{p}`"))).collect();
    assert!(missing.is_empty(), "docs/configuration.md does not name these keys of the schema: {missing:?}");
}
