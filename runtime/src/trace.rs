//! [`Trace`]: how the collector finds the `Gc` handles a value holds.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ptr::NonNull;

use crate::heap::Header;

/// A type whose `Gc` handles the collector can enumerate.
///
/// Derive it: `#[derive(gomem::Trace)]` works for structs and enums, generics included, and
/// `#[gomem(skip)]` on a field leaves it out (which is always safe: see below).
///
/// # Safety
///
/// `trace` must report each `Gc` handle the value owns at most once, by calling `trace` on
/// it (or on a value that holds it), and must not create or drop handles. Reporting a
/// handle twice, or one the value does not own, can make the collector free a live object.
/// Reporting fewer handles than the value owns is safe: the objects they point to are then
/// kept alive as if held from outside the heap.
///
/// Handles that can change while the value is shared (interior mutability) must sit in a
/// [`GcCell`](crate::GcCell), whose write barrier tells a running collection what is taken
/// out. A type that changes its handles in any other way (a `RefCell`, a `Mutex`) must
/// report none of them: the incremental collector would miss a handle moved out of it
/// between two of its steps. That is why `std::cell::RefCell` does not implement `Trace`.
pub unsafe trait Trace {
    fn trace(&self, tracer: &mut Tracer);
}

/// Receives the handles [`Trace::trace`] reports.
pub struct Tracer {
    pub(crate) mode: Mode,
    /// The mark bit's meaning in the running cycle (see `Header::is_marked`).
    pub(crate) epoch: bool,
    /// In [`Mode::Mark`], objects marked live but not traced yet (grey).
    pub(crate) stack: Vec<NonNull<Header>>,
    /// In [`Mode::Mark`], the bytes of the objects marked.
    pub(crate) marked_bytes: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Count each object's handles held inside the heap (in its header, which keeps the
    /// count from the count phase to the root scan; see `heap.rs`).
    CountInternal,
    /// Mark what the reported handles point to as live.
    Mark,
}

impl Tracer {
    pub(crate) fn new(mode: Mode, epoch: bool) -> Tracer {
        Tracer {
            mode,
            epoch,
            stack: Vec::new(),
            marked_bytes: 0,
        }
    }

    /// Reports one handle to the object `header`.
    pub(crate) fn edge(&mut self, header: NonNull<Header>) {
        // SAFETY: a handle keeps its object's header allocated (its count is part of the
        // object's strong count), and the collector runs on the heap's own thread.
        let h = unsafe { header.as_ref() };
        // Objects born during the cycle are marked, and those off the heap need nothing.
        if h.is_marked(self.epoch) || h.is_untracked() {
            return;
        }
        match self.mode {
            Mode::CountInternal => h.count_one(),
            Mode::Mark => {
                // Unmarked, so on the heap since before the cycle began.
                h.set_marked(self.epoch);
                self.marked_bytes += h.vtable.layout.size();
                self.stack.push(header);
            }
        }
    }
}

macro_rules! no_handles {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: these types hold no `Gc` handle.
            unsafe impl Trace for $t {
                #[inline]
                fn trace(&self, _: &mut Tracer) {}
            }
        )*
    };
}

no_handles!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    str,
    std::path::PathBuf,
    std::time::Duration,
    std::time::Instant,
);

// SAFETY: `PhantomData` holds nothing.
unsafe impl<T: ?Sized> Trace for std::marker::PhantomData<T> {
    fn trace(&self, _: &mut Tracer) {}
}

// SAFETY: a `Copy` type cannot hold a `Gc` (which is not `Copy`).
unsafe impl<T: Copy> Trace for Cell<T> {
    fn trace(&self, _: &mut Tracer) {}
}

// SAFETY: `Rc` and `Arc` contents may be shared with code outside the heap, so reporting
// their handles from each owner could count one handle several times. Reporting none is
// the safe side: objects held only through an `Rc` are kept (see the trait's contract).
unsafe impl<T: ?Sized> Trace for std::rc::Rc<T> {
    fn trace(&self, _: &mut Tracer) {}
}
// SAFETY: as for `Rc`.
unsafe impl<T: ?Sized> Trace for std::sync::Arc<T> {
    fn trace(&self, _: &mut Tracer) {}
}

// SAFETY: the box owns its value and reports what the value reports.
unsafe impl<T: Trace + ?Sized> Trace for Box<T> {
    fn trace(&self, tracer: &mut Tracer) {
        (**self).trace(tracer);
    }
}

// SAFETY: each element is owned once and reported once.
unsafe impl<T: Trace> Trace for [T] {
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

// SAFETY: as for slices.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer);
    }
}

// SAFETY: as for slices.
unsafe impl<T: Trace> Trace for Vec<T> {
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer);
    }
}

// SAFETY: each element is owned once and reported once.
unsafe impl<T: Trace> Trace for VecDeque<T> {
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

// SAFETY: the contents, if any, are owned once and reported once.
unsafe impl<T: Trace> Trace for Option<T> {
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(x) = self {
            x.trace(tracer);
        }
    }
}

// SAFETY: as for `Option`.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    fn trace(&self, tracer: &mut Tracer) {
        match self {
            Ok(x) => x.trace(tracer),
            Err(e) => e.trace(tracer),
        }
    }
}

// SAFETY: keys and values are owned once and reported once.
unsafe impl<K: Trace, V: Trace, S> Trace for HashMap<K, V, S> {
    fn trace(&self, tracer: &mut Tracer) {
        for (k, v) in self {
            k.trace(tracer);
            v.trace(tracer);
        }
    }
}

// SAFETY: as for `HashMap`.
unsafe impl<K: Trace, V: Trace> Trace for BTreeMap<K, V> {
    fn trace(&self, tracer: &mut Tracer) {
        for (k, v) in self {
            k.trace(tracer);
            v.trace(tracer);
        }
    }
}

// SAFETY: each element is owned once and reported once.
unsafe impl<T: Trace, S> Trace for HashSet<T, S> {
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

// SAFETY: as for `HashSet`.
unsafe impl<T: Trace> Trace for BTreeSet<T> {
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

macro_rules! tuples {
    ($(($($name:ident),+))*) => {
        $(
            // SAFETY: each field is owned once and reported once.
            unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
                #[allow(non_snake_case)]
                fn trace(&self, tracer: &mut Tracer) {
                    let ($($name,)+) = self;
                    $($name.trace(tracer);)+
                }
            }
        )*
    };
}

tuples! {
    (A)
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
    (A, B, C, D, E, F, G)
    (A, B, C, D, E, F, G, H)
}
