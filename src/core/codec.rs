//! The stored state's binary body, written and read by hand: the same bytes
//! the serde + postcard encoding of earlier releases wrote (LEB128 varints
//! for integers, little-endian `f64`s, length-prefixed strings and lists,
//! `0`/`1` for options, a varint for an enum's variant), so a record stored
//! by any release since the format's v1 reads back unchanged. Hand-written
//! because the generic serde machinery cost the wasm more than the whole
//! codec; every read is bounded by the bytes left and checked, since storage
//! is untrusted.

use super::event::{Event, EventId};
use super::identity::{Answer, Field, Identity};
use super::outbox::{Finish, Outbox, Pending};
use super::signals::Touch;
use super::sorted_map::SortedMap;
use super::stage::Stage;
use super::state::{DecodeError, State, MAGIC, STATE_VERSION};
use super::tally::Tally;
use super::text::uint;
use super::time::Timestamp;
use crate::prelude::*;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 of `bytes`, with `=` padding when `padded`: the stored
/// record's text (unpadded) and a compiled config's (padded), written by one
/// copy of the code, since storage and JSON hold text and `btoa` belongs to
/// the page.
pub fn to_base64(bytes: &[u8], padded: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let bits =
            chunk.iter().enumerate().fold(0u32, |bits, (index, byte)| bits | u32::from(*byte) << (16 - 8 * index));
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(char::from(BASE64[(bits >> (18 - 6 * index) & 63) as usize]));
            } else if padded {
                out.push('=');
            }
        }
    }
    out
}

/// Reads [`to_base64`]'s unpadded text; `None` for any other character.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = BASE64.iter().position(|&c| c == byte)? as u32;
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

/// Why a body could not be read.
pub(crate) type Error = &'static str;

#[derive(Default)]
pub(crate) struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn varint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.bytes.push(byte);
                return;
            }
            self.bytes.push(byte | 0x80);
        }
    }

    pub(crate) fn len(&mut self, len: usize) {
        self.varint(len as u64);
    }

    pub(crate) fn string(&mut self, text: &str) {
        self.len(text.len());
        self.bytes.extend_from_slice(text.as_bytes());
    }

    pub(crate) fn f64(&mut self, value: f64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn option<T>(&mut self, value: Option<&T>, write: impl FnOnce(&mut Writer, &T)) {
        match value {
            None => self.bytes.push(0),
            Some(value) => {
                self.bytes.push(1);
                write(self, value);
            }
        }
    }

    fn time(&mut self, at: Timestamp) {
        self.varint(at.0);
    }
}

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    pub(crate) fn byte(&mut self) -> Result<u8, Error> {
        let (&first, rest) = self.bytes.split_first().ok_or("truncated")?;
        self.bytes = rest;
        Ok(first)
    }

    fn varint(&mut self, max_bytes: u32) -> Result<u64, Error> {
        let mut value = 0u64;
        for index in 0..max_bytes {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number too long for its type")
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        self.varint(10)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        u32::try_from(self.varint(5)?).map_err(|_| "a number too large for its type")
    }

    fn u16(&mut self) -> Result<u16, Error> {
        u16::try_from(self.varint(3)?).map_err(|_| "a number too large for its type")
    }

    /// A length, which cannot exceed the bytes left (each item takes one at least).
    pub(crate) fn len(&mut self) -> Result<usize, Error> {
        let len = usize::try_from(self.varint(5)?).map_err(|_| "a length too large")?;
        if len > self.bytes.len() {
            return Err("a length past the end");
        }
        Ok(len)
    }

    pub(crate) fn string(&mut self) -> Result<String, Error> {
        let len = self.len()?;
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(text.to_vec()).map_err(|_| "text that is not UTF-8")
    }

    pub(crate) fn f64(&mut self) -> Result<f64, Error> {
        if self.bytes.len() < 8 {
            return Err("truncated");
        }
        let (number, rest) = self.bytes.split_at(8);
        self.bytes = rest;
        let mut le = [0u8; 8];
        le.copy_from_slice(number);
        Ok(f64::from_le_bytes(le))
    }

    pub(crate) fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err("an option tag that is neither 0 nor 1"),
        }
    }

    pub(crate) fn list<T>(
        &mut self,
        mut read: impl FnMut(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let len = self.len()?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(read(self)?);
        }
        Ok(items)
    }

    fn time(&mut self) -> Result<Timestamp, Error> {
        self.u64().map(Timestamp)
    }

    pub(crate) fn variant(&mut self, count: u32) -> Result<usize, Error> {
        let index = self.u32()?;
        if index >= count {
            return Err("an unknown variant");
        }
        Ok(index as usize)
    }
}

// Encoding lives here, beside the layout, so the state itself never
// imports its codec.
impl State {
    /// The state as bytes for storage: a magic, a version, then a compact
    /// binary body.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(512);
        bytes.extend_from_slice(&MAGIC);
        bytes.push(STATE_VERSION);
        bytes.extend_from_slice(&write_state(self));
        bytes
    }

    /// Restores a state from [`State::encode`]'s bytes, checking every
    /// invariant; foreign, corrupt or future-version bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<State, DecodeError> {
        let Some(body) = bytes.strip_prefix(&MAGIC) else {
            return Err(DecodeError::new("not a leadscore state (unknown format)"));
        };
        let version = match body.first() {
            Some(&version @ (1 | STATE_VERSION)) => version,
            Some(&version) if version > STATE_VERSION => {
                return Err(DecodeError::new(cat!(
                    "written by a newer version (v",
                    uint(u64::from(version)),
                    ", this is v",
                    uint(u64::from(STATE_VERSION)),
                    ")"
                )))
            }
            Some(&version) => return Err(DecodeError::new(cat!("unsupported version v", uint(u64::from(version))))),
            None => return Err(DecodeError::new("truncated before the version")),
        };
        let mut reader = Reader::new(&body[1..]);
        let state =
            read_state(&mut reader, version).map_err(|error| DecodeError::new(cat!("corrupt body (", error, ")")))?;
        let rest = reader.rest();
        if !rest.is_empty() {
            return Err(DecodeError::new(cat!(uint(rest.len() as u64), " unexpected bytes after the state")));
        }
        state.check().map_err(DecodeError::new)?;
        Ok(state)
    }

    /// The bytes of a summary alone, as the body holds it: merges compare
    /// them to break ties the same way in every tab.
    pub(crate) fn summary_bytes(summary: &SortedMap<String, Tally>) -> Vec<u8> {
        write_summary(summary)
    }
}

/// The body of `state`.
fn write_state(state: &State) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(&state.visitor_id);
    w.time(state.created);
    w.option(state.horizon.as_ref(), |w, (at, id)| {
        w.time(*at);
        w.varint(id.0);
    });
    write_summary_into(&mut w, &state.summary);
    w.varint(u64::from(state.folded));
    w.len(state.evidence.len());
    for event in &state.evidence {
        write_event(&mut w, event);
    }
    let answers = state.identity.answers();
    w.len(answers.len());
    for (field, answer) in answers.iter() {
        w.varint(Field::ALL.iter().position(|known| known == field).unwrap_or(0) as u64);
        w.time(answer.at);
        w.string(&answer.value);
    }
    w.option(state.last_activity.as_ref(), |w, at| w.time(*at));
    w.option(state.first_touch.as_ref(), write_touch);
    w.option(state.last_touch.as_ref(), write_touch);
    write_outbox(&mut w, &state.outbox);
    w.string(&state.erasure_secret);
    w.bytes
}

/// The bytes of a summary alone, as the body holds it (merges compare them).
fn write_summary(summary: &SortedMap<String, Tally>) -> Vec<u8> {
    let mut w = Writer::default();
    write_summary_into(&mut w, summary);
    w.bytes
}

fn write_summary_into(w: &mut Writer, summary: &SortedMap<String, Tally>) {
    w.len(summary.len());
    for (rule, tally) in summary.iter() {
        w.string(rule);
        write_tally(w, tally);
    }
}

fn write_tally(w: &mut Writer, tally: &Tally) {
    w.varint(u64::from(tally.matches));
    w.varint(u64::from(tally.awards));
    w.time(tally.first);
    w.time(tally.last);
    w.len(tally.recent.len());
    for at in &tally.recent {
        w.time(*at);
    }
    w.option(tally.last_award.as_ref(), |w, at| w.time(*at));
    w.f64(tally.value);
    w.time(tally.value_at);
    w.len(tally.page_views.len());
    for id in &tally.page_views {
        w.varint(id.0);
    }
}

fn write_event(w: &mut Writer, event: &Event) {
    w.time(event.at);
    w.varint(event.id.0);
    w.string(&event.name);
    w.option(event.url.as_ref(), |w, url| w.string(url));
    w.len(event.props.len());
    for (key, value) in event.props.iter() {
        w.string(key);
        w.string(value);
    }
    w.option(event.value.as_ref(), |w, value| w.varint(u64::from(*value)));
    w.option(event.page_view.as_ref(), |w, id| w.varint(id.0));
}

fn write_touch(w: &mut Writer, touch: &Touch) {
    w.time(touch.at);
    for part in [&touch.source, &touch.medium, &touch.campaign, &touch.term, &touch.content, &touch.click_id] {
        w.option(part.as_ref(), |w, text| w.string(text));
    }
}

fn write_outbox(w: &mut Writer, outbox: &Outbox) {
    w.len(outbox.pending.len());
    for entry in &outbox.pending {
        w.varint(u64::from(entry.attempts));
        w.varint(u64::from(entry.wake));
        w.string(&entry.lead_id);
        w.varint(entry.stage as u64);
        w.time(entry.created);
        w.string(&entry.page);
        w.time(entry.next_at);
        w.option(entry.last_status.as_ref(), |w, status| w.varint(u64::from(*status)));
        w.option(entry.not_before.as_ref(), |w, at| w.time(*at));
    }
    w.len(outbox.finished.len());
    for (lead_id, finish) in &outbox.finished {
        w.string(lead_id);
        w.varint(*finish as u64);
    }
    w.varint(u64::from(outbox.dropped));
    w.varint(u64::from(outbox.expired));
    w.varint(u64::from(outbox.rejected));
}

/// A state from its body (the invariants are checked by the caller).
fn read_state(r: &mut Reader<'_>, version: u8) -> Result<State, Error> {
    let visitor_id = r.string()?;
    let created = r.time()?;
    let horizon = r.option(|r| Ok((r.time()?, EventId(r.u64()?))))?;
    let mut summary = SortedMap::new();
    for _ in 0..r.len()? {
        let rule = r.string()?;
        summary.insert(rule, read_tally(r)?);
    }
    let folded = r.u32()?;
    let evidence = r.list(read_event)?;
    let mut answers = SortedMap::new();
    for _ in 0..r.len()? {
        let field = Field::ALL[r.variant(Field::ALL.len() as u32)?];
        let at = r.time()?;
        let value = r.string()?;
        answers.insert(field, Answer { at, value });
    }
    let last_activity = r.option(Reader::time)?;
    let first_touch = r.option(read_touch)?;
    let last_touch = r.option(read_touch)?;
    let outbox = read_outbox(r)?;
    // Version 1 ends here; version 2 adds the erasure secret.
    let erasure_secret = if version >= 2 { r.string()? } else { String::new() };
    Ok(State {
        visitor_id,
        created,
        horizon,
        summary,
        folded,
        evidence,
        identity: Identity::from_answers(answers),
        last_activity,
        first_touch,
        last_touch,
        outbox,
        erasure_secret,
    })
}

fn read_tally(r: &mut Reader<'_>) -> Result<Tally, Error> {
    Ok(Tally {
        matches: r.u32()?,
        awards: r.u32()?,
        first: r.time()?,
        last: r.time()?,
        recent: r.list(Reader::time)?,
        last_award: r.option(Reader::time)?,
        value: r.f64()?,
        value_at: r.time()?,
        page_views: r.list(|r| r.u64().map(EventId))?,
    })
}

fn read_event(r: &mut Reader<'_>) -> Result<Event, Error> {
    let at = r.time()?;
    let id = EventId(r.u64()?);
    let name = r.string()?;
    let url = r.option(Reader::string)?;
    let mut props = SortedMap::new();
    for _ in 0..r.len()? {
        let key = r.string()?;
        props.insert(key, r.string()?);
    }
    let value = r.option(Reader::u32)?;
    let page_view = r.option(|r| r.u64().map(EventId))?;
    Ok(Event { at, id, name, url, props, value, page_view })
}

fn read_touch(r: &mut Reader<'_>) -> Result<Touch, Error> {
    Ok(Touch {
        at: r.time()?,
        source: r.option(Reader::string)?,
        medium: r.option(Reader::string)?,
        campaign: r.option(Reader::string)?,
        term: r.option(Reader::string)?,
        content: r.option(Reader::string)?,
        click_id: r.option(Reader::string)?,
    })
}

fn read_outbox(r: &mut Reader<'_>) -> Result<Outbox, Error> {
    const STAGES: [Stage; 4] = [Stage::Cold, Stage::Warm, Stage::Mql, Stage::SalesReady];
    const FINISHES: [Finish; 5] =
        [Finish::Superseded, Finish::Dropped, Finish::Expired, Finish::Rejected, Finish::Delivered];
    let pending = r.list(|r| {
        Ok(Pending {
            attempts: r.u32()?,
            wake: r.u32()?,
            lead_id: r.string()?,
            stage: STAGES[r.variant(4)?],
            created: r.time()?,
            page: r.string()?,
            next_at: r.time()?,
            last_status: r.option(Reader::u16)?,
            not_before: r.option(Reader::time)?,
        })
    })?;
    let finished = r.list(|r| Ok((r.string()?, FINISHES[r.variant(5)?])))?;
    Ok(Outbox { pending, finished, dropped: r.u32()?, expired: r.u32()?, rejected: r.u32()? })
}
