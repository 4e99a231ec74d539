//! The node of the `pauses` example's ring and of the garbage it makes, shared with
//! `garbage_cost`, which measures what collecting these same nodes costs per object.

use gomem::Trace;
use gomem::{Gc, GcCell};

#[derive(Trace)]
pub struct Node {
    pub id: u64,
    pub next: GcCell<Option<Gc<Node>>>,
    pub prev: GcCell<Option<Gc<Node>>>,
    /// Replaced now and then, so the ring's objects are changed in the middle of cycles.
    pub extra: GcCell<Option<Gc<Node>>>,
}

/// A node with no links yet.
pub fn node(id: u64) -> Gc<Node> {
    Gc::new(Node {
        id,
        next: GcCell::new(None),
        prev: GcCell::new(None),
        extra: GcCell::new(None),
    })
}
