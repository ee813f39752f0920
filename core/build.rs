//! Builds the built-in runtime plugins (docker, podman, apple) for wasm32-wasip2 and
//! puts them in OUT_DIR, where `src/plugin/mod.rs` embeds them. This is the
//! ordinary build: nobody runs a separate plugin build step.
//!
//! The plugins are their own cargo workspace (`plugins/`), built by a nested
//! cargo with its own target directory (`<target>/wasm-plugins`), so the
//! outer build's lock is never contended and repeated builds are incremental.
//!
//! Packagers with prebuilt components can set ALCA_PREBUILT_PLUGINS to a
//! directory holding `docker.wasm`, `podman.wasm` and `apple.wasm`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PLUGINS: &[(&str, &str)] =
    &[("docker", "alca_plugin_docker"), ("podman", "alca_plugin_podman"), ("apple", "alca_plugin_apple")];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("core/ lives in the workspace root").to_path_buf();
    let plugins_dir = root.join("plugins");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    println!("cargo:rerun-if-env-changed=ALCA_PREBUILT_PLUGINS");
    if let Some(dir) = env::var_os("ALCA_PREBUILT_PLUGINS") {
        let dir = PathBuf::from(dir);
        for (name, _) in PLUGINS {
            let src = dir.join(format!("{name}.wasm"));
            println!("cargo:rerun-if-changed={}", src.display());
            copy(&src, &out_dir.join(format!("{name}.wasm")));
        }
        return;
    }

    for path in [
        "wit",
        "plugins/sdk/wit",
        "plugins/Cargo.toml",
        "plugins/Cargo.lock",
        "plugins/sdk",
        "plugins/sdk-networks",
        "plugins/docker-compat",
        "plugins/docker",
        "plugins/podman",
        "plugins/apple",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }

    ensure_target();

    // <target>/<profile>/build/alca-core-*/out -> <target>
    let target_dir =
        out_dir.ancestors().nth(4).map(|t| t.join("wasm-plugins")).unwrap_or_else(|| out_dir.join("wasm-plugins"));

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&plugins_dir)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, package) in PLUGINS {
        cmd.args(["-p", &package.replace('_', "-")]);
    }
    // The outer build's settings must not leak into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
        "__CARGO_FIX_PLZ",
        "CARGO_PROFILE_RELEASE_LTO",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| fail(&format!("cannot run cargo to build the plugins: {e}")));
    if !status.success() {
        fail("building the built-in plugins for wasm32-wasip2 failed (see the errors above)");
    }
    for (name, artifact) in PLUGINS {
        let built = target_dir.join(TARGET).join("release").join(format!("{artifact}.wasm"));
        copy(&built, &out_dir.join(format!("{name}.wasm")));
    }
}

/// Makes sure the wasm32-wasip2 standard library is installed, installing it
/// with rustup when possible.
fn ensure_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = |root: &Path| root.join("lib/rustlib").join(TARGET).exists();
    if sysroot.as_deref().is_some_and(installed) {
        return;
    }
    println!("cargo:warning=the {TARGET} target is missing; installing it with `rustup target add {TARGET}`");
    let ok = Command::new("rustup").args(["target", "add", TARGET]).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        fail(&format!(
            "alca's built-in plugins are WebAssembly components and need the {TARGET} target. Install it with `rustup target add {TARGET}` and build again."
        ));
    }
}

/// Copies a built component into OUT_DIR, with its sha256 next to it
/// (`<name>.sha256`): the binary embeds both, so loading a built-in plugin
/// never hashes it again.
fn copy(from: &Path, to: &Path) {
    use sha2::Digest;
    let bytes = std::fs::read(from).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", from.display())));
    let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if let Err(e) = std::fs::write(to.with_extension("sha256"), hex) {
        fail(&format!("cannot write the sha256 of {}: {e}", to.display()));
    }
    if let Err(e) = std::fs::copy(from, to) {
        fail(&format!("cannot copy {} to {}: {e}", from.display(), to.display()));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
