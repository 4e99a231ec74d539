//! [`GcCell`]: mutation of traced data.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::trace::{Trace, Tracer};

/// A `RefCell` for values on the collected heap: `borrow()` and `borrow_mut()`, checked at
/// run time. While it is mutably borrowed the collector does not read it: a collection that
/// meets it gives up and frees nothing (the value may hold handles that are being moved).
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

    /// Replaces the value, returning the old one.
    pub fn replace(&self, value: T) -> T {
        self.inner.replace(value)
    }
}

impl<T: ?Sized> GcCell<T> {
    /// # Panics
    /// If the value is mutably borrowed.
    pub fn borrow(&self) -> GcCellRef<'_, T> {
        self.inner.borrow()
    }

    /// # Panics
    /// If the value is borrowed.
    pub fn borrow_mut(&self) -> GcCellRefMut<'_, T> {
        GcCellRefMut {
            inner: self.inner.borrow_mut(),
        }
    }

    pub fn try_borrow(&self) -> Option<GcCellRef<'_, T>> {
        self.inner.try_borrow().ok()
    }

    pub fn try_borrow_mut(&self) -> Option<GcCellRefMut<'_, T>> {
        self.inner
            .try_borrow_mut()
            .ok()
            .map(|inner| GcCellRefMut { inner })
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

// SAFETY: reports the value's handles when it can be read; a mutably borrowed cell makes the
// collection give up, so its handles are never missed by a collection that frees anything.
unsafe impl<T: Trace + ?Sized> Trace for GcCell<T> {
    fn trace(&self, tracer: &mut Tracer) {
        self.inner.trace(tracer);
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
