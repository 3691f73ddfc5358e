//! `cargo xtask build`: turns the crate into the files a site embeds, in
//! `dist/`: the optimized wasm module, its JS glue and typings, the
//! hand-written loader scripts from `www/`, `manifest.json` with each file's
//! Subresource Integrity hash, and the npm package in `dist/npm/`.

use std::fs;
use std::path::Path;

use crate::layout::{dist_dir, named_module, target_dir, COMPILER, ON_DEMAND, OUT_NAME};
use crate::measure;
use crate::package::{fetched_files, write_hashed, write_manifest, write_npm_package};
use crate::sh::{cargo, cmd, root, run, Result};
use crate::tools::{ensure_esbuild, ensure_wasm_bindgen, ensure_wasm_opt, ensure_wasm_target, WASM_TARGET};
use crate::wasm;

/// The passes wasm-opt runs on each shipped module (BENCHMARKS.md, "wasm-opt
/// passes" says what each saves). `--flatten --rereloop` rebuilds every
/// function's control flow before the size passes, which then find more to
/// merge; `-Oz` twice and `--converge` (repeat while the module still
/// shrinks) finish the job. `--low-memory-unused` lets wasm-opt fold small
/// constant offsets into loads and stores, which is only sound when nothing
/// touches the first 1,024 bytes of memory: the widget's stack is the
/// first 64 KiB and grows down from its top, so only a stack 1 KiB short
/// of overflowing would reach them.
const SHRINK: [&str; 6] = ["--low-memory-unused", "--flatten", "--rereloop", "-Oz", "-Oz", "--converge"];

/// Stops the build when `module` keeps data in its first 1,024 bytes, where
/// [`SHRINK`]'s `--low-memory-unused` would make wasm-opt's output wrong.
fn check_low_memory_unused(module: &Path) -> Result {
    let bytes = fs::read(module).map_err(|err| format!("could not read {}: {err}", module.display()))?;
    match wasm::lowest_data_offset(&bytes)? {
        Some(offset) if offset < 1024 => Err(format!(
            "{}: data starts at address {offset}, inside the first 1,024 bytes that --low-memory-unused \
             assumes unused; the stack no longer comes first (build.rs sets its size)",
            module.display()
        )),
        _ => Ok(()),
    }
}

/// Builds, binds and optimizes the widget into `dist/`, then prints its size.
pub fn build() -> Result {
    ensure_wasm_target()?;
    let wasm_bindgen = ensure_wasm_bindgen()?;
    let wasm_opt = ensure_wasm_opt()?;
    let esbuild = ensure_esbuild()?;

    // Start from an empty directory so files from an older build (a renamed
    // output, a deleted www/ script) never ship by accident.
    let dist = dist_dir();
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|err| format!("could not clear {}: {err}", dist.display()))?;
    }
    fs::create_dir_all(&dist).map_err(|err| format!("could not create {}: {err}", dist.display()))?;

    // `shipped`: the module without std (src/lib.rs says why).
    run(cargo().args([
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "--lib",
        "-p",
        "leadscore",
        "--features",
        "shipped",
    ]))?;

    let module = target_dir().join(WASM_TARGET).join("release/leadscore.wasm");
    if !module.is_file() {
        return Err(format!("cargo build succeeded but {} does not exist", module.display()));
    }
    // `--target web` emits an ES module that loads the wasm itself, so the
    // widget needs no bundler on the host site.
    run(cmd(&wasm_bindgen)
        .args(["--target", "web", "--out-dir"])
        .arg(&dist)
        .args(["--out-name", OUT_NAME])
        .arg(&module))?;

    // wasm-opt shrinks the module beyond what rustc's opt-level "z" and LTO
    // reach, and it runs after wasm-bindgen so it also sees the final
    // imports and exports. It takes the features it may use from the
    // target_features section rustc writes (wasm-bindgen keeps it): exactly
    // what the compiler already relies on. Never `--all-features`: wasm-opt
    // then uses proposals no browser ships (compact imports, stringref) and
    // Chromium refuses the module. Browsers ignore the target_features and
    // producers sections, so neither is worth shipping.
    let bg = dist.join(format!("{OUT_NAME}_bg.wasm"));
    check_low_memory_unused(&bg)?;
    // The same optimization once more, keeping the `name` section (`-g`),
    // so the size report can say which functions the bytes belong to. Only
    // for reading: names change what wasm-opt emits by a few hundred bytes,
    // so what ships is the separate run below.
    let named = named_module();
    if let Some(dir) = named.parent() {
        fs::create_dir_all(dir).map_err(|err| format!("could not create {}: {err}", dir.display()))?;
    }
    run(cmd(&wasm_opt).args(SHRINK).args(["-g", "-o"]).arg(&named).arg(&bg))?;
    run(cmd(&wasm_opt).args(SHRINK).args(["--strip-target-features", "--strip-producers", "-o"]).arg(&bg).arg(&bg))?;

    // The glue as wasm-bindgen writes it carries a doc comment per method
    // and long local names: minified, it is about 30% less gzip
    // (BENCHMARKS.md, "Toward 20 KB"). Its exports keep their names, which
    // is all the loader relies on.
    let glue = dist.join(format!("{OUT_NAME}.js"));
    run(cmd(&esbuild)
        .arg(&glue)
        .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
        .arg(format!("--outfile={}", glue.display())))?;

    shorten_imports(&bg, &glue, &named)?;

    build_compiler(&wasm_opt, &dist.join(COMPILER))?;
    copy_www(&root().join("www"), &dist)?;
    // The views loaded on demand are readable ES modules in www/ and ship
    // minified, like the glue. The loader stays as written: it is already
    // dense, and its gzip size is checked on the source too.
    for part in ON_DEMAND.iter().filter(|part| part.ends_with(".js")) {
        let file = dist.join(part);
        if file.is_file() {
            run(cmd(&esbuild)
                .arg(&file)
                .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
                .arg(format!("--outfile={}", file.display())))?;
        }
    }
    // Last, once every file is final: the hashes a site pins, and the
    // package that ships the same files to bundlers.
    write_manifest(&dist, &fetched_files())?;
    write_hashed(&dist)?;
    write_npm_package(&dist)?;
    println!();
    measure::report(&dist)
}

/// Renames the module's imports from the glue to one or two letters, in
/// the module and in the glue's import object alike (`wasm::shorten_imports`
/// says why). Every long name must appear exactly once in the glue, as that
/// object's key: anything else means the glue's shape changed, and the build
/// stops rather than ship a module whose imports the glue does not give.
/// The `named` module gets the same names, so that it runs with the same
/// glue in place of the shipped one (a CPU profile then names functions).
fn shorten_imports(bg: &Path, glue: &Path, named: &Path) -> Result {
    let read_error = |path: &Path, err: std::io::Error| format!("could not read {}: {err}", path.display());
    let module = fs::read(bg).map_err(|err| read_error(bg, err))?;
    let mut text = fs::read_to_string(glue).map_err(|err| read_error(glue, err))?;
    let from = format!("./{OUT_NAME}_bg.js");
    let (module, renamed) = wasm::shorten_imports(&module, &from, "a")?;
    let mut keys = vec![(format!("\"{from}\":"), "a:".to_string())];
    keys.extend(renamed.iter().map(|(long, short)| (format!("{long}:"), format!("{short}:"))));
    for (long, short) in &keys {
        let name = long.trim_end_matches(':');
        if text.matches(name).count() != 1 || text.matches(long.as_str()).count() != 1 {
            return Err(format!(
                "{}: the import {name} is not exactly one key of the glue's import object; cannot shorten it",
                glue.display()
            ));
        }
        text = text.replacen(long.as_str(), short, 1);
    }
    let (module, exports) = wasm::shorten_exports(&module, &["memory"])?;
    let text = rename_export_uses(&text, &exports).map_err(|err| format!("{}: {err}", glue.display()))?;
    let named_module = fs::read(named).map_err(|err| read_error(named, err))?;
    let (named_module, named_imports) = wasm::shorten_imports(&named_module, &from, "a")?;
    let (named_module, named_exports) = wasm::shorten_exports(&named_module, &["memory"])?;
    if named_imports != renamed || named_exports != exports {
        return Err(format!("{}: its imports or exports differ from the shipped module's", named.display()));
    }
    fs::write(named, named_module).map_err(|err| format!("could not write {}: {err}", named.display()))?;
    fs::write(bg, module).map_err(|err| format!("could not write {}: {err}", bg.display()))?;
    fs::write(glue, text).map_err(|err| format!("could not write {}: {err}", glue.display()))
}

/// The glue with its uses of the module's exports renamed. The minified
/// glue reads them as properties of one variable (`c.__wbindgen_malloc`);
/// that variable is found by the one export every glue uses, and afterwards
/// no long name may be left quoted or called off anything else, or the build
/// stops. (A JS export of the same name, `start`, is the glue's own.)
fn rename_export_uses(glue: &str, renamed: &[(String, String)]) -> Result<String> {
    let malloc = ".__wbindgen_malloc";
    let at = glue.find(malloc).ok_or("the glue never calls __wbindgen_malloc; cannot find the module's exports")?;
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let start = glue[..at].rfind(|c: char| !is_name(c)).map_or(0, |at| at + 1);
    let exports = &glue[start..at];
    if exports.is_empty() {
        return Err("the glue calls __wbindgen_malloc on no variable".to_string());
    }
    let mut out = glue.to_string();
    // Longest first, so no name is cut inside a longer one that starts with it.
    let mut renamed: Vec<&(String, String)> = renamed.iter().collect();
    renamed.sort_by_key(|(long, _)| std::cmp::Reverse(long.len()));
    for (long, short) in renamed {
        let from = format!("{exports}.{long}");
        let mut text = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(found) = rest.find(&from) {
            let after = &rest[found + from.len()..];
            text.push_str(&rest[..found]);
            if after.starts_with(is_name) {
                text.push_str(&from);
            } else {
                text.push_str(exports);
                text.push('.');
                text.push_str(short);
            }
            rest = after;
        }
        text.push_str(rest);
        out = text;
        // Read some other way (by a quoted name, or off another variable),
        // it would be missing once renamed.
        let quoted = [format!("\"{long}\""), format!("'{long}'"), format!(".{long}(")];
        if quoted.iter().any(|each| out.contains(each.as_str())) {
            return Err(format!("the export {long} is used other than as {exports}.{long}; cannot shorten it"));
        }
    }
    Ok(out)
}

/// The config compiler (`compiler` with `shipped`, src/compiler.rs): the
/// same crate without the widget, so in a target directory of its own,
/// which keeps both builds cached. No wasm-bindgen: it has no imports and
/// three plain exports, which `www/leadscore_config.js` calls.
fn build_compiler(wasm_opt: &Path, out: &Path) -> Result {
    let target = target_dir().join("config-compiler");
    run(cargo()
        .args(["build", "--release", "--target", WASM_TARGET, "--lib", "-p", "leadscore"])
        .args(["--features", "shipped,compiler", "--target-dir"])
        .arg(&target))?;
    let module = target.join(WASM_TARGET).join("release/leadscore.wasm");
    check_low_memory_unused(&module)?;
    run(cmd(wasm_opt)
        .args(SHRINK)
        .args(["--strip-debug", "--strip-target-features", "--strip-producers", "-o"])
        .arg(out)
        .arg(&module))
}

/// Copies the hand-written loader scripts and their typings from the top
/// level of `www` next to the generated glue they import.
fn copy_www(www: &Path, dist: &Path) -> Result {
    if !www.is_dir() {
        return Ok(());
    }
    let entries = fs::read_dir(www).map_err(|err| format!("could not list {}: {err}", www.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| format!("could not list {}: {err}", www.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let shipped = name.ends_with(".js") || name.ends_with(".d.ts");
        if shipped && entry.path().is_file() {
            files.push(name);
        }
    }
    files.sort();
    for name in files {
        let to = dist.join(&name);
        // A www/ file named like generated output would silently replace it.
        if to.exists() {
            return Err(format!("www/{name} has the same name as a file wasm-bindgen generated in dist/; rename it"));
        }
        fs::copy(www.join(&name), &to).map_err(|err| format!("could not copy www/{name} to dist/: {err}"))?;
        println!("copied www/{name} -> dist/{name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::env;
    use std::path::PathBuf;

    use super::*;

    /// A scratch directory unique to this test process.
    fn scratch(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!("xtask-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn copies_only_top_level_scripts_and_typings() {
        let dir = scratch("copy");
        let (www, dist) = (dir.join("www"), dir.join("dist"));
        fs::create_dir_all(www.join("nested")).unwrap();
        fs::create_dir_all(&dist).unwrap();
        for file in ["loader.js", "loader.d.ts", "index.html", "style.css", "nested/x.js"] {
            fs::write(www.join(file), file).unwrap();
        }
        copy_www(&www, &dist).unwrap();
        let mut copied: Vec<_> =
            fs::read_dir(&dist).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        copied.sort();
        assert_eq!(copied, ["loader.d.ts", "loader.js"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_to_overwrite_generated_files() {
        let dir = scratch("clash");
        let (www, dist) = (dir.join("www"), dir.join("dist"));
        fs::create_dir_all(&www).unwrap();
        fs::create_dir_all(&dist).unwrap();
        fs::write(www.join("leadscore_wasm.js"), "hand-written").unwrap();
        fs::write(dist.join("leadscore_wasm.js"), "generated").unwrap();
        let err = copy_www(&www, &dist).unwrap_err();
        assert!(err.contains("same name"), "{err}");
        assert_eq!(fs::read_to_string(dist.join("leadscore_wasm.js")).unwrap(), "generated");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_www_is_fine() {
        let dir = scratch("none");
        copy_www(&dir.join("www"), &dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    fn renamed(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(long, short)| (long.to_string(), short.to_string())).collect()
    }

    #[test]
    fn export_uses_are_renamed_off_the_exports_variable_only() {
        let glue = "function q(r){const t=c.start(r);c.widget_track(1);return c.__wbindgen_malloc(t),c.startx}\
                    export{q as start};";
        let out =
            rename_export_uses(glue, &renamed(&[("start", "a"), ("widget_track", "b"), ("__wbindgen_malloc", "c")]))
                .unwrap();
        assert_eq!(out, "function q(r){const t=c.a(r);c.b(1);return c.c(t),c.startx}export{q as start};");
    }

    #[test]
    fn an_export_read_another_way_stops_the_build() {
        let glue = "c.__wbindgen_malloc(1);c.widget_track(2);x[\"widget_track\"]()";
        let err = rename_export_uses(glue, &renamed(&[("widget_track", "a")])).unwrap_err();
        assert!(err.contains("widget_track is used other than as c.widget_track"), "{err}");
        let err = rename_export_uses("malloc()", &renamed(&[])).unwrap_err();
        assert!(err.contains("never calls __wbindgen_malloc"), "{err}");
    }
}
