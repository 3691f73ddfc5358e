//! The stored record's text form: base64 (no padding) of the engine's
//! bytes, since storage holds text and `btoa` belongs to the page.

use crate::core::codec::{from_base64, to_base64};
use crate::core::State;
use crate::prelude::*;

/// The text stored for `bytes`.
pub fn encode_record(bytes: &[u8]) -> String {
    to_base64(bytes, false)
}

/// The state in a stored text, or why it cannot be used.
pub fn decode_record(text: &str) -> Result<State, String> {
    let bytes = from_base64(text).ok_or_else(|| "stored state ignored: not a leadscore value".to_string())?;
    State::decode(&bytes).map_err(|error| error.text())
}
