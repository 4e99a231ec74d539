//! The arena's vector: allocator-api2's port of std's `Vec` (std's own code, generic over
//! its allocator, for stable Rust), allocating in a call's bump, with std's `push`.
//!
//! **Why a wrapper and not the port itself.** The port marks its growth path
//! `#[inline(always)]` (`reserve_for_push` and `grow_amortized`), so every `push` in a hot
//! loop carries the whole capacity computation inline, and LLVM hoists part of it into the
//! loop. std's `Vec::push` keeps only the length check inline and grows out of line. On
//! `cargo bench --bench escape`'s `levels` workload (255 pushes per call into vectors made
//! with `with_capacity`) that difference cost 15 instructions per push, enough to make the
//! annotated fn slower than the plain one, which the attribute must never do. This `push`
//! is std's shape again: a capacity check inline, growth in a cold function.
//!
//! Everything else is the port's, reached through `Deref`/`DerefMut` (method calls and
//! indexing look through them; `&v` coerces to `&[T]` through both steps). The traits that
//! are not found through `Deref` (by-value iteration, `for x in &v`, formatting, comparison,
//! hashing, `Extend` in generic code) are implemented here by delegation, so that code
//! written against std's `Vec` and moved onto the arena by `#[gomem::escape]` compiles and
//! behaves as before.

use std::borrow::{Borrow, BorrowMut};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

use bumpalo::Bump;

/// The vector of allocator-api2 that this one wraps.
pub type Inner<'bump, T> = allocator_api2::vec::Vec<T, &'bump Bump>;

/// A `Vec<T>` allocated in a bump, with std's methods and meanings. It wraps allocator-api2's
/// port for one reason: a `push` that grows out of line, as std's does (see the module docs).
pub struct Vec<'bump, T>(Inner<'bump, T>);

impl<'bump, T> Vec<'bump, T> {
    /// An empty vector in `bump`; it allocates on its first push.
    #[inline]
    pub fn new_in(bump: &'bump Bump) -> Self {
        Vec(Inner::new_in(bump))
    }

    /// An empty vector in `bump` with room for `capacity` elements.
    #[inline]
    pub fn with_capacity_in(capacity: usize, bump: &'bump Bump) -> Self {
        Vec(Inner::with_capacity_in(capacity, bump))
    }

    /// Appends `value`, growing (out of line) when the vector is full.
    #[inline]
    pub fn push(&mut self, value: T) {
        if self.0.len() == self.0.capacity() {
            grow_one(&mut self.0);
        }
        // There is room now (`reserve` panics or aborts when it cannot make it).
        let pushed = self.0.push_within_capacity(value);
        debug_assert!(pushed.is_ok());
    }

    /// The wrapped allocator-api2 vector.
    pub fn into_inner(self) -> Inner<'bump, T> {
        self.0
    }
}

/// The rare half of [`Vec::push`]: room for one more, by std's amortized rule. It takes no
/// value: moving the element through the call instead cost a vector of vectors (`tree/2` of
/// the bench, each inner vector growing once from empty) about 20% of its time.
#[cold]
#[inline(never)]
fn grow_one<T>(v: &mut Inner<'_, T>) {
    v.reserve(1);
}

impl<'bump, T> From<Inner<'bump, T>> for Vec<'bump, T> {
    fn from(v: Inner<'bump, T>) -> Self {
        Vec(v)
    }
}

impl<'bump, T> Deref for Vec<'bump, T> {
    type Target = Inner<'bump, T>;
    #[inline]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> DerefMut for Vec<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<'bump, T> IntoIterator for Vec<'bump, T> {
    type Item = T;
    type IntoIter = allocator_api2::vec::IntoIter<T, &'bump Bump>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Vec<'_, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Vec<'_, T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

impl<T> Extend<T> for Vec<'_, T> {
    #[inline]
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<'a, T: Copy + 'a> Extend<&'a T> for Vec<'_, T> {
    #[inline]
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, iter: I) {
        self.0.extend(iter.into_iter().copied());
    }
}

impl<T: Clone> Clone for Vec<'_, T> {
    fn clone(&self) -> Self {
        Vec(self.0.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for Vec<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0[..], f)
    }
}

impl<T: Hash> Hash for Vec<'_, T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0[..].hash(state);
    }
}

impl<T: PartialEq<U>, U> PartialEq<Vec<'_, U>> for Vec<'_, T> {
    #[inline]
    fn eq(&self, other: &Vec<'_, U>) -> bool {
        self.0[..] == other.0[..]
    }
}

impl<T: PartialEq<U>, U> PartialEq<[U]> for Vec<'_, T> {
    #[inline]
    fn eq(&self, other: &[U]) -> bool {
        self.0[..] == *other
    }
}

impl<T: PartialEq<U>, U> PartialEq<&[U]> for Vec<'_, T> {
    #[inline]
    fn eq(&self, other: &&[U]) -> bool {
        self.0[..] == **other
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<[U; N]> for Vec<'_, T> {
    #[inline]
    fn eq(&self, other: &[U; N]) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: PartialEq<U>, U> PartialEq<std::vec::Vec<U>> for Vec<'_, T> {
    #[inline]
    fn eq(&self, other: &std::vec::Vec<U>) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: Eq> Eq for Vec<'_, T> {}

impl<T: PartialOrd> PartialOrd for Vec<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.0[..].partial_cmp(&other.0[..])
    }
}

impl<T: Ord> Ord for Vec<'_, T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0[..].cmp(&other.0[..])
    }
}

impl<T> AsRef<[T]> for Vec<'_, T> {
    fn as_ref(&self) -> &[T] {
        &self.0
    }
}

impl<T> AsMut<[T]> for Vec<'_, T> {
    fn as_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T> Borrow<[T]> for Vec<'_, T> {
    fn borrow(&self) -> &[T] {
        &self.0
    }
}

impl<T> BorrowMut<[T]> for Vec<'_, T> {
    fn borrow_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Counted;
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn push_grows_past_any_capacity_and_keeps_order() {
        let bump = Bump::new();
        for start in [0, 1, 3] {
            let mut v = Vec::with_capacity_in(start, &bump);
            for i in 0..1000u32 {
                v.push(i);
            }
            assert_eq!(v.len(), 1000);
            assert!(v.iter().copied().eq(0..1000));
        }
        let mut v = Vec::new_in(&bump);
        v.push(String::from("a"));
        v.push(String::from("b"));
        assert_eq!(v, ["a", "b"]);
    }

    #[test]
    fn every_element_drops_once_whether_iterated_or_not() {
        let drops = Rc::new(Cell::new(0));
        let bump = Bump::new();
        let mut v = Vec::new_in(&bump);
        for _ in 0..10 {
            v.push(Counted(drops.clone()));
        }
        let mut it = v.into_iter();
        drop(it.next());
        assert_eq!(drops.get(), 1);
        drop(it);
        assert_eq!(drops.get(), 10);
    }

    #[test]
    fn reads_like_std_vec_through_its_traits() {
        let bump = Bump::new();
        let mut v = Vec::new_in(&bump);
        v.extend([3, 1, 2]);
        v.extend(&[5, 4]);
        let total: i32 = (&v).into_iter().sum();
        assert_eq!(total, 15);
        for x in &mut v {
            *x *= 2;
        }
        v.sort();
        assert_eq!(v, std::vec![2, 4, 6, 8, 10]);
        assert_eq!(format!("{v:?}"), "[2, 4, 6, 8, 10]");
        let w = v.clone();
        assert!(v == w && v <= w);
        let slice: &[i32] = &v;
        assert_eq!(slice[1..3], [4, 6]);
        assert_eq!(v[0], 2);
        assert_eq!(v.into_inner().len(), 5);
    }
}
