//! The session's randomness, from a seed the shell draws once from
//! `crypto.getRandomValues`: visitor ids, event ids and retry jitter, so
//! tests can replay a session exactly. xoshiro256**, small and well studied.

use crate::prelude::*;
pub(crate) struct Random {
    state: [u64; 4],
    /// SHA-256 of the seed, for secrets: nothing the generator's outputs
    /// reveal (visitor ids, event ids) leads back to it.
    secret_key: [u8; 32],
    secrets: u64,
}

impl Random {
    pub fn new(seed: [u8; 32]) -> Random {
        let mut state = [0u64; 4];
        for (index, chunk) in seed.chunks_exact(8).enumerate() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            state[index] = u64::from_le_bytes(bytes);
        }
        if state == [0; 4] {
            // The one seed xoshiro cannot leave.
            state[0] = 0x9e37_79b9_7f4a_7c15;
        }
        let mut keyed = b"leadscore erasure secret\0".to_vec();
        keyed.extend_from_slice(&seed);
        Random { state, secret_key: crate::core::sha256::sha256(&keyed), secrets: 0 }
    }

    pub fn next_u64(&mut self) -> u64 {
        let [a, b, c, d] = &mut self.state;
        let result = b.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *b << 17;
        *c ^= *a;
        *d ^= *b;
        *b ^= *c;
        *a ^= *d;
        *c ^= t;
        *d = d.rotate_left(45);
        result
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A new erasure secret: 128 bits as 32 hex digits, from a hash of the
    /// seed rather than from the generator, whose outputs are public.
    pub fn secret(&mut self) -> String {
        self.secrets += 1;
        let mut input = self.secret_key.to_vec();
        input.extend_from_slice(&self.secrets.to_le_bytes());
        let mut secret = crate::core::sha256::sha256_hex(&input);
        secret.truncate(32);
        secret
    }

    /// A new visitor id: 128 bits as 32 hex digits.
    pub fn visitor_id(&mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(32);
        for _ in 0..2 {
            let bits = self.next_u64();
            for shift in (0..16).rev() {
                id.push(HEX[(bits >> (shift * 4) & 15) as usize] as char);
            }
        }
        id
    }
}
