//! The payload parser never panics: arbitrary bytes, arbitrary headers,
//! gzip of arbitrary bytes and valid leads with random damage all end in a
//! lead or a refusal with a status and a field.

mod common;

use std::io::Write;
use std::sync::OnceLock;

use leadscore_collector::ingest::{decode_body, parse_lead};
use proptest::prelude::*;

fn valid_lead() -> &'static str {
    static LEAD: OnceLock<String> = OnceLock::new();
    LEAD.get_or_init(|| common::mql_lead("props@acme.example").to_json())
}

fn headers() -> impl Strategy<Value = (Option<String>, Option<String>)> {
    let content_type = prop::option::of(prop_oneof![
        Just("text/plain".to_string()),
        Just("application/json; charset=utf-8".to_string()),
        "[ -~]{0,40}",
    ]);
    let encoding = prop::option::of(prop_oneof![Just("gzip".to_string()), Just("identity".to_string()), "[ -~]{0,12}"]);
    (content_type, encoding)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic((content_type, encoding) in headers(), body in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(text) = decode_body(content_type.as_deref(), encoding.as_deref(), &body) {
            let _ = parse_lead(&text);
        }
    }

    #[test]
    fn gzip_of_arbitrary_bytes_never_panics(body in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&body).unwrap();
        let compressed = gzip.finish().unwrap();
        match decode_body(Some("text/plain"), Some("gzip"), &compressed) {
            Ok(text) => prop_assert_eq!(text.as_bytes(), &body[..]),
            Err(refusal) => prop_assert!(refusal.field.as_deref().is_some_and(|field| !field.is_empty())),
        }
    }

    #[test]
    fn damaged_leads_never_panic(cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = valid_lead().as_bytes().to_vec();
        for (at, byte) in cuts {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        match decode_body(Some("text/plain"), None, &bytes).map(|text| parse_lead(&text)) {
            Ok(Ok(lead)) => prop_assert!(lead.check().is_ok()),
            Ok(Err(refusal)) | Err(refusal) => {
                prop_assert!(refusal.status.is_client_error());
                prop_assert!(refusal.field.as_deref().is_some_and(|field| !field.is_empty()) && !refusal.message.is_empty());
            }
        }
    }

    #[test]
    fn truncated_leads_are_refused(keep in 0usize..2000) {
        let text = valid_lead();
        let keep = keep.min(text.len() - 1);
        let refusal = parse_lead(&text[..keep]).unwrap_err();
        prop_assert_eq!(refusal.status.as_u16(), 400);
    }
}
