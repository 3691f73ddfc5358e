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
        match section.byte()? {
            0 => {
                section.u32()?;
                functions += 1;
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
    }
    Ok(functions)
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

    fn name(text: &str) -> Vec<u8> {
        let mut out = leb(text.len() as u32);
        out.extend_from_slice(text.as_bytes());
        out
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
}
