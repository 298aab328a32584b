//! Lists of indices grouped by key in one flat array (compressed rows): the waves of a graph,
//! the callers of each step of a path.

/// Lists of indices, one per key, in one flat array.
pub(super) struct Lists {
    /// Key k's list is `items[start[k]..start[k + 1]]`.
    start: Vec<usize>,
    items: Vec<usize>,
}

impl Lists {
    /// The lists of `keys` keys holding each item of the `(key, item)` pairs, in their order.
    pub(super) fn gathered(
        keys: usize,
        pairs: impl Iterator<Item = (usize, usize)> + Clone,
    ) -> Lists {
        let mut start = vec![0; keys + 1];
        for (key, _) in pairs.clone() {
            start[key + 1] += 1;
        }
        for k in 0..keys {
            start[k + 1] += start[k];
        }
        let mut items = vec![0; start[keys]];
        let mut next = start.clone();
        for (key, item) in pairs {
            items[next[key]] = item;
            next[key] += 1;
        }
        Lists { start, items }
    }

    /// No lists at all.
    pub(super) fn empty() -> Lists {
        Lists {
            start: vec![0],
            items: Vec::new(),
        }
    }

    /// Key `key`'s list.
    pub(super) fn of(&self, key: usize) -> &[usize] {
        &self.items[self.start[key]..self.start[key + 1]]
    }

    /// Every key's list, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[usize]> {
        (0..self.start.len() - 1).map(|key| self.of(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_gathered_by_key_in_their_order() {
        let lists = Lists::gathered(3, [(2, 7), (0, 5), (2, 1), (0, 9)].into_iter());
        assert_eq!(lists.of(0), &[5, 9]);
        assert_eq!(lists.of(1), &[] as &[usize]);
        assert_eq!(lists.of(2), &[7, 1]);
        assert_eq!(lists.iter().count(), 3);
        assert_eq!(Lists::empty().iter().count(), 0);
    }
}
