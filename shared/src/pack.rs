//! Batch planning: one generic packer for every destination.
//!
//! Items are packed first-fit in input order: each item goes into the first
//! batch that still has room by count and by bytes. This keeps the relative
//! order of items within a batch, gives exactly `ceil(n / max_items)` batches
//! whenever the count limit is the one that binds (the common case), and never
//! leaves two batches that could have been merged into one.

/// The limits of one destination's batch API, after the config has lowered them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items in one request.
    pub max_items: usize,
    /// Largest item, in the API's own measure (see each destination's `prepare`).
    pub max_item_bytes: usize,
    /// Largest request, summing item sizes.
    pub max_request_bytes: usize,
}

impl Limits {
    /// The fewest requests any packing can use for these item sizes
    /// (ignores how sizes fit together, so real packings may need more).
    pub fn lower_bound(&self, sizes: impl IntoIterator<Item = usize>) -> usize {
        let (count, bytes) = sizes.into_iter().fold((0usize, 0usize), |(c, b), s| (c + 1, b + s));
        if count == 0 {
            return 0;
        }
        count.div_ceil(self.max_items.max(1)).max(bytes.div_ceil(self.max_request_bytes.max(1)))
    }
}

/// Pack items (given as their sizes) into batches of item indices.
///
/// Every index appears in exactly one batch. Callers must have rejected items
/// larger than `limits.max_item_bytes` already; an oversize item that slips
/// through still gets a batch of its own rather than breaking another batch.
pub fn pack(sizes: &[usize], limits: &Limits) -> Vec<Vec<usize>> {
    struct Open {
        items: Vec<usize>,
        bytes: usize,
    }
    let mut batches: Vec<Open> = Vec::new();
    // Batches that are full by count are never looked at again.
    let mut first_open = 0;
    for (index, &size) in sizes.iter().enumerate() {
        let slot = batches[first_open..]
            .iter()
            .position(|b| b.items.len() < limits.max_items && b.bytes + size <= limits.max_request_bytes)
            .map(|p| p + first_open);
        match slot {
            Some(i) => {
                batches[i].items.push(index);
                batches[i].bytes += size;
            }
            None => {
                let mut items = Vec::with_capacity(limits.max_items.min(sizes.len() - index));
                items.push(index);
                batches.push(Open { items, bytes: size });
            }
        }
        while first_open < batches.len() && batches[first_open].items.len() >= limits.max_items {
            first_open += 1;
        }
    }
    batches.into_iter().map(|b| b.items).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIREHOSE: Limits = Limits { max_items: 500, max_item_bytes: 1_024_000, max_request_bytes: 4 * 1024 * 1024 };

    fn check(sizes: &[usize], limits: &Limits, batches: &[Vec<usize>]) -> Result<(), TestCaseError> {
        let mut seen = vec![0u32; sizes.len()];
        for batch in batches {
            prop_assert!(!batch.is_empty(), "no empty batch");
            prop_assert!(batch.len() <= limits.max_items, "count limit");
            let bytes: usize = batch.iter().map(|&i| sizes[i]).sum();
            prop_assert!(bytes <= limits.max_request_bytes, "byte limit: {bytes}");
            prop_assert!(batch.windows(2).all(|w| w[0] < w[1]), "input order kept within a batch");
            for &i in batch {
                seen[i] += 1;
            }
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "every item in exactly one batch");
        // Minimality in the sense first-fit guarantees: no two batches could be one.
        for (a, x) in batches.iter().enumerate() {
            for y in &batches[a + 1..] {
                let bytes: usize = x.iter().chain(y).map(|&i| sizes[i]).sum();
                prop_assert!(x.len() + y.len() > limits.max_items || bytes > limits.max_request_bytes, "two batches could merge");
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn packs_within_limits_exactly_once(
            sizes in prop::collection::vec(1usize..=64, 0..400),
            max_items in 1usize..=40,
            max_request_bytes in 64usize..=600,
        ) {
            let limits = Limits { max_items, max_item_bytes: 64, max_request_bytes };
            let batches = pack(&sizes, &limits);
            check(&sizes, &limits, &batches)?;
        }

        #[test]
        fn meets_the_lower_bound_when_the_count_limit_binds(n in 0usize..3000, size in 1usize..=200) {
            let sizes = vec![size; n];
            let batches = pack(&sizes, &FIREHOSE);
            prop_assert_eq!(batches.len(), FIREHOSE.lower_bound(sizes.iter().copied()));
            prop_assert_eq!(batches.len(), n.div_ceil(500));
        }

        #[test]
        fn meets_the_lower_bound_for_equal_large_items(n in 0usize..40) {
            // 1,000,000-byte items: four fit in 4 MiB, so the bound is ceil(n / 4).
            let sizes = vec![1_000_000; n];
            let batches = pack(&sizes, &FIREHOSE);
            prop_assert_eq!(batches.len(), n.div_ceil(4));
        }
    }

    #[test]
    fn fills_gaps_left_by_large_items() {
        let limits = Limits { max_items: 10, max_item_bytes: 100, max_request_bytes: 100 };
        // 60 opens a batch, 60 opens another, 40 and 40 fill both gaps.
        let batches = pack(&[60, 60, 40, 40], &limits);
        assert_eq!(batches, vec![vec![0, 2], vec![1, 3]]);
    }

    #[test]
    fn lower_bound_takes_the_binding_limit() {
        assert_eq!(FIREHOSE.lower_bound([]), 0);
        assert_eq!(FIREHOSE.lower_bound(vec![10; 501]), 2);
        assert_eq!(FIREHOSE.lower_bound(vec![1_000_000; 9]), 3);
    }
}
