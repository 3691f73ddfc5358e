//! The largest functions of a wasm module by code size, for `cargo xtask
//! size`. twiggy cannot read what wasm-opt writes here, so this reads the
//! few sections it needs itself: imports (function indices start after the
//! imported ones), the code section (each body's size) and the `name`
//! custom section (what each function is called).

use std::collections::HashMap;

use crate::sh::Result;

/// One defined function: its size in bytes, the body's length prefix
/// included, and its name from the `name` section (or `func[index]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub size: u64,
}

/// Every function defined in `module`, largest first (ties by name, so the
/// order is stable between runs).
pub fn functions(module: &[u8]) -> Result<Vec<Function>> {
    let mut reader = Reader { bytes: module, at: 0 };
    if reader.take(8)? != b"\0asm\x01\0\0\0" {
        return Err("not a wasm module (no `\\0asm` version 1 header)".to_string());
    }
    let mut imported = 0u32;
    let mut sizes = Vec::new();
    let mut names = HashMap::new();
    while !reader.done() {
        let id = reader.byte()?;
        let len = reader.u32()? as usize;
        let start = reader.at;
        let mut section = Reader { bytes: reader.take(len)?, at: 0 };
        let failed = |err: String| format!("section {id} at byte {start}: {err}");
        match id {
            2 => imported = imported_functions(&mut section).map_err(failed)?,
            10 => sizes = body_sizes(&mut section).map_err(failed)?,
            0 if section.name().map_err(failed)? == "name" => names = function_names(&mut section).map_err(failed)?,
            _ => {}
        }
    }
    let mut functions: Vec<Function> = sizes
        .into_iter()
        .enumerate()
        .map(|(i, size)| {
            let index = imported + i as u32;
            let name = names.remove(&index).unwrap_or_else(|| format!("func[{index}]"));
            Function { name: readable(&name), size }
        })
        .collect();
    functions.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    Ok(functions)
}

/// Drops what changes with every build and says nothing to a reader: the
/// symbol hash (`start::h0123456789abcdef` → `start`) and crate
/// disambiguators (`core[c5930c85a12de822]::fmt` → `core::fmt`).
fn readable(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = without_hash(name);
    while let Some(open) = rest.find('[') {
        let id = rest[open + 1..].split_once(']').map(|(id, _)| id);
        out.push_str(&rest[..open]);
        match id {
            Some(id) if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) => rest = &rest[open + 18..],
            _ => {
                out.push('[');
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn without_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => path,
        _ => name,
    }
}

/// Counts imported functions; the other import kinds are skipped.
fn imported_functions(section: &mut Reader) -> Result<u32> {
    let mut functions = 0;
    for _ in 0..section.u32()? {
        section.name()?;
        section.name()?;
        let kind = section.byte()?;
        skip_import_type(section, kind)?;
        if kind == 0 {
            functions += 1;
        }
    }
    Ok(functions)
}

/// Reads past what follows an import's kind byte.
fn skip_import_type(section: &mut Reader, kind: u8) -> Result {
    match kind {
        0 => {
            section.u32()?;
        }
        1 => {
            section.byte()?;
            section.limits()?;
        }
        2 => section.limits()?,
        3 => {
            section.take(2)?;
        }
        4 => {
            section.byte()?;
            section.u32()?;
        }
        kind => return Err(format!("unknown import kind {kind}")),
    }
    Ok(())
}

fn body_sizes(section: &mut Reader) -> Result<Vec<u64>> {
    let count = section.u32()?;
    let mut sizes = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        let start = section.at;
        let len = section.u32()? as usize;
        section.take(len)?;
        sizes.push((section.at - start) as u64);
    }
    Ok(sizes)
}

/// The function-names subsection (id 1) of the `name` section.
fn function_names(section: &mut Reader) -> Result<HashMap<u32, String>> {
    let mut names = HashMap::new();
    while !section.done() {
        let id = section.byte()?;
        let len = section.u32()? as usize;
        let mut sub = Reader { bytes: section.take(len)?, at: 0 };
        if id != 1 {
            continue;
        }
        for _ in 0..sub.u32()? {
            let index = sub.u32()?;
            names.insert(index, sub.name()?);
        }
    }
    Ok(names)
}

/// `(long, short)` names, in import order.
pub type Renamed = Vec<(String, String)>;

/// The module with every function imported from `from` renamed to one or
/// two letters, imported from `to`, and what each name became, in import
/// order. wasm-bindgen names each import after its Rust path plus a 16-digit
/// hash, and the module carries every name once and the glue once more:
/// about 4 KB gzip of names nothing else reads (BENCHMARKS.md).
pub fn shorten_imports(module: &[u8], from: &str, to: &str) -> Result<(Vec<u8>, Renamed)> {
    let mut renamed = Vec::new();
    let module = rewrite_section(module, 2, |section| rename_imports(section, from, to, &mut renamed))?;
    Ok((module, renamed))
}

/// The module with every export but those in `keep` renamed to one or two
/// letters, and what each name became, in export order: the glue calls the
/// module by these names (`malloc`, `widget_track`, a closure's
/// `…invoke__h0123456789abcdef`), which, like the imports, nothing else reads.
pub fn shorten_exports(module: &[u8], keep: &[&str]) -> Result<(Vec<u8>, Renamed)> {
    let mut renamed = Vec::new();
    let module = rewrite_section(module, 7, |section| rename_exports(section, keep, &mut renamed))?;
    Ok((module, renamed))
}

/// The module with the body of every section `id` replaced by what
/// `rewrite` makes of it; every other byte is kept.
fn rewrite_section(module: &[u8], id: u8, mut rewrite: impl FnMut(&mut Reader) -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    let mut reader = Reader { bytes: module, at: 0 };
    let header = reader.take(8)?;
    if header != b"\0asm\x01\0\0\0" {
        return Err("not a wasm module (no `\\0asm` version 1 header)".to_string());
    }
    let mut out = header.to_vec();
    while !reader.done() {
        let section = reader.byte()?;
        let len = reader.u32()? as usize;
        let start = reader.at;
        let body = reader.take(len)?;
        let body = if section == id {
            rewrite(&mut Reader { bytes: body, at: 0 }).map_err(|err| format!("section {id} at byte {start}: {err}"))?
        } else {
            body.to_vec()
        };
        out.push(section);
        out.extend(leb(body.len() as u32));
        out.extend(body);
    }
    Ok(out)
}

fn rename_exports(section: &mut Reader, keep: &[&str], renamed: &mut Renamed) -> Result<Vec<u8>> {
    let count = section.u32()?;
    let mut out = leb(count);
    let mut next = 0;
    for _ in 0..count {
        let field = section.name()?;
        let kind_at = section.at;
        section.byte()?;
        section.u32()?;
        let field = if keep.contains(&field.as_str()) {
            field
        } else {
            // Never one of the kept names.
            let short = loop {
                let short = short_name(next);
                next += 1;
                if !keep.contains(&short.as_str()) {
                    break short;
                }
            };
            renamed.push((field, short.clone()));
            short
        };
        out.extend(name_bytes(&field));
        out.extend_from_slice(&section.bytes[kind_at..section.at]);
    }
    if !section.done() {
        return Err("bytes after the last export".to_string());
    }
    Ok(out)
}

fn rename_imports(section: &mut Reader, from: &str, to: &str, renamed: &mut Renamed) -> Result<Vec<u8>> {
    let count = section.u32()?;
    let mut out = leb(count);
    for _ in 0..count {
        let module = section.name()?;
        let field = section.name()?;
        let kind_at = section.at;
        let kind = section.byte()?;
        skip_import_type(section, kind)?;
        if module == from && kind != 0 {
            return Err(format!("import {module}.{field} is not a function (kind {kind})"));
        }
        let (module, field) = if module == from {
            let short = short_name(renamed.len());
            renamed.push((field, short.clone()));
            (to.to_string(), short)
        } else {
            (module, field)
        };
        out.extend(name_bytes(&module));
        out.extend(name_bytes(&field));
        out.extend_from_slice(&section.bytes[kind_at..section.at]);
    }
    if !section.done() {
        return Err("bytes after the last import".to_string());
    }
    Ok(out)
}

/// The lowest address any active data segment of `module` starts at
/// (`None` without one). wasm-opt's `--low-memory-unused` is sound only when
/// nothing lives in the first 1,024 bytes; the build checks this before
/// relying on it. Offsets other than an `i32.const` are an error, since
/// then the address is not known until instantiation.
pub fn lowest_data_offset(module: &[u8]) -> Result<Option<u32>> {
    let mut reader = Reader { bytes: module, at: 0 };
    if reader.take(8)? != b"\0asm\x01\0\0\0" {
        return Err("not a wasm module (no `\\0asm` version 1 header)".to_string());
    }
    let mut lowest = None;
    while !reader.done() {
        let id = reader.byte()?;
        let len = reader.u32()? as usize;
        let start = reader.at;
        let mut section = Reader { bytes: reader.take(len)?, at: 0 };
        if id != 11 {
            continue;
        }
        let failed = |err: String| format!("data section at byte {start}: {err}");
        let count = section.u32().map_err(failed)?;
        for index in 0..count {
            let flags = section.u32().map_err(failed)?;
            let offset = match flags {
                0 => Some(section.const_offset().map_err(failed)?),
                1 => None,
                2 => {
                    section.u32().map_err(failed)?;
                    Some(section.const_offset().map_err(failed)?)
                }
                other => return Err(failed(format!("segment {index} has unknown flags {other}"))),
            };
            let len = section.u32().map_err(failed)? as usize;
            section.take(len).map_err(failed)?;
            if let Some(offset) = offset {
                lowest = Some(lowest.map_or(offset, |low: u32| low.min(offset)));
            }
        }
    }
    Ok(lowest)
}

/// `a`…`z`, `A`…`Z`, then `aa`, `ab`…: valid JS property names, unquoted.
fn short_name(index: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let base = LETTERS.len();
    let mut name = Vec::new();
    let mut rest = index;
    loop {
        name.push(LETTERS[rest % base]);
        if rest < base {
            break;
        }
        rest = rest / base - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

fn leb(mut value: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn name_bytes(text: &str) -> Vec<u8> {
    let mut out = leb(text.len() as u32);
    out.extend_from_slice(text.as_bytes());
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(len).filter(|end| *end <= self.bytes.len()).ok_or_else(|| {
            format!("truncated: {len} bytes wanted at offset {}, {} left", self.at, self.bytes.len() - self.at)
        })?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Unsigned LEB128, at most five bytes.
    fn u32(&mut self) -> Result<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= u32::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("LEB128 number longer than 5 bytes before offset {}", self.at))
    }

    /// An active segment's offset expression: `i32.const N` then `end`,
    /// with N a signed LEB128 read as the unsigned address it stands for.
    fn const_offset(&mut self) -> Result<u32> {
        if self.byte()? != 0x41 {
            return Err(format!("a data offset before byte {} is not an i32.const", self.at));
        }
        let mut value = 0i64;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1 << shift;
                }
                break;
            }
            if shift >= 35 {
                return Err(format!("LEB128 number longer than 5 bytes before offset {}", self.at));
            }
        }
        if self.byte()? != 0x0b {
            return Err(format!("a data offset before byte {} does not end after its i32.const", self.at));
        }
        Ok(value as u32)
    }

    fn name(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("name before offset {} is not UTF-8", self.at))
    }

    fn limits(&mut self) -> Result {
        let flags = self.byte()?;
        self.u32()?;
        if flags & 1 != 0 {
            self.u32()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Vec<u8> {
        name_bytes(text)
    }

    fn section(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![id];
        out.extend(leb(payload.len() as u32));
        out.extend_from_slice(payload);
        out
    }

    /// A module with one imported function, a memory import, three bodies
    /// of 3, 200 and 5 bytes, and names for two of them.
    fn module() -> Vec<u8> {
        let mut imports = leb(2);
        imports.extend(name("env"));
        imports.extend(name("f"));
        imports.extend([0, 0]);
        imports.extend(name("env"));
        imports.extend(name("memory"));
        imports.extend([2, 1, 1, 2]);
        let mut code = leb(3);
        for len in [3u32, 200, 5] {
            code.extend(leb(len));
            code.extend(vec![0x0b; len as usize]);
        }
        let mut function_names = leb(2);
        function_names.extend(leb(1));
        function_names.extend(name("small::h0123456789abcdef"));
        function_names.extend(leb(2));
        function_names.extend(name("big"));
        let mut names = name("name");
        names.extend(section(0, &name("module")));
        names.extend(section(1, &function_names));
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        out.extend(section(2, &imports));
        out.extend(section(10, &code));
        out.extend(section(0, &names));
        out
    }

    /// A module whose data section holds the given segments: an active
    /// one at each `Some` offset (written as `i32.const`), a passive one
    /// for each `None`.
    fn with_data(segments: &[Option<i32>]) -> Vec<u8> {
        let mut data = leb(segments.len() as u32);
        for segment in segments {
            match segment {
                Some(offset) => {
                    data.push(0);
                    data.push(0x41);
                    let mut rest = i64::from(*offset);
                    loop {
                        let byte = (rest & 0x7f) as u8;
                        rest >>= 7;
                        let done = (rest == 0 && byte & 0x40 == 0) || (rest == -1 && byte & 0x40 != 0);
                        data.push(if done { byte } else { byte | 0x80 });
                        if done {
                            break;
                        }
                    }
                    data.push(0x0b);
                }
                None => data.push(1),
            }
            data.extend(leb(2));
            data.extend([7, 7]);
        }
        let mut out = module();
        out.extend(section(11, &data));
        out
    }

    #[test]
    fn finds_the_lowest_active_data_offset() {
        assert_eq!(lowest_data_offset(&with_data(&[Some(83_192), None, Some(65_536)])).unwrap(), Some(65_536));
        assert_eq!(lowest_data_offset(&with_data(&[Some(8)])).unwrap(), Some(8));
        assert_eq!(lowest_data_offset(&with_data(&[None])).unwrap(), None);
        assert_eq!(lowest_data_offset(&module()).unwrap(), None);
    }

    #[test]
    fn a_data_offset_that_is_not_a_constant_is_an_error() {
        let mut module = with_data(&[Some(64)]);
        // The opcode right after the segment's flags: global.get instead of i32.const.
        let at = module.len() - 7;
        assert_eq!(module[at], 0x41);
        module[at] = 0x23;
        let err = lowest_data_offset(&module).unwrap_err();
        assert!(err.contains("not an i32.const"), "{err}");
    }

    #[test]
    fn lists_bodies_largest_first_with_names() {
        let found = functions(&module()).unwrap();
        let found: Vec<_> = found.iter().map(|f| (f.name.as_str(), f.size)).collect();
        // 200 bytes need a two-byte length prefix, the others one.
        assert_eq!(found, [("big", 202), ("func[3]", 6), ("small", 4)]);
    }

    #[test]
    fn rejects_what_is_not_wasm() {
        let err = functions(b"<html>..").unwrap_err();
        assert!(err.contains("not a wasm module"), "{err}");
    }

    #[test]
    fn truncated_sections_are_errors_not_panics() {
        let module = module();
        for len in 9..module.len() {
            // Every prefix either parses (a cut between sections) or fails cleanly.
            let _ = functions(&module[..len]);
        }
        let err = functions(&module[..module.len() - 3]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn crate_disambiguators_are_dropped() {
        assert_eq!(readable("<f64 as core[c5930c85a12de822]::fmt::Display>::fmt"), "<f64 as core::fmt::Display>::fmt");
        assert_eq!(readable("func[12]"), "func[12]");
        assert_eq!(readable("a[0123456789abcdef]::b::h0123456789abcdef"), "a::b");
    }

    #[test]
    fn hashes_are_dropped_only_when_they_look_like_hashes() {
        assert_eq!(without_hash("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(without_hash("a::hello"), "a::hello");
        assert_eq!(without_hash("<T as a::h>::f"), "<T as a::h>::f");
    }

    #[test]
    fn short_names_count_up_through_both_cases_then_two_letters() {
        let names: Vec<String> = [0, 25, 26, 51, 52, 53, 103, 104].iter().map(|i| short_name(*i)).collect();
        assert_eq!(names, ["a", "z", "A", "Z", "aa", "ab", "aZ", "ba"]);
        let all: std::collections::HashSet<String> = (0..3000).map(short_name).collect();
        assert_eq!(all.len(), 3000, "every index has its own name");
    }

    /// Imports of two modules: only the named one's functions are renamed,
    /// and everything after the import section is kept byte for byte.
    #[test]
    fn shortens_the_named_modules_imports_only() {
        let mut imports = leb(3);
        for (module, field) in
            [("./glue.js", "__wbg_log_0123456789abcdef"), ("env", "f"), ("./glue.js", "__wbg_now_fedcba9876543210")]
        {
            imports.extend(name(module));
            imports.extend(name(field));
            imports.extend([0, 0]);
        }
        let mut code = leb(1);
        code.extend([2, 0, 0x0b]);
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend(section(2, &imports));
        module.extend(section(10, &code));

        let (short, renamed) = shorten_imports(&module, "./glue.js", "a").unwrap();
        assert_eq!(
            renamed,
            [
                ("__wbg_log_0123456789abcdef".to_string(), "a".to_string()),
                ("__wbg_now_fedcba9876543210".to_string(), "b".to_string())
            ]
        );
        let mut expected = leb(3);
        for (module, field) in [("a", "a"), ("env", "f"), ("a", "b")] {
            expected.extend(name(module));
            expected.extend(name(field));
            expected.extend([0, 0]);
        }
        let mut want = b"\0asm\x01\0\0\0".to_vec();
        want.extend(section(2, &expected));
        want.extend(section(10, &code));
        assert_eq!(short, want);
        assert_eq!(functions(&short).unwrap().len(), 1);
    }

    #[test]
    fn an_import_that_is_not_a_function_is_an_error() {
        let err = shorten_imports(&module(), "env", "a").unwrap_err();
        assert!(err.contains("env.memory is not a function"), "{err}");
    }

    #[test]
    fn shortens_every_export_but_the_kept_ones() {
        let mut exports = leb(3);
        for (field, kind) in [("memory", 2u8), ("widget_track", 0), ("__wbindgen_malloc", 0)] {
            exports.extend(name(field));
            exports.extend([kind, 0]);
        }
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend(section(7, &exports));
        let (short, renamed) = shorten_exports(&module, &["memory"]).unwrap();
        assert_eq!(
            renamed,
            [("widget_track".to_string(), "a".to_string()), ("__wbindgen_malloc".to_string(), "b".to_string())]
        );
        let mut expected = leb(3);
        for (field, kind) in [("memory", 2u8), ("a", 0), ("b", 0)] {
            expected.extend(name(field));
            expected.extend([kind, 0]);
        }
        let mut want = b"\0asm\x01\0\0\0".to_vec();
        want.extend(section(7, &expected));
        assert_eq!(short, want);
        // A kept name is never handed out as a short one.
        let (_, renamed) = shorten_exports(&module, &["memory", "a"]).unwrap();
        assert_eq!(renamed[0].1, "b");
    }
}
