//! The largest of a vocabulary's logits, without sorting the vocabulary.

/// The ids of the `k` largest values, largest first; equal values by id, as a stable sort of
/// the ids would give them. One pass: most values lose one comparison against the k-th best.
pub fn largest(values: &[f32], k: usize) -> Vec<u32> {
    if k > ONE_PASS_MAX_K {
        return largest_by_selection(values, k);
    }
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    for (id, &value) in values.iter().enumerate() {
        if best.len() == k
            && best
                .last()
                .is_none_or(|&(kth, _)| value.total_cmp(&kth).is_le())
        {
            continue;
        }
        // Ids come in order, so an equal value already kept stays before this one.
        let at = best.partition_point(|&(kept, _)| kept.total_cmp(&value).is_ge());
        best.insert(at, (value, id as u32));
        best.truncate(k);
    }
    best.into_iter().map(|(_, id)| id).collect()
}

/// Past this, keeping the best in a sorted list costs O(k) an insertion (top-k sampling may ask
/// for thousands): select the k largest in linear time, then sort only those.
const ONE_PASS_MAX_K: usize = 64;

fn largest_by_selection(values: &[f32], k: usize) -> Vec<u32> {
    let before = |a: &u32, b: &u32| {
        values[*b as usize]
            .total_cmp(&values[*a as usize])
            .then(a.cmp(b))
    };
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    if k < order.len() {
        order.select_nth_unstable_by(k, before);
        order.truncate(k);
    }
    order.sort_unstable_by(before);
    order
}

#[cfg(test)]
mod tests {
    use super::largest;

    #[test]
    fn largest_equals_a_stable_sort_of_the_ids() {
        // Few distinct values, so that ties are everywhere, and NaN, which `total_cmp` orders.
        let values: Vec<f32> = (0..500u32)
            .map(|i| match (i * 7919) % 13 {
                0 => f32::NAN,
                r => r as f32 - 6.0,
            })
            .collect();
        for k in [0, 1, 10, 64, 65, 499, 500, 600] {
            let mut sorted: Vec<u32> = (0..values.len() as u32).collect();
            sorted.sort_by(|a, b| values[*b as usize].total_cmp(&values[*a as usize]));
            sorted.truncate(k);
            assert_eq!(largest(&values, k), sorted, "k = {k}");
        }
    }
}
