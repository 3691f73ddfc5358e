//! What the widget costs a visitor to download. Every file in `dist/` is
//! measured raw and compressed the way CDNs serve it, and the numbers are
//! also written to `dist/size-report.json` for CI to track. The largest
//! functions of the optimized module follow, so a size change can be traced
//! to the code that caused it. Kept apart from the commands that print it
//! (`cargo xtask build` and `cargo xtask size`) and from the budget that
//! checks its rows: they all import it, and it imports none of them.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::layout::{named_module, ON_DEMAND};
use crate::sh::Result;

/// The machine-readable copy of the report; not itself measured.
const REPORT_FILE: &str = "size-report.json";

/// How many of the largest functions the report lists.
const LARGEST: usize = 20;

/// One measured file; `name` is relative to `dist/`, with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Measures `dist`, prints the table and writes the JSON report.
pub fn report(dist: &Path) -> Result {
    let rows = measure_dir(dist)?;
    print!("{}", table(&rows));
    let json_path = dist.join(REPORT_FILE);
    fs::write(&json_path, json(&rows)).map_err(|err| format!("could not write {}: {err}", json_path.display()))?;
    println!("wrote dist/{REPORT_FILE}");
    largest_functions(&named_module())
}

/// Lists the largest functions of the named copy `cargo xtask build` keeps
/// (the shipped module has no names). Sizes are each body's bytes before
/// compression.
fn largest_functions(named: &Path) -> Result {
    let Ok(module) = fs::read(named) else {
        println!("\nno {} to name functions from; `cargo xtask build` writes it", named.display());
        return Ok(());
    };
    let functions =
        crate::wasm::functions(&module).map_err(|err| format!("could not read {}: {err}", named.display()))?;
    println!("\nlargest of {} functions (bytes of code, before compression; {}):", functions.len(), named.display());
    print!("{}", functions_table(&functions[..functions.len().min(LARGEST)]));
    println!("\ncode by module (bytes before compression, functions):");
    for (module, size, count) in by_module(&functions) {
        println!("{size:>8}  {count:>4}  {module}");
    }
    Ok(())
}

/// The module a function belongs to, for the size breakdown: three path
/// segments of this crate (`leadscore::core::config`), two of the standard
/// library (`core::fmt`, `alloc::collections`), one of any other crate
/// (`talc`); a trait impl counts for its type's module, and a function
/// with no path (shims wasm-bindgen adds) counts as glue.
pub fn module_of(name: &str) -> String {
    let name = name.trim_start_matches('<').trim_start_matches('&').trim_start_matches("mut ");
    let path = name.split(" as ").next().unwrap_or(name);
    // Generic arguments say nothing about where code lives: `RawVec<T,A>` is `RawVec`.
    let (mut plain, mut depth) = (String::with_capacity(path.len()), 0u32);
    for c in path.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let segments: Vec<&str> = plain.split("::").take_while(|segment| !segment.contains(['{', ' '])).collect();
    let keep = match segments.first() {
        None => 0,
        Some(&"leadscore") => 3,
        Some(&"core" | &"alloc" | &"std") => 2,
        Some(_) => 1,
    };
    if segments.len() < 2 || keep == 0 {
        return "(glue, shims and unnamed)".into();
    }
    segments[..keep.min(segments.len() - 1).max(1)].join("::")
}

/// Code bytes and function count per module, largest first.
pub fn by_module(functions: &[crate::wasm::Function]) -> Vec<(String, u64, usize)> {
    let mut modules: std::collections::BTreeMap<String, (u64, usize)> = std::collections::BTreeMap::new();
    for function in functions {
        let entry = modules.entry(module_of(&function.name)).or_default();
        entry.0 += function.size;
        entry.1 += 1;
    }
    let mut rows: Vec<(String, u64, usize)> =
        modules.into_iter().map(|(module, (size, count))| (module, size, count)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

fn functions_table(functions: &[crate::wasm::Function]) -> String {
    functions.iter().map(|function| format!("{:>8}  {}\n", function.size, function.name)).collect()
}

/// Every shipped file under `dist`, measured, sorted by name.
pub fn measure_dir(dist: &Path) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    collect(dist, "", &mut rows)?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// Walks `dir` recursively (wasm-bindgen puts inline JS under `snippets/`),
/// skipping typings, which are never sent to browsers, the report itself,
/// the manifest, the hashed names and the npm package (copies of the files
/// measured).
fn collect(dir: &Path, prefix: &str, rows: &mut Vec<Row>) -> Result {
    let entries = fs::read_dir(dir).map_err(|err| format!("could not list {}: {err}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| format!("could not list {}: {err}", dir.display()))?;
        let path = entry.path();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if path.is_dir() && [crate::package::NPM_DIR, crate::package::HASHED_DIR].contains(&name.as_str()) {
            // The npm package and the hashed names hold copies of the files measured here.
            continue;
        }
        if path.is_dir() {
            collect(&path, &format!("{name}/"), rows)?;
            continue;
        }
        if name.ends_with(".d.ts") || name == REPORT_FILE || name == crate::package::MANIFEST {
            continue;
        }
        let data = fs::read(&path).map_err(|err| format!("could not read {}: {err}", path.display()))?;
        rows.push(measure(name, &data)?);
    }
    Ok(())
}

fn measure(name: String, data: &[u8]) -> Result<Row> {
    let failed = |what: &str, err: std::io::Error| format!("could not {what} {name}: {err}");

    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(data).map_err(|err| failed("gzip", err))?;
    let gzip = gzip.finish().map_err(|err| failed("gzip", err))?;

    // Quality 11 with a 4 MiB window is what static-asset pipelines use for
    // pre-compressed `.br` files, i.e. the best case a visitor gets.
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let mut brotli = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut brotli, &params).map_err(|err| failed("brotli-compress", err))?;

    Ok(Row { raw: data.len() as u64, gzip: gzip.len() as u64, brotli: brotli.len() as u64, name })
}

fn total(rows: &[Row]) -> Row {
    sum("total", rows.iter())
}

/// What a visitor downloads before anything is used: all but the on-demand parts.
fn first_load(rows: &[Row]) -> Row {
    sum("first load", rows.iter().filter(|row| !ON_DEMAND.contains(&row.name.as_str())))
}

fn sum<'a>(name: &str, rows: impl Iterator<Item = &'a Row> + Clone) -> Row {
    Row {
        name: name.to_string(),
        raw: rows.clone().map(|row| row.raw).sum(),
        gzip: rows.clone().map(|row| row.gzip).sum(),
        brotli: rows.map(|row| row.brotli).sum(),
    }
}

fn table(rows: &[Row]) -> String {
    let (total, first) = (total(rows), first_load(rows));
    let width = rows.iter().map(|row| row.name.len()).chain([first.name.len(), "file".len()]).max().unwrap_or(0);
    let line =
        |name: &str, [raw, gzip, brotli]: [String; 3]| format!("{name:<width$}  {raw:>10}  {gzip:>10}  {brotli:>10}\n");
    let numbers = |row: &Row| [row.raw, row.gzip, row.brotli].map(|n| n.to_string());
    let mut out = line("file", ["raw", "gzip", "brotli"].map(String::from));
    for row in rows {
        out.push_str(&line(&row.name, numbers(row)));
    }
    out.push_str(&"-".repeat(width + 36));
    out.push('\n');
    out.push_str(&line(&total.name, numbers(&total)));
    out.push_str(&line(&first.name, numbers(&first)));
    out
}

/// Written by hand: the shape is fixed and tiny, not worth a serde dependency.
fn json(rows: &[Row]) -> String {
    let sizes = |row: &Row| format!("\"raw\": {}, \"gzip\": {}, \"brotli\": {}", row.raw, row.gzip, row.brotli);
    let files: Vec<String> =
        rows.iter().map(|row| format!("    {{ \"name\": {}, {} }}", json_string(&row.name), sizes(row))).collect();
    let files = if files.is_empty() { "[]".to_string() } else { format!("[\n{}\n  ]", files.join(",\n")) };
    format!(
        "{{\n  \"files\": {files},\n  \"total\": {{ {} }},\n  \"first_load\": {{ {} }}\n}}\n",
        sizes(&total(rows)),
        sizes(&first_load(rows))
    )
}

fn json_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_count_for_their_module() {
        for (name, module) in [
            ("leadscore::core::config::parse::read_draft", "leadscore::core::config"),
            ("leadscore::web::parse", "leadscore::web"),
            ("leadscore::web::capture::install::{{closure}}", "leadscore::web::capture"),
            ("<leadscore::core::json::Json as core::fmt::Debug>::fmt", "leadscore::core::json"),
            ("core::fmt::write", "core::fmt"),
            ("alloc::raw_vec::RawVec<T,A>::grow_one", "alloc::raw_vec"),
            ("talc::talc::Talc<O>::malloc", "talc"),
            ("start externref shim", "(glue, shims and unnamed)"),
            ("func[12]", "(glue, shims and unnamed)"),
        ] {
            assert_eq!(module_of(name), module, "{name}");
        }
        let functions = [("core::fmt::write", 10), ("leadscore::web::parse", 30), ("core::fmt::Formatter::pad", 5)]
            .map(|(name, size)| crate::wasm::Function { name: name.into(), size });
        assert_eq!(by_module(&functions), [("leadscore::web".into(), 30, 1), ("core::fmt".into(), 15, 2)]);
    }

    fn row(name: &str, raw: u64, gzip: u64, brotli: u64) -> Row {
        Row { name: name.to_string(), raw, gzip, brotli }
    }

    #[test]
    fn json_lists_files_and_total() {
        let rows = [row("a.js", 10, 5, 4), row("b.wasm", 100, 50, 40)];
        assert_eq!(
            json(&rows),
            r#"{
  "files": [
    { "name": "a.js", "raw": 10, "gzip": 5, "brotli": 4 },
    { "name": "b.wasm", "raw": 100, "gzip": 50, "brotli": 40 }
  ],
  "total": { "raw": 110, "gzip": 55, "brotli": 44 },
  "first_load": { "raw": 110, "gzip": 55, "brotli": 44 }
}
"#
        );
    }

    #[test]
    fn json_escapes_names() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn table_ends_with_total_and_the_first_load() {
        let out = table(&[row("leadscore_wasm.js", 1234, 567, 456), row("leadscore_debug.js", 100, 50, 40)]);
        let lines: Vec<&str> = out.lines().collect();
        let (total, first) = (lines[lines.len() - 2], lines[lines.len() - 1]);
        assert!(total.starts_with("total "), "{out}");
        assert!(total.ends_with("1334         617         496"), "{out}");
        assert!(first.starts_with("first load "), "{out}");
        assert!(first.ends_with("1234         567         456"), "on-demand parts are left out: {out}");
    }

    #[test]
    fn functions_table_aligns_sizes() {
        let functions = [
            crate::wasm::Function { name: "big".to_string(), size: 24841 },
            crate::wasm::Function { name: "small".to_string(), size: 7 },
        ];
        assert_eq!(functions_table(&functions), "   24841  big\n       7  small\n");
    }

    #[test]
    fn compression_shrinks_repetitive_input() {
        let data = b"lead score ".repeat(100);
        let measured = measure("x".to_string(), &data).unwrap();
        assert_eq!(measured.raw, data.len() as u64);
        assert!(measured.gzip < measured.raw && measured.brotli < measured.raw);
    }
}
