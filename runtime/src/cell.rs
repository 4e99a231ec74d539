//! [`GcCell`]: mutation of traced data, with the write barrier the incremental collector
//! needs.
//!
//! Invariant: while a cycle counts or marks, no handle leaves a cell without the members it
//! pointed to being shaded first (`borrow_mut`, `try_borrow_mut` and `replace` shade what the
//! cell holds before handing it out); a mutably borrowed cell reports nothing to the tracer.

use std::cell::{BorrowError, BorrowMutError, Ref, RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::trace::{Trace, Tracer};

/// A `RefCell` for values on the collected heap: `borrow()` and `borrow_mut()`, checked at
/// run time, with the write barrier the incremental collector needs.
///
/// While a collection cycle is under way, `borrow_mut` and `replace` first shade the
/// objects the cell holds (they live through the cycle), so a handle moved out of the cell
/// between two slices of the cycle is never missed. A cell that is mutably borrowed when
/// the collector reaches it is skipped: what it held when the cycle began was either shaded
/// by the barrier (borrowed during the cycle) or never counted as held inside the heap
/// (borrowed since before), which makes the objects it holds roots.
pub struct GcCell<T: ?Sized> {
    inner: RefCell<T>,
}

pub type GcCellRef<'a, T> = Ref<'a, T>;

/// A mutable borrow of a [`GcCell`]'s value.
pub struct GcCellRefMut<'a, T: ?Sized> {
    inner: RefMut<'a, T>,
}

impl<T> GcCell<T> {
    pub fn new(value: T) -> GcCell<T> {
        GcCell {
            inner: RefCell::new(value),
        }
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: Trace> GcCell<T> {
    /// Replaces the value, returning the old one.
    ///
    /// # Panics
    /// If the value is borrowed.
    pub fn replace(&self, value: T) -> T {
        let old = self.inner.replace(value);
        crate::heap::write_barrier(&old);
        old
    }

    /// Takes the value, leaving `T::default()` in its place.
    ///
    /// # Panics
    /// If the value is borrowed.
    pub fn take(&self) -> T
    where
        T: Default,
    {
        self.replace(T::default())
    }

    /// Swaps the values of two cells.
    ///
    /// # Panics
    /// If either value is borrowed.
    pub fn swap(&self, other: &GcCell<T>) {
        // Two `borrow_mut`s: each shades what its cell held, as any mutation does.
        std::mem::swap(&mut *self.borrow_mut(), &mut *other.borrow_mut());
    }
}

impl<T: ?Sized> GcCell<T> {
    /// # Panics
    /// If the value is mutably borrowed.
    pub fn borrow(&self) -> GcCellRef<'_, T> {
        self.inner.borrow()
    }

    /// Like `RefCell::try_borrow`, with the same error.
    pub fn try_borrow(&self) -> Result<GcCellRef<'_, T>, BorrowError> {
        self.inner.try_borrow()
    }

    /// The value, through the cell's exclusive borrow: no other handle can reach the cell,
    /// so nothing is hidden from the collector and no barrier is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Trace + ?Sized> GcCell<T> {
    /// # Panics
    /// If the value is borrowed.
    pub fn borrow_mut(&self) -> GcCellRefMut<'_, T> {
        let inner = self.inner.borrow_mut();
        crate::heap::write_barrier(&*inner);
        GcCellRefMut { inner }
    }

    /// Like `RefCell::try_borrow_mut`, with the same error.
    pub fn try_borrow_mut(&self) -> Result<GcCellRefMut<'_, T>, BorrowMutError> {
        let inner = self.inner.try_borrow_mut()?;
        crate::heap::write_barrier(&*inner);
        Ok(GcCellRefMut { inner })
    }
}

impl<T: ?Sized> Deref for GcCellRefMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for GcCellRefMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

// SAFETY: reports the value's handles once when it can be read. Skipping a mutably borrowed
// cell reports fewer, which the type docs show is safe with the write barrier.
unsafe impl<T: Trace + ?Sized> Trace for GcCell<T> {
    fn trace(&self, tracer: &mut Tracer) {
        if let Ok(value) = self.inner.try_borrow() {
            value.trace(tracer);
        }
    }
}

impl<T: Default> Default for GcCell<T> {
    fn default() -> GcCell<T> {
        GcCell::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.try_borrow() {
            Ok(v) => f.debug_tuple("GcCell").field(&&*v).finish(),
            Err(_) => f.write_str("GcCell(<borrowed>)"),
        }
    }
}
