//! The size budget: `size-budget.toml` at the repository root caps the gzip
//! size of each file in `dist/` and of the first load's total, and `cargo
//! xtask test` fails when the build grows past a cap. Files under `[gzip]`
//! are the first load; files under `[on_demand]` are loaded only when used
//! (the debug overlay, the privacy panel): each has its own limit, at most
//! 6 KB, and none counts toward `total`; files under `[full_config]` (the
//! config compiler, loaded only for a config beyond a preset and its
//! options) have their own limits too, without the 6 KB cap, outside
//! `total`. Hand-parsed: the file is a flat list of `name = bytes` lines
//! under the three tables, not worth a TOML dependency.

use std::fs;

use crate::layout::dist_dir;
use crate::measure::{measure_dir, Row};
use crate::sh::{root, Result};

pub const BUDGET_FILE: &str = "size-budget.toml";

/// The key that caps the sum of the first load's files rather than one of them.
const TOTAL: &str = "total";

/// The most an on-demand part may take.
pub const ON_DEMAND_MAX: u64 = 6 * 1024;

/// Gzip limits in bytes, per file name (relative to `dist/`) and for the
/// first load in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    files: Vec<(String, u64)>,
    /// Files loaded only when used: not in `total`.
    on_demand: Vec<(String, u64)>,
    total: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    None,
    Gzip,
    OnDemand,
    /// The config compiler: loaded only for a config beyond a preset and
    /// its options, larger than a view, and outside `total` too.
    FullConfig,
}

/// `cargo xtask test`'s step after the build: measures `dist/` and checks it
/// against the budget file.
pub fn check_dist() -> Result {
    let path = root().join(BUDGET_FILE);
    let text = fs::read_to_string(&path).map_err(|err| format!("could not read {}: {err}", path.display()))?;
    let budget = parse(&text)?;
    let rows = measure_dir(&dist_dir())?;
    let report = check(&budget, &rows)?;
    print!("{report}");
    Ok(())
}

/// Reads the budget; errors name the line and what was expected there.
pub fn parse(text: &str) -> Result<Budget> {
    let mut table = Table::None;
    let mut files: Vec<(String, u64)> = Vec::new();
    let mut on_demand: Vec<(String, u64)> = Vec::new();
    let mut total = None;
    for (index, line) in text.lines().enumerate() {
        let at = format!("{BUDGET_FILE}:{}", index + 1);
        let line = line.split_once('#').map_or(line, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            table = match name.trim() {
                "gzip" => Table::Gzip,
                "on_demand" => Table::OnDemand,
                "full_config" => Table::FullConfig,
                _ => {
                    return Err(format!(
                        "{at}: unknown table `[{name}]`; the limits go under `[gzip]`, `[on_demand]` or `[full_config]`"
                    ))
                }
            };
            continue;
        }
        if table == Table::None {
            return Err(format!("{at}: `{line}` comes before `[gzip]`; put the limits under it"));
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("{at}: expected `\"file\" = bytes`, found `{line}`"));
        };
        let key = key.trim();
        let name = key.strip_prefix('"').and_then(|key| key.strip_suffix('"')).unwrap_or(key);
        if name.is_empty() {
            return Err(format!("{at}: the file name is empty"));
        }
        let value = value.trim().replace('_', "");
        let bytes: u64 =
            value.parse().ok().filter(|bytes| *bytes > 0).ok_or_else(|| {
                format!("{at}: the limit for `{name}` must be a positive number of bytes, not `{value}`")
            })?;
        if files.iter().chain(&on_demand).any(|(known, _)| known == name) {
            return Err(format!("{at}: `{name}` is given twice"));
        }
        match table {
            Table::Gzip if name == TOTAL => {
                if total.replace(bytes).is_some() {
                    return Err(format!("{at}: `{TOTAL}` is given twice"));
                }
            }
            Table::OnDemand if name == TOTAL => {
                return Err(format!("{at}: on-demand parts have no `{TOTAL}`; each has its own limit"));
            }
            Table::OnDemand if bytes > ON_DEMAND_MAX => {
                return Err(format!("{at}: an on-demand part may take at most {ON_DEMAND_MAX} bytes, not {bytes}"));
            }
            Table::FullConfig if name == TOTAL => {
                return Err(format!("{at}: the config compiler's files have no `{TOTAL}`; each has its own limit"));
            }
            Table::OnDemand | Table::FullConfig => on_demand.push((name.to_string(), bytes)),
            _ => files.push((name.to_string(), bytes)),
        }
    }
    let total = total.ok_or_else(|| format!("{BUDGET_FILE}: no `{TOTAL} = bytes` under `[gzip]`"))?;
    Ok(Budget { files, on_demand, total })
}

/// Every file must have a limit (a new file is a decision, not an accident)
/// and stay within it, and every limit must name a file that exists (a
/// stale limit hides nothing but misleads). All breaches are reported at
/// once; on success the report shows how much room each file has left.
pub fn check(budget: &Budget, rows: &[Row]) -> Result<String> {
    let mut breaches = Vec::new();
    let mut measured = Vec::new();
    let mut first_load = 0;
    for row in rows {
        let first = budget.files.iter().find(|(name, _)| *name == row.name);
        let later = budget.on_demand.iter().find(|(name, _)| *name == row.name);
        match (first, later) {
            (Some((_, limit)), _) => {
                first_load += row.gzip;
                measured.push((row.name.as_str(), row.gzip, *limit));
            }
            (None, Some((_, limit))) => measured.push((row.name.as_str(), row.gzip, *limit)),
            (None, None) => breaches.push(format!(
                "dist/{} has no limit; add `\"{}\" = bytes` under `[gzip]` (first load) or `[on_demand]`",
                row.name, row.name
            )),
        }
    }
    measured.push((TOTAL, first_load, budget.total));
    let mut report = String::new();
    for (name, gzip, limit) in measured {
        report.push_str(&format!("{name}: {gzip} bytes gzip, limit {limit} ({} left)\n", limit as i64 - gzip as i64));
        if gzip > limit {
            breaches.push(format!("{name} is {gzip} bytes gzip, over its limit of {limit} by {}", gzip - limit));
        }
    }
    for (name, _) in budget.files.iter().chain(&budget.on_demand) {
        if !rows.iter().any(|row| row.name == *name) {
            breaches.push(format!("`{name}` has a limit but dist/ has no such file; remove the line"));
        }
    }
    if breaches.is_empty() {
        Ok(report)
    } else {
        Err(format!(
            "the widget is over its size budget ({BUDGET_FILE}):\n  {}\n  shrink it, or raise the limit in the same change and say why",
            breaches.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, gzip: u64) -> Row {
        Row { name: name.to_string(), raw: gzip * 3, gzip, brotli: gzip - 1 }
    }

    const BUDGET: &str = "# comment\n[gzip]\n\"a.js\" = 1_000  # the loader\nb.wasm = 5000\ntotal = 5800\n";

    #[test]
    fn parses_files_and_total() {
        let budget = parse(BUDGET).unwrap();
        assert_eq!(budget.files, [("a.js".to_string(), 1000), ("b.wasm".to_string(), 5000)]);
        assert_eq!(budget.total, 5800);
    }

    #[test]
    fn on_demand_parts_have_their_own_limits_outside_the_total() {
        let budget = parse(&format!("{BUDGET}[on_demand]\npanel.js = 2000\n")).unwrap();
        assert_eq!(budget.on_demand, [("panel.js".to_string(), 2000)]);
        let rows = [row("a.js", 900), row("b.wasm", 4000), row("panel.js", 1500)];
        let report = check(&budget, &rows).unwrap();
        assert!(report.contains("panel.js: 1500 bytes gzip, limit 2000 (500 left)"), "{report}");
        assert!(report.contains("total: 4900 bytes gzip"), "on-demand parts are not in the first load: {report}");
        let err = check(&budget, &[row("a.js", 900), row("b.wasm", 4000), row("panel.js", 2001)]).unwrap_err();
        assert!(err.contains("panel.js is 2001 bytes gzip, over its limit of 2000 by 1"), "{err}");
        let err = parse(&format!("{BUDGET}[on_demand]\npanel.js = 7000\n")).unwrap_err();
        assert!(err.contains("size-budget.toml:7: an on-demand part may take at most 6144 bytes, not 7000"), "{err}");
        let err = parse(&format!("{BUDGET}[on_demand]\na.js = 100\n")).unwrap_err();
        assert!(err.contains("`a.js` is given twice"), "{err}");
    }

    #[test]
    fn the_config_compiler_has_limits_beyond_a_view_and_outside_the_total() {
        let budget = parse(&format!("{BUDGET}[full_config]\ncompiler.wasm = 50000\n")).unwrap();
        let report = check(&budget, &[row("a.js", 900), row("b.wasm", 4000), row("compiler.wasm", 41000)]).unwrap();
        assert!(report.contains("total: 4900 bytes gzip"), "{report}");
        let err = check(&budget, &[row("a.js", 900), row("b.wasm", 4000), row("compiler.wasm", 50001)]).unwrap_err();
        assert!(err.contains("compiler.wasm is 50001 bytes gzip, over its limit of 50000 by 1"), "{err}");
        let err = parse(&format!("{BUDGET}[full_config]\ntotal = 9\n")).unwrap_err();
        assert!(err.contains("no `total`"), "{err}");
    }

    #[test]
    fn within_budget_reports_room_left() {
        let report = check(&parse(BUDGET).unwrap(), &[row("a.js", 900), row("b.wasm", 4000)]).unwrap();
        assert!(report.contains("a.js: 900 bytes gzip, limit 1000 (100 left)"), "{report}");
        assert!(report.contains("total: 4900 bytes gzip, limit 5800 (900 left)"), "{report}");
    }

    #[test]
    fn a_grown_file_fails_with_its_name_size_and_limit() {
        let err = check(&parse(BUDGET).unwrap(), &[row("a.js", 1001), row("b.wasm", 4000)]).unwrap_err();
        assert!(err.contains("a.js is 1001 bytes gzip, over its limit of 1000 by 1"), "{err}");
        assert!(!err.contains("b.wasm"), "{err}");
    }

    #[test]
    fn a_grown_total_fails_even_when_each_file_fits() {
        let err = check(&parse(BUDGET).unwrap(), &[row("a.js", 1000), row("b.wasm", 5000)]).unwrap_err();
        assert!(err.contains("total is 6000 bytes gzip, over its limit of 5800 by 200"), "{err}");
    }

    #[test]
    fn new_and_missing_files_fail() {
        let err = check(&parse(BUDGET).unwrap(), &[row("a.js", 10), row("c.js", 10)]).unwrap_err();
        assert!(err.contains("dist/c.js has no limit"), "{err}");
        assert!(err.contains("`b.wasm` has a limit but dist/ has no such file"), "{err}");
    }

    #[test]
    fn bad_budget_files_name_the_line() {
        for (text, expected) in [
            ("a.js = 1\ntotal = 2", "size-budget.toml:1: `a.js = 1` comes before `[gzip]`"),
            ("[brotli]\n", "size-budget.toml:1: unknown table `[brotli]`"),
            ("[gzip]\na.js 1\n", "size-budget.toml:2: expected `\"file\" = bytes`"),
            (
                "[gzip]\na.js = 1 KB\n",
                "size-budget.toml:2: the limit for `a.js` must be a positive number of bytes, not `1 KB`",
            ),
            ("[gzip]\na.js = 0\n", "must be a positive number"),
            ("[gzip]\na.js = 1\na.js = 2\n", "size-budget.toml:3: `a.js` is given twice"),
            ("[gzip]\na.js = 1\n", "no `total = bytes`"),
            ("[gzip]\n\"\" = 1\n", "the file name is empty"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_repository_budget_parses_and_holds_the_loader_goal() {
        let text = fs::read_to_string(root().join(BUDGET_FILE)).unwrap();
        let budget = parse(&text).unwrap();
        let loader = budget.files.iter().find(|(name, _)| name == "leadscore.js").map(|(_, limit)| *limit);
        // 1 KB, raised to at most 1.5 KB for the loader's early-event
        // guarantees (BENCHMARKS.md accounts for each byte over 1 KB).
        assert!(loader.is_some_and(|limit| limit <= 1536), "the loader's limit is 1.5 KB at most: {loader:?}");
    }
}
