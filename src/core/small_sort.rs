//! A stable insertion sort for the engine's short lists (evidence, the
//! outbox, config object keys). Each element type given to `slice::sort`
//! instantiates its own copy of std's driftsort, about 3.5 KB of wasm
//! apiece; this is a few hundred bytes, and the lists it sorts are bounded
//! (at most a hundred or so items) or already sorted, where it is linear.

use core::cmp::Ordering;

/// Sorts `items` by `compare`, keeping equal items in their order, like
/// `slice::sort_by`. Quadratic in the worst case: for short lists only.
pub(crate) fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    for end in 1..items.len() {
        let mut at = end;
        while at > 0 && compare(&items[at - 1], &items[at]) == Ordering::Greater {
            items.swap(at - 1, at);
            at -= 1;
        }
    }
}

/// [`sort_by`] in the natural order, like `slice::sort`.
pub(crate) fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, T::cmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_std_and_keeps_ties_in_order() {
        // (key, original position): a stable sort keeps positions rising
        // within each key.
        let mut seed = 7u32;
        for len in 0..60 {
            let items: Vec<(u32, usize)> = (0..len)
                .map(|position| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 28, position)
                })
                .collect();
            let mut ours = items.clone();
            sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std = items;
            std.sort_by_key(|item| item.0);
            assert_eq!(ours, std);
        }
    }

    #[test]
    fn natural_order() {
        let mut words = ["pricing", "demo", "cart", "demo"];
        sort(&mut words);
        assert_eq!(words, ["cart", "demo", "demo", "pricing"]);
    }
}
