//! The visitor's record in `localStorage`: one namespaced key holding the
//! session's text. Storage that is missing or throws (`SecurityError`,
//! `QuotaExceededError`) falls back to memory with one console warning; the
//! host page's keys are never read or touched, and nothing is opened before
//! the session first asks to read or write.

use super::dom::{warn, window};
use crate::prelude::*;

/// Where the record lives.
pub(crate) enum Record {
    /// Not opened yet: nothing may be written before consent.
    Closed,
    /// The page's `localStorage`.
    Local(web_sys::Storage),
    /// In memory for this page only, after storage failed.
    Memory(Option<String>),
}

impl Record {
    fn open(&mut self) {
        if matches!(self, Record::Closed) {
            *self = match window().map(|window| window.local_storage()) {
                Some(Ok(Some(storage))) => Record::Local(storage),
                Some(Err(_)) => Record::fallback("localStorage is blocked (SecurityError)"),
                _ => Record::fallback("localStorage is not available"),
            };
        }
    }

    fn fallback(reason: &str) -> Record {
        warn(&cat!(reason, "; keeping the score in memory for this page only"));
        Record::Memory(None)
    }

    /// The kind of store, for `explain()`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Record::Local(_) => "local",
            Record::Memory(_) | Record::Closed => "memory",
        }
    }

    pub(crate) fn read(&mut self, key: &str) -> Option<String> {
        self.open();
        match self {
            Record::Closed => None,
            Record::Memory(value) => value.clone(),
            Record::Local(storage) => match storage.get_item(key) {
                Ok(value) => value,
                Err(_) => {
                    *self = Record::fallback("localStorage cannot be read");
                    None
                }
            },
        }
    }

    pub(crate) fn write(&mut self, key: &str, value: String) {
        self.open();
        match self {
            Record::Closed => {}
            Record::Memory(slot) => *slot = Some(value),
            Record::Local(storage) => {
                if storage.set_item(key, &value).is_err() {
                    let _ = Record::fallback("localStorage is full or refused the write (QuotaExceededError)");
                    *self = Record::Memory(Some(value));
                }
            }
        }
    }

    /// Deletes our key (and only it); nothing to do if never opened.
    pub(crate) fn remove(&mut self, key: &str) {
        match self {
            Record::Closed => {}
            Record::Memory(slot) => *slot = None,
            Record::Local(storage) => {
                let _ = storage.remove_item(key);
            }
        }
    }
}
