//! The visitor's record in `localStorage`: one namespaced key, base64 of the
//! engine's bytes. Storage that is missing or throws (`SecurityError`,
//! `QuotaExceededError`) falls back to memory with one console warning; the
//! host page's keys are never read or touched.

use super::dom::{warn, window};

/// Where the record lives.
pub(crate) enum Store {
    /// Not opened yet: nothing may be written before consent.
    Closed,
    /// The page's `localStorage`.
    Local(web_sys::Storage),
    /// In memory for this page only, after storage failed.
    Memory(Option<String>),
}

impl Store {
    /// Opens `localStorage`, or memory with a warning when it is unusable.
    pub(crate) fn open() -> Store {
        match window().map(|window| window.local_storage()) {
            Some(Ok(Some(storage))) => Store::Local(storage),
            Some(Err(_)) => Store::fallback("localStorage is blocked (SecurityError)"),
            _ => Store::fallback("localStorage is not available"),
        }
    }

    fn fallback(reason: &str) -> Store {
        warn(&format!("{reason}; keeping the score in memory for this page only"));
        Store::Memory(None)
    }

    /// The kind of store, for `explain()`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Store::Local(_) => "local",
            Store::Memory(_) | Store::Closed => "memory",
        }
    }

    pub(crate) fn read(&mut self, key: &str) -> Option<String> {
        match self {
            Store::Closed => None,
            Store::Memory(value) => value.clone(),
            Store::Local(storage) => match storage.get_item(key) {
                Ok(value) => value,
                Err(_) => {
                    *self = Store::fallback("localStorage cannot be read");
                    None
                }
            },
        }
    }

    pub(crate) fn write(&mut self, key: &str, value: String) {
        match self {
            Store::Closed => {}
            Store::Memory(slot) => *slot = Some(value),
            Store::Local(storage) => {
                if storage.set_item(key, &value).is_err() {
                    *self = Store::fallback("localStorage is full or refused the write (QuotaExceededError)");
                    *self = Store::Memory(Some(value));
                }
            }
        }
    }

    /// Deletes our key (and only it).
    pub(crate) fn remove(&mut self, key: &str) {
        match self {
            Store::Closed => {}
            Store::Memory(slot) => *slot = None,
            Store::Local(storage) => {
                let _ = storage.remove_item(key);
            }
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 without padding; storage holds text, and `btoa` belongs to the page.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let bits =
            chunk.iter().enumerate().fold(0u32, |bits, (index, byte)| bits | u32::from(*byte) << (16 - 8 * index));
        for index in 0..=chunk.len() {
            out.push(ALPHABET[(bits >> (18 - 6 * index) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes [`base64_encode`]'s output; `None` for anything else.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|&c| c == byte)? as u32;
        bits = bits << 6 | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}
