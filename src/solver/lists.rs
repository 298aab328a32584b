//! Lists grouped by key in one flat array (compressed rows): the waves of a graph, its wires
//! into and out of each node, the callers of each step of a path.

/// Lists of items (indices unless said otherwise), one per key, in one flat array.
#[derive(Clone, Debug)]
pub(super) struct Lists<T = usize> {
    /// Key k's list is `items[start[k]..start[k + 1]]`.
    start: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy + Default> Lists<T> {
    /// The lists of `keys` keys holding each item of the `(key, item)` pairs, in their order.
    /// Inlined: each caller's pairs are walked twice, and out of line their iterators were
    /// not optimized away (compiling a 10,000-node graph took 1.1M instructions more).
    #[inline]
    pub(super) fn gathered(
        keys: usize,
        pairs: impl Iterator<Item = (usize, T)> + Clone,
    ) -> Lists<T> {
        let mut start = cursors(keys, pairs.clone().map(|(key, _)| key));
        let mut items = vec![T::default(); start[keys]];
        for (key, item) in pairs {
            items[start[key]] = item;
            start[key] += 1;
        }
        Lists::from_cursors(start, items)
    }

    /// The lists once every item is written at its key's cursor ([`cursors`]): each cursor
    /// then holds where the next key's list starts, so the starts move up one place.
    fn from_cursors(mut start: Vec<usize>, items: Vec<T>) -> Lists<T> {
        let keys = start.len() - 1;
        start.copy_within(0..keys, 1);
        start[0] = 0;
        Lists { start, items }
    }
}

/// Per key below `keys`, where its list starts in the flat array (its write cursor), from the
/// key of every item (counted, then summed); the last entry is the number of items.
fn cursors(keys: usize, item_keys: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut start = vec![0; keys + 1];
    for key in item_keys {
        start[key + 1] += 1;
    }
    for k in 0..keys {
        start[k + 1] += start[k];
    }
    start
}

impl Lists {
    /// The transpose of the rows `targets[start[row]..start[row + 1]]` (each a list of keys
    /// below `keys`): key k's list holds the rows that name k, in row order (what
    /// [`Lists::gathered`] makes of the (key, row) pairs taken row by row, without walking
    /// the rows through an iterator twice).
    pub(super) fn transposed(start: &[usize], targets: &[usize], keys: usize) -> Lists {
        let mut key_start = cursors(keys, targets.iter().copied());
        let mut items = vec![0; targets.len()];
        for (row, bounds) in start.windows(2).enumerate() {
            for &key in &targets[bounds[0]..bounds[1]] {
                items[key_start[key]] = row;
                key_start[key] += 1;
            }
        }
        Lists::from_cursors(key_start, items)
    }
}

impl<T> Lists<T> {
    /// The lists of `keys` keys built key by key, in key order: `row(key, items)` appends key
    /// `key`'s list to `items`.
    pub(super) fn by_key(keys: usize, mut row: impl FnMut(usize, &mut Vec<T>)) -> Lists<T> {
        let mut start = Vec::with_capacity(keys + 1);
        // About an item per key to start with (a plan's hops, a node's feeds): the list then
        // grows a few times, not from nothing.
        let mut items = Vec::with_capacity(keys);
        for key in 0..keys {
            start.push(items.len());
            row(key, &mut items);
        }
        start.push(items.len());
        // Most keys of a sparse list (a class's retry feeds) have none: give the spare back.
        items.shrink_to_fit();
        Lists { start, items }
    }

    /// The lists `rows`, one per key in key order, moved into one flat array.
    pub(super) fn from_rows<R: AsRef<[T]> + IntoIterator<Item = T>>(rows: Vec<R>) -> Lists<T> {
        let mut start = Vec::with_capacity(rows.len() + 1);
        let mut items = Vec::with_capacity(rows.iter().map(|row| row.as_ref().len()).sum());
        for row in rows {
            start.push(items.len());
            items.extend(row);
        }
        start.push(items.len());
        Lists { start, items }
    }

    /// Every key's items, one list after another (key order).
    pub(super) fn flat(&self) -> &[T] {
        &self.items
    }

    /// No lists at all.
    pub(super) fn empty() -> Lists<T> {
        Lists {
            start: vec![0],
            items: Vec::new(),
        }
    }

    /// Key `key`'s list.
    pub(super) fn of(&self, key: usize) -> &[T] {
        &self.items[self.positions(key)]
    }

    /// Where key `key`'s list lies in the flat array of all items (for figures kept side by
    /// side with them).
    pub(super) fn positions(&self, key: usize) -> std::ops::Range<usize> {
        self.start[key]..self.start[key + 1]
    }

    /// How many keys (lists, empty ones included).
    pub(super) fn keys(&self) -> usize {
        self.start.len() - 1
    }

    /// Every key's list, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[T]> + Clone {
        (0..self.keys()).map(|key| self.of(key))
    }
}

impl<T> std::ops::Index<usize> for Lists<T> {
    type Output = [T];

    /// Key `key`'s list ([`Lists::of`]).
    fn index(&self, key: usize) -> &[T] {
        self.of(key)
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
        assert_eq!(lists.keys(), 3);
        assert_eq!(&lists[2], &[7, 1]);
        assert_eq!(lists.positions(2), 2..4);
        let built = Lists::by_key(3, |key, items| items.extend(std::iter::repeat_n(key, key)));
        assert_eq!(built.of(0), &[] as &[usize]);
        assert_eq!(built.of(2), &[2, 2]);
        assert_eq!(built.positions(2), 1..3);
        assert_eq!(Lists::<usize>::empty().iter().count(), 0);
        let rows = Lists::from_rows(vec![vec![4, 5], Vec::new(), vec![6]]);
        assert_eq!(rows.of(0), &[4, 5]);
        assert_eq!(rows.of(1), &[] as &[usize]);
        assert_eq!(rows.of(2), &[6]);
        assert_eq!(rows.keys(), 3);
        assert_eq!(rows.flat(), &[4, 5, 6]);
        // Rows 0: [2, 0], 1: [], 2: [2]: key 0 is named by row 0, key 2 by rows 0 and 2.
        let transposed = Lists::transposed(&[0, 2, 2, 3], &[2, 0, 2], 3);
        let by_pairs = Lists::gathered(3, [(2, 0), (0, 0), (2, 2)].into_iter());
        assert_eq!(transposed.of(0), &[0]);
        assert_eq!(transposed.of(1), &[] as &[usize]);
        assert_eq!(transposed.of(2), &[0, 2]);
        assert_eq!(transposed.flat(), by_pairs.flat());
        assert_eq!(transposed.positions(2), by_pairs.positions(2));
    }
}
