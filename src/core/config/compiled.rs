//! A checked [`Config`] as compact bytes, and read back without the JSON
//! reader or the schema walker.
//!
//! The built-in presets ship in this form (`src/core/presets/*.lsc`,
//! compiled from their JSON and tested to be current), so a page that only
//! names a preset and its options (`data-site`, `data-preset`, `endpoint`,
//! `consent`) starts without parsing or walking any JSON: see
//! [`Config::from_options`]. The bytes are the config *after* it was
//! checked; reading them checks only that they are well formed (every read
//! bounded, every tag known), not the schema's rules again.
//!
//! Layout (integers are LEB128 varints, signed ones zigzag; strings and
//! lists are length-prefixed; an option is `0` or `1` then the value;
//! `f64`s are 8 bytes little-endian), version 1:
//! `LSC` 1, site, endpoint?, preset?, consent, half-life ms?, thresholds
//! (3 × f64), grades (3 × i64), flags (mql needs identity, in memory before
//! consent), rules, fit rules, hash (u64), warnings, capture (9 bits),
//! delivery (json, base, cap, attempts, age), privacy (3 bits, purposes,
//! consent mode, retention days, erase endpoint?), identity fields.
//! What is derived from the rules (rules by event, thresholds) is rebuilt.

use super::super::codec::{Reader, Writer};
use super::super::delivery::RetryPolicy;
use super::super::glob::UrlGlob;
use super::super::identity::Field;
use super::super::presets::Preset;
use super::*;

const MAGIC: &[u8; 4] = b"LSC\x01";

type Error = &'static str;

impl Config {
    /// The config as compact bytes; [`Config::from_bytes`] reads them back
    /// equal.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Writer::default();
        out.bytes.extend_from_slice(MAGIC);
        out.string(&self.site);
        out.option(self.endpoint.as_ref(), |out, endpoint| out.string(endpoint));
        out.option(self.preset.as_ref(), |out, preset| out.varint(preset_index(*preset)));
        out.varint(matches!(self.consent, ConsentMode::Implied) as u64);
        out.option(self.half_life_ms.as_ref(), |out, ms| out.varint(*ms));
        for value in [self.thresholds.warm, self.thresholds.mql, self.thresholds.sales_ready] {
            out.f64(value);
        }
        for value in [self.grades.a, self.grades.b, self.grades.c] {
            signed(&mut out, value);
        }
        out.varint(self.mql_requires_identity as u64 | (self.in_memory_before_consent as u64) << 1);
        out.len(self.rules.len());
        for rule in &self.rules {
            write_rule(&mut out, rule);
        }
        out.len(self.fit.len());
        for rule in &self.fit {
            out.option(rule.id.as_ref(), |out, id| out.string(id));
            out.varint(field_index(rule.field));
            signed(&mut out, rule.points);
            match &rule.condition {
                FitCondition::ContainsAny(words) => strings(out.tag(0), words),
                FitCondition::In(words) => strings(out.tag(1), words),
                FitCondition::NotIn(words) => strings(out.tag(2), words),
                FitCondition::Range { at_least, at_most } => {
                    let out = out.tag(3);
                    out.option(at_least.as_ref(), |out, value| out.f64(*value));
                    out.option(at_most.as_ref(), |out, value| out.f64(*value));
                }
                FitCondition::FreeMail => {
                    out.tag(4);
                }
                FitCondition::Present => {
                    out.tag(5);
                }
            }
        }
        out.bytes.extend_from_slice(&self.hash.to_le_bytes());
        strings(&mut out, &self.warnings);
        let capture = &self.capture;
        let bits = [
            capture.page_views,
            capture.visits,
            capture.engaged_time,
            capture.scroll_depth,
            capture.forms,
            capture.form_heuristics,
            capture.clicks,
            capture.downloads,
            capture.ad_clicks,
        ];
        out.varint(bits.iter().rev().fold(0, |all, bit| all << 1 | *bit as u64));
        let retry = &self.delivery.retry;
        for value in
            [self.delivery.json as u64, retry.base_ms, retry.cap_ms, u64::from(retry.max_attempts), retry.max_age_ms]
        {
            out.varint(value);
        }
        let privacy = &self.privacy;
        out.varint(
            privacy.gpc as u64
                | (privacy.dnt as u64) << 1
                | (privacy.tcf as u64) << 2
                | (privacy.consent_mode as u64) << 3,
        );
        out.len(privacy.tcf_purposes.len());
        out.bytes.extend_from_slice(&privacy.tcf_purposes);
        out.varint(u64::from(privacy.retention_days));
        out.option(privacy.erase_endpoint.as_ref(), |out, endpoint| out.string(endpoint));
        out.len(self.identity_fields.len());
        for (field, names) in &self.identity_fields {
            out.varint(field_index(*field));
            strings(&mut out, names);
        }
        out.bytes
    }

    /// Reads [`Config::to_bytes`]'s bytes; anything else is an error that
    /// says what was wrong, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Config, Error> {
        let body = bytes.strip_prefix(MAGIC).ok_or("not a compiled leadscore config (v1)")?;
        let mut input = Reader::new(body);
        let config = read_config(&mut input)?;
        if !input.rest().is_empty() {
            return Err("bytes after the end of the config");
        }
        Ok(config)
    }
}

impl Config {
    /// The compiled config as text: standard base64 (padded) of
    /// [`Config::to_bytes`]. A page gives it as a JSON string wherever it
    /// gives a config (inline, `data-config`, the collector's
    /// `/v1/sites/SITE/compiled.json`), and the widget reads it without the
    /// config compiler; `collector compile` writes it.
    pub fn to_text(&self) -> String {
        super::super::codec::to_base64(&self.to_bytes(), true)
    }

    /// Reads [`Config::to_text`]'s text.
    pub fn from_text(text: &str) -> Result<Config, Error> {
        let bytes =
            super::super::codec::from_base64(text.trim_end_matches('=')).ok_or("not a compiled config (not base64)")?;
        Config::from_bytes(&bytes)
    }
}

fn read_config(input: &mut Reader) -> Result<Config, Error> {
    let site = input.string()?;
    let endpoint = input.option(Reader::string)?;
    let preset = input.option(|input| Ok(Preset::ALL[input.variant(Preset::ALL.len() as u32)?]))?;
    let consent = if input.variant(2)? == 1 { ConsentMode::Implied } else { ConsentMode::Required };
    let half_life_ms = input.option(Reader::u64)?;
    let thresholds = Thresholds { warm: input.f64()?, mql: input.f64()?, sales_ready: input.f64()? };
    let grades = GradeThresholds { a: read_signed(input)?, b: read_signed(input)?, c: read_signed(input)? };
    let flags = input.u32()?;
    let rules = input.list(read_rule)?;
    let fit = input.list(|input| {
        let id = input.option(Reader::string)?;
        let field = read_field(input)?;
        let points = read_signed(input)?;
        let condition = match input.variant(6)? {
            0 => FitCondition::ContainsAny(read_strings(input)?),
            1 => FitCondition::In(read_strings(input)?),
            2 => FitCondition::NotIn(read_strings(input)?),
            3 => FitCondition::Range { at_least: input.option(Reader::f64)?, at_most: input.option(Reader::f64)? },
            4 => FitCondition::FreeMail,
            _ => FitCondition::Present,
        };
        Ok(FitRule { id, field, condition, points })
    })?;
    let mut hash = [0u8; 8];
    for byte in &mut hash {
        *byte = input.byte()?;
    }
    let warnings = read_strings(input)?;
    let bits = input.u32()?;
    let bit = |index: u32| bits >> index & 1 == 1;
    let capture = Capture {
        page_views: bit(0),
        visits: bit(1),
        engaged_time: bit(2),
        scroll_depth: bit(3),
        forms: bit(4),
        form_heuristics: bit(5),
        clicks: bit(6),
        downloads: bit(7),
        ad_clicks: bit(8),
    };
    let json = input.variant(2)? == 1;
    let retry = RetryPolicy {
        base_ms: input.u64()?,
        cap_ms: input.u64()?,
        max_attempts: input.u32()?,
        max_age_ms: input.u64()?,
    };
    let privacy_bits = input.u32()?;
    let purposes = input.len()?;
    let mut tcf_purposes = Vec::with_capacity(purposes);
    for _ in 0..purposes {
        tcf_purposes.push(input.byte()?);
    }
    let privacy = Privacy {
        gpc: privacy_bits & 1 != 0,
        dnt: privacy_bits & 2 != 0,
        tcf: privacy_bits & 4 != 0,
        consent_mode: privacy_bits & 8 != 0,
        tcf_purposes,
        retention_days: input.u32()?,
        erase_endpoint: input.option(Reader::string)?,
    };
    let identity_fields = input.list(|input| Ok((read_field(input)?, read_strings(input)?)))?;
    let (by_event, engaged_thresholds, scroll_thresholds) = index_rules(&rules);
    Ok(Config {
        site,
        endpoint,
        preset,
        consent,
        half_life_ms,
        thresholds,
        grades,
        mql_requires_identity: flags & 1 != 0,
        in_memory_before_consent: flags & 2 != 0,
        rules,
        fit,
        hash: u64::from_le_bytes(hash),
        warnings,
        capture,
        delivery: Delivery { json, retry },
        privacy,
        identity_fields,
        by_event,
        engaged_thresholds,
        scroll_thresholds,
    })
}

fn write_rule(out: &mut Writer, rule: &Rule) {
    out.string(&rule.id);
    out.string(&rule.on);
    out.option(rule.url.as_ref(), |out, glob| out.string(glob.as_str()));
    out.len(rule.props.len());
    for (key, values) in &rule.props {
        out.string(key);
        strings(out, values);
    }
    signed(out, rule.points);
    out.option(rule.cap.as_ref(), |out, cap| signed(out, *cap));
    out.option(rule.cooldown_ms.as_ref(), |out, ms| out.varint(*ms));
    out.varint(u64::from(rule.min_count));
    out.option(rule.window_ms.as_ref(), |out, ms| out.varint(*ms));
    out.option(rule.min_value.as_ref(), |out, value| out.varint(u64::from(*value)));
    match rule.decay {
        Decay::Inherit => out.varint(0),
        Decay::Never => out.varint(1),
        Decay::HalfLife(ms) => {
            out.varint(2);
            out.varint(ms);
        }
    }
    out.varint(rule.once as u64 | (rule.sales_intent as u64) << 1);
}

fn read_rule(input: &mut Reader) -> Result<Rule, Error> {
    let id = input.string()?;
    let on = input.string()?;
    let url = input.option(|input| Ok(UrlGlob::new(&input.string()?)))?;
    let props = input.list(|input| Ok((input.string()?, read_strings(input)?)))?;
    let points = read_signed(input)?;
    let cap = input.option(read_signed)?;
    let cooldown_ms = input.option(Reader::u64)?;
    let min_count = input.u32()?;
    let window_ms = input.option(Reader::u64)?;
    let min_value = input.option(Reader::u32)?;
    let decay = match input.variant(3)? {
        0 => Decay::Inherit,
        1 => Decay::Never,
        _ => Decay::HalfLife(input.u64()?),
    };
    let flags = input.u32()?;
    Ok(Rule {
        id,
        on,
        url,
        props,
        points,
        cap,
        once: flags & 1 != 0,
        cooldown_ms,
        min_count,
        window_ms,
        min_value,
        decay,
        sales_intent: flags & 2 != 0,
    })
}

impl Writer {
    fn tag(&mut self, tag: u64) -> &mut Writer {
        self.varint(tag);
        self
    }
}

fn signed(out: &mut Writer, value: i64) {
    out.varint(((value << 1) ^ (value >> 63)) as u64);
}

fn read_signed(input: &mut Reader) -> Result<i64, Error> {
    let zigzag = input.u64()?;
    Ok((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64))
}

fn strings(out: &mut Writer, items: &[String]) {
    out.len(items.len());
    for item in items {
        out.string(item);
    }
}

fn read_strings(input: &mut Reader) -> Result<Vec<String>, Error> {
    input.list(Reader::string)
}

fn preset_index(preset: Preset) -> u64 {
    Preset::ALL.iter().position(|each| *each == preset).unwrap_or(0) as u64
}

fn field_index(field: Field) -> u64 {
    Field::ALL.iter().position(|each| *each == field).unwrap_or(0) as u64
}

fn read_field(input: &mut Reader) -> Result<Field, Error> {
    Ok(Field::ALL[input.variant(Field::ALL.len() as u32)?])
}

/// Rule indices by event name, sorted by name.
pub(super) type RulesByEvent = Vec<(String, Vec<usize>)>;

/// What the engine looks up per event, worked out from the rules: their
/// indices by event name (sorted, for binary search) and the engaged-time
/// and scroll-depth thresholds, ascending.
pub(super) fn index_rules(rules: &[Rule]) -> (RulesByEvent, Vec<u32>, Vec<u32>) {
    let mut by_event: Vec<(String, Vec<usize>)> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        match by_event.binary_search_by(|(on, _)| on.as_str().cmp(&rule.on)) {
            Ok(at) => by_event[at].1.push(index),
            Err(at) => by_event.insert(at, (rule.on.clone(), vec![index])),
        }
    }
    let thresholds_of = |event: &str| {
        let mut values: Vec<u32> =
            rules.iter().filter(|rule| rule.on == event).filter_map(|rule| rule.min_value).collect();
        super::super::small_sort::sort(&mut values);
        values.dedup();
        values
    };
    (by_event, thresholds_of("engaged_time"), thresholds_of("scroll_depth"))
}
