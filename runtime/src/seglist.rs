//! A list that grows by fixed-size segments, for the collector's long lists (the members of
//! a cycle, the candidate buffers): a push never moves what the list holds, where a `Vec`
//! that doubles copies millions of entries at once, a pause of milliseconds.
//!
//! Invariants: every segment but the last in use is full; segments past the one in use are
//! empty, kept for reuse (a cleared list keeps its memory, as `Vec::clear` does).

/// Entries per segment (32 KiB of pointers: below glibc's threshold for giving each
/// allocation its own mapping, so that freeing a long list is not a munmap per segment).
const SEGMENT: usize = 1 << 12;

pub(crate) struct SegList<T> {
    segments: Vec<Vec<T>>,
    len: usize,
}

impl<T: Copy> SegList<T> {
    pub const fn new() -> SegList<T> {
        SegList {
            segments: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Inlined where it is used (a candidate buffered, a member found); a new segment is
    /// out of line.
    #[inline(always)]
    pub fn push(&mut self, x: T) {
        let s = self.len / SEGMENT;
        if s == self.segments.len() {
            self.grow();
        }
        self.segments[s].push(x);
        self.len += 1;
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        self.segments.push(Vec::with_capacity(SEGMENT));
    }

    /// Takes the last entry.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        self.segments[self.len / SEGMENT].pop()
    }

    /// In the collector's loops over its lists, once or twice per entry (the entry, and the
    /// one whose header to prefetch): one comparison, no bounds checks.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        if i < self.len {
            // SAFETY: below the length, so segment `i / SEGMENT` exists and holds entry
            // `i % SEGMENT` (every segment before the last in use is full: the module's
            // invariant, kept by `push`, `pop` and `clear`).
            Some(unsafe {
                *self
                    .segments
                    .get_unchecked(i / SEGMENT)
                    .get_unchecked(i % SEGMENT)
            })
        } else {
            None
        }
    }

    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i < self.len {
            Some(&mut self.segments[i / SEGMENT][i % SEGMENT])
        } else {
            None
        }
    }

    /// The entries from `start` on, if they are in one segment (and there are some).
    #[inline]
    pub fn tail(&self, start: usize) -> Option<&[T]> {
        if start >= self.len || start / SEGMENT != (self.len - 1) / SEGMENT {
            return None;
        }
        // SAFETY: entry `len - 1` exists, in segment `start / SEGMENT` (the same), which
        // holds entries `start % SEGMENT ..` of it up to its length (the module's invariant:
        // the segments before it are full).
        Some(unsafe {
            self.segments
                .get_unchecked(start / SEGMENT)
                .get_unchecked(start % SEGMENT..)
        })
    }

    /// Keeps the first `len` entries (no more than there are), keeping the memory.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if len / SEGMENT == (self.len - 1) / SEGMENT {
            // Within the last segment in use: one cut.
            // SAFETY: that segment exists (it holds entry `self.len - 1`).
            unsafe { self.segments.get_unchecked_mut(len / SEGMENT) }.truncate(len % SEGMENT);
            self.len = len;
            return;
        }
        while self.len > len {
            let s = (self.len - 1) / SEGMENT;
            let keep = len.max(s * SEGMENT) - s * SEGMENT;
            let Some(segment) = self.segments.get_mut(s) else {
                break;
            };
            self.len -= segment.len() - keep;
            segment.truncate(keep);
        }
    }

    /// Empties the list, keeping its memory.
    pub fn clear(&mut self) {
        for s in &mut self.segments {
            s.clear();
        }
        self.len = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.segments.iter().flatten().copied()
    }
}

impl<T: Copy> Default for SegList<T> {
    fn default() -> SegList<T> {
        SegList::new()
    }
}

impl<T: Copy> FromIterator<T> for SegList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> SegList<T> {
        let mut list = SegList::new();
        for x in iter {
            list.push(x);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_in_order_across_segments_and_clear_keeps_the_memory() {
        let mut l = SegList::new();
        for i in 0..3 * SEGMENT + 5 {
            l.push(i);
        }
        assert_eq!(l.len(), 3 * SEGMENT + 5);
        assert_eq!(l.get(SEGMENT), Some(SEGMENT));
        assert_eq!(l.get(3 * SEGMENT + 5), None);
        *l.get_mut(7).unwrap() = 70;
        l.push(99);
        assert_eq!(l.pop(), Some(99));
        assert!(l
            .iter()
            .enumerate()
            .all(|(i, x)| x == if i == 7 { 70 } else { i }));
        assert_eq!(
            l.tail(3 * SEGMENT + 3),
            Some(&[3 * SEGMENT + 3, 3 * SEGMENT + 4][..])
        );
        assert_eq!(l.tail(3 * SEGMENT - 1), None, "two segments");
        assert_eq!(l.tail(3 * SEGMENT + 5), None, "empty");
        l.truncate(SEGMENT + 3);
        assert_eq!(l.len(), SEGMENT + 3);
        assert_eq!(l.get(SEGMENT + 2), Some(SEGMENT + 2));
        assert_eq!(l.get(SEGMENT + 3), None);
        l.push(5);
        assert_eq!(l.get(SEGMENT + 3), Some(5));
        l.truncate(usize::MAX);
        assert_eq!(l.len(), SEGMENT + 4);
        l.clear();
        assert!(l.len() == 0 && l.segments.len() == 4);
        l.push(1);
        assert_eq!(l.iter().collect::<Vec<_>>(), [1]);
    }
}
