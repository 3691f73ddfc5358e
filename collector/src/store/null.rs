//! A store that keeps nothing: every lead is "created" and every read is
//! empty. The load benchmark runs the same server on it and on SQLite, so
//! the gap between the two is what storage costs.

use super::*;

/// Answers as if storing, stores nothing.
#[derive(Debug, Default)]
pub struct NullStore;

impl Store for NullStore {
    fn insert_lead(&self, lead: NewLead, _targets: &[String]) -> Result<Inserted, StoreError> {
        Ok(Inserted::Created(Box::new(LeadRow::new(&lead))))
    }

    fn lead(&self, _lead_id: &str) -> Result<Option<LeadRow>, StoreError> {
        Ok(None)
    }

    fn leads(&self, _filter: &LeadFilter) -> Result<Vec<LeadRow>, StoreError> {
        Ok(Vec::new())
    }

    fn transition(
        &self,
        lead_id: &str,
        _action: Action,
        _reason: Option<String>,
        _at: Timestamp,
        _targets: &[String],
    ) -> Result<(LeadRow, Change), StoreError> {
        Err(StoreError::NotFound(format!("no lead with lead_id `{lead_id}`")))
    }

    fn history(&self, _lead_id: &str) -> Result<Vec<Change>, StoreError> {
        Ok(Vec::new())
    }

    fn all_changes(&self) -> Result<Vec<Change>, StoreError> {
        Ok(Vec::new())
    }

    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn conflicts(&self, _limit: u32) -> Result<Vec<Conflict>, StoreError> {
        Ok(Vec::new())
    }

    fn erase(&self, _erasure: &Erasure, _at: Timestamp) -> Result<Erased, StoreError> {
        Ok(Erased::default())
    }

    fn delete_older_than(&self, _cutoff: Timestamp) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn claim_deliveries(
        &self,
        _now: Timestamp,
        _limit: u32,
        _lease_until: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(Vec::new())
    }

    fn next_delivery_at(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(None)
    }

    fn delivery_succeeded(&self, _id: i64) -> Result<(), StoreError> {
        Ok(())
    }

    fn delivery_failed(&self, _id: i64, _error: &str, _retry_at: Option<Timestamp>) -> Result<(), StoreError> {
        Ok(())
    }

    fn deliveries(&self, _dead: bool) -> Result<Vec<Delivery>, StoreError> {
        Ok(Vec::new())
    }

    fn retry_delivery(&self, id: i64, _now: Timestamp) -> Result<(), StoreError> {
        Err(StoreError::NotFound(format!("no dead delivery with id {id}")))
    }

    fn stats(&self, _now: Timestamp, _days: u32) -> Result<Stats, StoreError> {
        Ok(Stats::default())
    }

    fn create_session(&self, _digest: &str, _now: Timestamp, _expires_at: Timestamp) -> Result<(), StoreError> {
        Ok(())
    }

    fn session_alive(&self, _digest: &str, _now: Timestamp) -> Result<bool, StoreError> {
        Ok(false)
    }

    fn end_session(&self, _digest: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
