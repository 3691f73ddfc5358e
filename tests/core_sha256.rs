//! The core's SHA-256 against the `sha2` crate and the FIPS 180-4 examples,
//! at every length around the padding boundaries.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(not(target_arch = "wasm32"))]
use leadscore::core::sha256::sha256;
use leadscore::core::sha256::sha256_hex;
#[cfg(not(target_arch = "wasm32"))]
use proptest::prelude::*;
#[cfg(not(target_arch = "wasm32"))]
use sha2::{Digest, Sha256};

#[test]
fn the_standard_examples() {
    assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(
        sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_length_up_to_three_blocks_matches_sha2() {
    let data: Vec<u8> = (0..200u32).map(|n| (n * 31 + 7) as u8).collect();
    for len in 0..=data.len() {
        assert_eq!(sha256(&data[..len])[..], Sha256::digest(&data[..len])[..], "length {len}");
    }
}

#[cfg(not(target_arch = "wasm32"))]
proptest! {
    #[test]
    fn random_inputs_match_sha2(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let (ours, theirs) = (sha256(&data), Sha256::digest(&data));
        prop_assert_eq!(&ours[..], &theirs[..]);
    }
}
