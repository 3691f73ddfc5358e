//! Text forms the collector writes: hex digests and tokens, UTC times.

use crate::store::Millis;

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `2026-01-02T03:04:05Z` for milliseconds since the epoch (the core's
/// civil-date conversion; times before 1970 print as 1970).
pub fn iso8601(millis: Millis) -> String {
    leadscore::core::Timestamp(millis.max(0) as u64).iso8601()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(-5), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400_000 + 3_723_000), "2000-02-29T01:02:03Z");
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
