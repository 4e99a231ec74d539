//! [`Trace`]: how the collector finds the `Gc` handles a value holds, and the impls for
//! std's types.
//!
//! Invariant (the trait's contract, which the collector's soundness rests on): a value
//! reports each handle it owns at most once and creates or drops none while tracing; and
//! `ACYCLIC` is true only for types that report no handle (a wrong `true` is a leak, not a
//! bug: see the constant).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

pub use crate::object::Tracer;

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
    /// True when a value of this type reports no handle, so that an object holding one
    /// can never lie on a cycle: the collector never considers it a possible root of a
    /// garbage cycle, nor examines it (Bacon and Rajan's "green" objects). The derive
    /// computes it from the fields. Claiming it wrongly for a type that reports handles
    /// is not unsafe, only a leak: cycles through such objects are never collected.
    const ACYCLIC: bool = false;

    fn trace(&self, tracer: &mut Tracer);
}

macro_rules! no_handles {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: these types hold no `Gc` handle.
            unsafe impl Trace for $t {
                const ACYCLIC: bool = true;
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
    const ACYCLIC: bool = true;
    fn trace(&self, _: &mut Tracer) {}
}

// SAFETY: a `Copy` type cannot hold a `Gc` (which is not `Copy`).
unsafe impl<T: Copy> Trace for Cell<T> {
    const ACYCLIC: bool = true;
    fn trace(&self, _: &mut Tracer) {}
}

// SAFETY: `Rc` and `Arc` contents may be shared with code outside the heap, so reporting
// their handles from each owner could count one handle several times. Reporting none is
// the safe side: objects held only through an `Rc` are kept (see the trait's contract).
unsafe impl<T: ?Sized> Trace for std::rc::Rc<T> {
    const ACYCLIC: bool = true;
    fn trace(&self, _: &mut Tracer) {}
}
// SAFETY: as for `Rc`.
unsafe impl<T: ?Sized> Trace for std::sync::Arc<T> {
    const ACYCLIC: bool = true;
    fn trace(&self, _: &mut Tracer) {}
}

// SAFETY: the box owns its value and reports what the value reports.
unsafe impl<T: Trace + ?Sized> Trace for Box<T> {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        (**self).trace(tracer);
    }
}

// SAFETY: each element is owned once and reported once.
unsafe impl<T: Trace> Trace for [T] {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

// SAFETY: as for slices.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer);
    }
}

// SAFETY: as for slices.
unsafe impl<T: Trace> Trace for Vec<T> {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer);
    }
}

// SAFETY: each element is owned once and reported once.
unsafe impl<T: Trace> Trace for VecDeque<T> {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

// SAFETY: the contents, if any, are owned once and reported once.
unsafe impl<T: Trace> Trace for Option<T> {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(x) = self {
            x.trace(tracer);
        }
    }
}

// SAFETY: as for `Option`.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const ACYCLIC: bool = T::ACYCLIC && E::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        match self {
            Ok(x) => x.trace(tracer),
            Err(e) => e.trace(tracer),
        }
    }
}

// SAFETY: keys and values are owned once and reported once.
unsafe impl<K: Trace, V: Trace, S> Trace for HashMap<K, V, S> {
    const ACYCLIC: bool = K::ACYCLIC && V::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        for (k, v) in self {
            k.trace(tracer);
            v.trace(tracer);
        }
    }
}

// SAFETY: as for `HashMap`.
unsafe impl<K: Trace, V: Trace> Trace for BTreeMap<K, V> {
    const ACYCLIC: bool = K::ACYCLIC && V::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        for (k, v) in self {
            k.trace(tracer);
            v.trace(tracer);
        }
    }
}

// SAFETY: each element is owned once and reported once.
unsafe impl<T: Trace, S> Trace for HashSet<T, S> {
    const ACYCLIC: bool = T::ACYCLIC;
    fn trace(&self, tracer: &mut Tracer) {
        for x in self {
            x.trace(tracer);
        }
    }
}

// SAFETY: as for `HashSet`.
unsafe impl<T: Trace> Trace for BTreeSet<T> {
    const ACYCLIC: bool = T::ACYCLIC;
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
                const ACYCLIC: bool = true $(&& $name::ACYCLIC)+;
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
