//! Domain rules every backend shares: when a repeat of a lead is a
//! conflict rather than a retry, and the keys suppressions are kept under.

use super::LeadRow;

/// Why a repeat of a stored lead is not just a retry: a retry carries the same
/// creation time, page and rule set (its score and evidence may have grown).
pub(crate) fn difference(stored: &LeadRow, lead: &leadscore::core::Lead) -> Option<String> {
    let stored_hash = stored.lead().map(|stored| stored.config_hash).unwrap_or_default();
    if stored.created_at != lead.created_at {
        Some(format!(
            "created_at {} differs from the stored {}",
            lead.created_at.as_millis(),
            stored.created_at.as_millis()
        ))
    } else if stored.page != lead.page {
        Some("page differs from the stored lead".into())
    } else if stored_hash != lead.config_hash {
        Some(format!("config_hash {} differs from the stored {stored_hash}", lead.config_hash))
    } else {
        None
    }
}

/// The suppression key of a visitor.
pub(crate) fn visitor_key(site: &str, visitor_id: &str) -> String {
    format!("{site}\u{1f}{visitor_id}")
}

/// The suppression key of a browser's erasure: its visitor and its secret's digest.
pub(crate) fn secret_key(site: &str, visitor_id: &str, erasure: &str) -> String {
    format!("{site}\u{1f}{visitor_id}\u{1f}{erasure}")
}
