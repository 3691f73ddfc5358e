//! The session's randomness, from a seed the shell draws once from
//! `crypto.getRandomValues`: visitor ids, event ids and retry jitter, so
//! tests can replay a session exactly. xoshiro256**, small and well studied.

use crate::prelude::*;
pub(crate) struct Random {
    state: [u64; 4],
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
        Random { state }
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
