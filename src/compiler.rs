//! The config compiler: the JSON reader and the schema walker in a module of
//! their own, which the widget imports (through `www/leadscore_config.js`)
//! only when a page gives a config beyond a preset and its options, so they
//! stay out of every visitor's first load. It takes the document's text and
//! answers with the checked config as [`Config::to_bytes`] writes it, or the
//! one-line message the widget logs; nothing else crosses, so it needs no
//! imports and no generated glue.

use crate::core::config::Config;
use crate::prelude::*;

/// Room for `len` bytes, where the caller writes the document before
/// [`leadscore_compile`] reads it.
#[no_mangle]
pub extern "C" fn leadscore_alloc(len: usize) -> *mut u8 {
    let mut room = Vec::<u8>::with_capacity(len);
    let at = room.as_mut_ptr();
    ::core::mem::forget(room);
    at
}

/// Reads and checks the `len` bytes at `at` (from [`leadscore_alloc`]: the
/// tag's attributes and the config text, as [`Config::widget_input`] writes
/// them) and
/// returns where the answer is: one byte, `1` for a compiled config and `0`
/// for a message, then its length as four bytes little-endian, then it.
///
/// # Safety
///
/// `at` must be what [`leadscore_alloc`] returned for this `len`, with `len`
/// bytes written; it is taken over and freed here.
#[no_mangle]
pub unsafe extern "C" fn leadscore_compile(at: *mut u8, len: usize) -> *const u8 {
    // SAFETY: the caller passes leadscore_alloc's room of `len`, filled.
    let input = unsafe { Vec::from_raw_parts(at, len, len) };
    let answer = match ::core::str::from_utf8(&input) {
        Ok(input) => Config::parse_widget_input(input).map(|config| config.to_bytes()),
        Err(_) => Err("config: not UTF-8 text".to_string()),
    };
    let (tag, body) = match answer {
        Ok(bytes) => (1, bytes),
        Err(message) => (0, message.into_bytes()),
    };
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(tag);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    let answer = out.as_ptr();
    ::core::mem::forget(out);
    answer
}
