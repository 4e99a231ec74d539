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
    /// Objects at table indices below this were on the heap when the cycle started.
    pub(crate) snapshot: usize,
    /// In [`Mode::CountInternal`], the handles found so far inside the heap for each object
    /// of the snapshot, by table index. Kept from cycle to cycle, all zero in between
    /// (allocating or zeroing it at the start of a cycle would stop the program for a pass
    /// over it): the root scan zeroes each entry as it reads it ([`Tracer::take_count`]).
    pub(crate) counts: Counts,
    /// In [`Mode::Mark`], objects marked live but not traced yet (grey).
    pub(crate) stack: Vec<NonNull<Header>>,
    /// In [`Mode::Mark`], the bytes of the snapshot objects marked.
    pub(crate) marked_bytes: usize,
}

/// Per-object counts by table index, in fixed chunks. Growing adds chunks and never copies
/// what is there, and new chunks are zeroed a step at a time by the cycle's slices
/// ([`Counts::zero_some`]), so starting a cycle on a grown heap stops the program for no
/// pass over it.
#[derive(Default)]
pub(crate) struct Counts {
    /// Full chunks are zero where not counted; the last ones may still be filling up.
    chunks: Vec<Vec<u32>>,
}

const CHUNK: usize = 1 << 16;

impl Counts {
    /// Makes room for indices below `n`, and gives back chunks far above it.
    pub(crate) fn fit(&mut self, n: usize) {
        let needed = n.div_ceil(CHUNK);
        while self.chunks.len() < needed {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if self.chunks.len() > 2 * needed + 16 {
            self.chunks.truncate(needed);
        }
    }

    /// Zeroes up to `entries` more entries of new chunks; returns whether all are ready.
    pub(crate) fn zero_some(&mut self, entries: usize) -> bool {
        let mut left = entries;
        for chunk in &mut self.chunks {
            if chunk.len() < CHUNK {
                let add = left.min(CHUNK - chunk.len());
                chunk.resize(chunk.len() + add, 0);
                left -= add;
                if left == 0 {
                    return self.chunks.last().is_none_or(|c| c.len() == CHUNK);
                }
            }
        }
        true
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut u32> {
        self.chunks
            .get_mut(index / CHUNK)
            .and_then(|chunk| chunk.get_mut(index % CHUNK))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Count each object's handles held inside the heap.
    CountInternal,
    /// Mark what the reported handles point to as live.
    Mark,
}

impl Tracer {
    pub(crate) fn new(mode: Mode, epoch: bool, snapshot: usize) -> Tracer {
        Tracer {
            mode,
            epoch,
            snapshot,
            counts: Counts::default(),
            stack: Vec::new(),
            marked_bytes: 0,
        }
    }

    /// The handles counted inside the heap for the snapshot object at `index`, leaving zero
    /// in its place for the next cycle.
    pub(crate) fn take_count(&mut self, index: usize) -> usize {
        self.counts
            .get_mut(index)
            .map_or(0, |c| std::mem::take(c) as usize)
    }

    /// Reports one handle to the object `header`.
    pub(crate) fn edge(&mut self, header: NonNull<Header>) {
        // SAFETY: a handle keeps its object's header allocated (its count is part of the
        // object's strong count), and the collector runs on the heap's own thread.
        let h = unsafe { header.as_ref() };
        let Some(index) = h.index() else {
            return; // not on the heap's table: reference-counted only
        };
        if h.is_marked(self.epoch) {
            return;
        }
        match self.mode {
            Mode::CountInternal => {
                if let Some(count) = self.counts.get_mut(index) {
                    *count = count.saturating_add(1);
                }
            }
            Mode::Mark => {
                h.set_marked(self.epoch);
                if index < self.snapshot {
                    self.marked_bytes += h.vtable.size;
                    self.stack.push(header);
                }
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
