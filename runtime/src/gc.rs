//! [`Gc<T>`]: a handle to a value on the thread's collected heap.
//!
//! A `Gc` is one count in its object's header: cloning adds one, dropping takes one away.
//! The drop that takes the last frees the object (through the heap, which may make it wait
//! while a collector list pins it); a drop that leaves others tells the heap, which buffers
//! the object as a candidate and runs the deletion barrier (`heap::note_drop`, one load and
//! a test when neither is needed). Invariant: an object's value is read only while its
//! count is above zero and `DROPPED` is not set.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::heap;
use crate::object::{Header, Object, VTable};
use crate::space;
use crate::trace::{Trace, Tracer};

/// An object: its header, then its value.
#[repr(C)]
struct GcBox<T> {
    header: Header,
    value: UnsafeCell<ManuallyDrop<T>>,
}

impl<T: Trace + 'static> GcBox<T> {
    const VTABLE: &'static VTable = &VTable {
        trace: Self::trace,
        drop_value: <Self as Object>::drop_value,
        layout: std::alloc::Layout::new::<GcBox<T>>(),
    };

    /// # Safety
    /// `h` is the header of an allocated `GcBox<T>` whose value is not dropped.
    unsafe fn trace(h: NonNull<Header>, tracer: &mut Tracer) {
        // SAFETY: per the contract; the header is the first field (repr(C)), so the cast
        // gives the box. Tracing only reads the value, and no `&mut` to it exists while the
        // collector runs (mutation goes through cells, whose `Trace` refuses to read them
        // while mutably borrowed).
        let value: &T = unsafe { &*(*h.cast::<GcBox<T>>().as_ptr()).value.get() };
        T::trace(value, tracer);
    }
}

impl<T: 'static> Object for GcBox<T> {
    /// # Safety
    /// `h` is the header of an allocated `GcBox<T>` whose value is not dropped yet, and
    /// which is never read again.
    unsafe fn drop_value(h: NonNull<Header>) {
        // SAFETY: per the contract.
        unsafe { ManuallyDrop::drop(&mut *(*h.cast::<GcBox<T>>().as_ptr()).value.get()) }
    }
}

/// A pointer to a value on the thread's garbage-collected heap.
///
/// Cloning is cheap (a count); the value is freed when the last handle goes, or, if it is
/// part of a cycle, by the next collection that finds the cycle unreachable. `Gc` is neither
/// `Send` nor `Sync`: each thread has its own heap.
pub struct Gc<T: 'static> {
    ptr: NonNull<GcBox<T>>,
    /// `!Send` and `!Sync`: counts and the heap are per thread.
    _not_send: PhantomData<*const ()>,
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` onto the collected heap. May run a collection first (see
    /// [`crate::set_gc_percent`]).
    pub fn new(value: T) -> Gc<T> {
        let layout = GcBox::<T>::VTABLE.layout;
        let class = const { space::small_class(GcBox::<T>::VTABLE.layout) };
        let ptr = heap::allocate(layout, class, move |memory: NonNull<u8>| {
            let object = memory.cast::<GcBox<T>>();
            // SAFETY: `memory` is fresh, suitably sized and aligned for `GcBox<T>`.
            unsafe {
                object.as_ptr().write(GcBox {
                    header: Header::new(GcBox::<T>::VTABLE, T::ACYCLIC),
                    value: UnsafeCell::new(ManuallyDrop::new(value)),
                });
            }
            object.cast()
        });
        Gc {
            ptr: ptr.cast(),
            _not_send: PhantomData,
        }
    }
}

impl<T: 'static> Gc<T> {
    /// Whether two handles point to the same object.
    pub fn ptr_eq(a: &Gc<T>, b: &Gc<T>) -> bool {
        a.ptr == b.ptr
    }

    fn header(&self) -> &Header {
        // SAFETY: this handle's count keeps the object allocated.
        unsafe { &self.ptr.as_ref().header }
    }
}

impl<T: 'static> Clone for Gc<T> {
    fn clone(&self) -> Gc<T> {
        let h = self.header();
        h.inc_strong();
        Gc {
            ptr: self.ptr,
            _not_send: PhantomData,
        }
    }
}

impl<T: 'static> Drop for Gc<T> {
    /// Small enough to inline where a handle goes (as `Rc`'s drop is): a count, a test, and
    /// calls out of line for the rare cases (the last handle, a candidate, a barrier).
    #[inline]
    fn drop(&mut self) {
        let h = self.header();
        if h.dec_strong() == 0 {
            // SAFETY: this was the last handle (the sweep adds a count of its own while it
            // drops a value, so a collection never sees it reach zero under it).
            unsafe { Self::drop_last(self.ptr) };
        } else {
            heap::note_drop(self.ptr.cast());
        }
    }
}

impl<T: 'static> Gc<T> {
    /// # Safety
    /// The last handle to `ptr`'s object went.
    #[inline(never)]
    unsafe fn drop_last(ptr: NonNull<GcBox<T>>) {
        // SAFETY: per the contract.
        unsafe { heap::release::<GcBox<T>>(ptr.cast()) };
    }
}

impl<T: 'static> Deref for Gc<T> {
    type Target = T;

    /// # Panics
    /// If the value was dropped by a collection while this handle was kept by a destructor
    /// outside the collected types (see the crate docs); never returns a dangling reference.
    fn deref(&self) -> &T {
        assert!(
            !self.header().is_dropped(),
            "gomem: this Gc's value was collected (a destructor kept a handle to it)"
        );
        // SAFETY: the object is allocated (this handle's count) and its value not dropped
        // (checked); shared references to it are all anyone gets.
        unsafe { &*self.ptr.as_ref().value.get() }
    }
}

// SAFETY: a `Gc` is one handle, reported once.
unsafe impl<T: 'static> Trace for Gc<T> {
    fn trace(&self, tracer: &mut Tracer) {
        tracer.edge(self.ptr.cast());
    }
}

impl<T: 'static> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: 'static> std::borrow::Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display + 'static> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: 'static> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}

impl<T: PartialEq + 'static> PartialEq for Gc<T> {
    fn eq(&self, other: &Gc<T>) -> bool {
        **self == **other
    }
}

impl<T: Eq + 'static> Eq for Gc<T> {}

impl<T: PartialOrd + 'static> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Gc<T>) -> Option<std::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Ord + 'static> Ord for Gc<T> {
    fn cmp(&self, other: &Gc<T>) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: std::hash::Hash + 'static> std::hash::Hash for Gc<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: Trace + Default + 'static> Default for Gc<T> {
    fn default() -> Gc<T> {
        Gc::new(T::default())
    }
}

impl<T: Trace + 'static> From<T> for Gc<T> {
    fn from(value: T) -> Gc<T> {
        Gc::new(value)
    }
}
