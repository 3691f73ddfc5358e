//! The few rounding functions the engine and the shell use, written out:
//! core has no `f64::round`, `floor` or `fract` (std takes them from libm),
//! and the shipped module has no std. Exactly std's results (a test
//! compares), in the browser and in the collector alike.

/// Above this every f64 is a whole number.
const WHOLE: f64 = 4_503_599_627_370_496.0; // 2^52

/// `x` with its fraction dropped (toward zero).
pub fn trunc(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= WHOLE {
        return x;
    }
    let whole = (x as i64) as f64;
    // Keeps the sign of -0.5 → -0.0, as std does.
    if whole == 0.0 && x.is_sign_negative() {
        -0.0
    } else {
        whole
    }
}

/// The largest whole number at most `x`.
pub fn floor(x: f64) -> f64 {
    let whole = trunc(x);
    if whole > x {
        whole - 1.0
    } else {
        whole
    }
}

/// The nearest whole number, halves away from zero.
pub fn round(x: f64) -> f64 {
    let whole = trunc(x);
    // Exact for |x| < 2^52, where a fraction can exist at all.
    let fraction = x - whole;
    if fraction >= 0.5 {
        whole + 1.0
    } else if fraction <= -0.5 {
        whole - 1.0
    } else {
        whole
    }
}

/// What `x` has beyond its whole part.
pub fn fract(x: f64) -> f64 {
    x - trunc(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_as_std() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999999999999994,
            -0.49999999999999994,
            1e15 + 0.5,
            4503599627370495.5,
            -4503599627370495.5,
            4503599627370497.0,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9.2e18,
            -9.3e18,
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            values.push(f64::from_bits(seed));
            values.push((seed % 2_000_001) as f64 / 1000.0 - 1000.0);
        }
        for x in values.into_iter().filter(|x| !x.is_nan()) {
            for (ours, std, name) in [
                (trunc(x), x.trunc(), "trunc"),
                (floor(x), x.floor(), "floor"),
                (round(x), x.round(), "round"),
                (fract(x), x.fract(), "fract"),
            ] {
                assert!(
                    ours.to_bits() == std.to_bits() || (ours.is_nan() && std.is_nan()),
                    "{name}({x:e}): {ours:e} vs {std:e}"
                );
            }
        }
        assert!(round(f64::NAN).is_nan() && floor(f64::NAN).is_nan());
    }
}
