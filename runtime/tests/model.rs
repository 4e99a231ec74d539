//! Model-based test: random object graphs with cycles, random root drops, random rewiring
//! through `GcCell`, and collections at random points, whole or a few steps of an
//! incremental cycle at a time (so the program changes the graph in the middle of cycles). Afterwards every object the model
//! says is reachable is intact, and every other one was dropped exactly once.

extern crate gomem_runtime as gomem;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use gomem::{collect, Gc, GcCell, Trace, Tracer};
use gomem_macros::Trace;
use proptest::prelude::*;

thread_local! {
    /// How many times each object id was dropped.
    static DROPPED: RefCell<HashMap<usize, usize>> = RefCell::new(HashMap::new());
}

struct Id(usize);

impl Drop for Id {
    fn drop(&mut self) {
        DROPPED.with(|d| *d.borrow_mut().entry(self.0).or_default() += 1);
    }
}

// SAFETY: holds no handle.
unsafe impl Trace for Id {
    fn trace(&self, _: &mut Tracer) {}
}

#[derive(Trace)]
struct Obj {
    id: Id,
    edges: GcCell<Vec<Gc<Obj>>>,
}

#[derive(Clone, Debug)]
enum Op {
    New,
    DropRoot(usize),
    Link(usize, usize),
    Unlink(usize),
    /// Moves a handle out of an object's cell into the roots.
    Adopt(usize),
    /// Empties an object's cell with `GcCell::take`.
    Take(usize),
    /// Moves a root's handle into an object's cell, with no drop (so no candidate: the
    /// object may become garbage with no candidate of its own).
    Give(usize, usize),
    /// Clones a handle to a reachable object and drops it (a temporary handle, like a
    /// cursor's): the object becomes a candidate with no change to the graph. Candidates
    /// that reach each other make a cycle reach a candidate through another before it
    /// takes it, which is where a handle lost in between once left garbage unbuffered.
    Touch(usize),
    Collect,
    /// A few units of an incremental cycle (full or young), interleaved with the other
    /// operations.
    Step(usize, bool),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(Op::New),
            2 => any::<usize>().prop_map(Op::DropRoot),
            4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Link(a, b)),
            1 => any::<usize>().prop_map(Op::Unlink),
            1 => any::<usize>().prop_map(Op::Adopt),
            1 => any::<usize>().prop_map(Op::Take),
            2 => (any::<usize>(), any::<usize>()).prop_map(|(r, a)| Op::Give(r, a)),
            3 => any::<usize>().prop_map(Op::Touch),
            1 => Just(Op::Collect),
            4 => (1..12usize, any::<bool>()).prop_map(|(n, full)| Op::Step(n, full)),
            2 => (1..4usize, any::<bool>()).prop_map(|(n, full)| Op::Step(n, full)),
        ],
        1..80,
    )
}

/// Calls `f` on the `k`-th object reachable from `roots` (depth first, `k` modulo how many
/// are reachable), without cloning a handle on the way: clones and drops make the collector
/// shade objects, which would hide a missing write barrier in `GcCell`.
fn with_reachable<R>(roots: &[Gc<Obj>], k: usize, f: impl FnOnce(&Gc<Obj>) -> R) -> Option<R> {
    fn walk(
        o: &Gc<Obj>,
        seen: &mut BTreeSet<usize>,
        visit: &mut dyn FnMut(&Gc<Obj>) -> bool,
    ) -> bool {
        if !seen.insert(o.id.0) {
            return false;
        }
        if visit(o) {
            return true;
        }
        let edges = o.edges.borrow();
        edges.iter().any(|e| walk(e, seen, visit))
    }
    let mut count = 0;
    let mut seen = BTreeSet::new();
    for r in roots {
        walk(r, &mut seen, &mut |_| {
            count += 1;
            false
        });
    }
    if count == 0 {
        return None;
    }
    let target = k % count;
    let (mut i, mut f, mut out) = (0, Some(f), None);
    let mut seen = BTreeSet::new();
    for r in roots {
        let found = walk(r, &mut seen, &mut |o| {
            if i == target {
                out = Some((f.take().expect("called once"))(o));
                return true;
            }
            i += 1;
            false
        });
        if found {
            break;
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1024), ..ProptestConfig::default() })]

    #[test]
    fn collector_matches_the_model(ops in ops()) {
        DROPPED.with(|d| d.borrow_mut().clear());
        let mut next_id = 0;
        // The real graph: roots held in a Vec; every object reachable by id for rewiring.
        let mut roots: Vec<Gc<Obj>> = Vec::new();
        // The model: edges by id, and which ids are roots.
        let mut edges: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut root_ids: Vec<usize> = Vec::new();
        // Objects reachable from the roots, to pick from for links.
        let reachable = |roots: &[Gc<Obj>]| {
            let mut seen = BTreeSet::new();
            let mut out = Vec::new();
            let mut stack: Vec<Gc<Obj>> = roots.to_vec();
            while let Some(o) = stack.pop() {
                if seen.insert(o.id.0) {
                    stack.extend(o.edges.borrow().iter().cloned());
                    out.push(o);
                }
            }
            out
        };
        for op in ops {
            match op {
                Op::New => {
                    let o = Gc::new(Obj { id: Id(next_id), edges: GcCell::new(Vec::new()) });
                    edges.insert(next_id, Vec::new());
                    root_ids.push(next_id);
                    roots.push(o);
                    next_id += 1;
                }
                Op::DropRoot(i) if !roots.is_empty() => {
                    let i = i % roots.len();
                    roots.remove(i);
                    root_ids.remove(i);
                }
                Op::Link(a, b) => {
                    if let Some(y) = with_reachable(&roots, b, |y| y.clone()) {
                        let (x, y_id) = (a, y.id.0);
                        let x_id = with_reachable(&roots, x, |x| {
                            x.edges.borrow_mut().push(y);
                            x.id.0
                        });
                        edges.get_mut(&x_id.unwrap()).unwrap().push(y_id);
                    }
                }
                Op::Unlink(a) => {
                    let unlinked = with_reachable(&roots, a, |x| {
                        x.edges.borrow_mut().pop().map(|_| x.id.0)
                    });
                    if let Some(Some(x_id)) = unlinked {
                        edges.get_mut(&x_id).unwrap().pop();
                    }
                }
                Op::Adopt(a) => {
                    let taken = with_reachable(&roots, a, |x| {
                        x.edges.borrow_mut().pop().map(|y| (x.id.0, y))
                    });
                    if let Some(Some((x_id, y))) = taken {
                        edges.get_mut(&x_id).unwrap().pop();
                        root_ids.push(y.id.0);
                        roots.push(y);
                    }
                }
                Op::Take(a) => {
                    if let Some(x_id) = with_reachable(&roots, a, |x| {
                        drop(x.edges.take());
                        x.id.0
                    }) {
                        edges.get_mut(&x_id).unwrap().clear();
                    }
                }
                Op::Give(r, a) if !roots.is_empty() => {
                    let r = r % roots.len();
                    let given = roots.remove(r);
                    let y_id = root_ids.remove(r);
                    // Pick the receiver among what stays reachable, or what the handle
                    // reaches itself.
                    let x_id = with_reachable(&roots, a, |x| x.id.0)
                        .unwrap_or(y_id);
                    let mut given = Some(given);
                    let placed = with_reachable(&roots, a, |x| {
                        x.edges.borrow_mut().push(given.take().expect("once"));
                    });
                    if placed.is_none() {
                        let g = given.take().expect("not placed");
                        g.edges.borrow_mut().push(g.clone());
                        // `g` itself is dropped: a self-loop left as garbage.
                        edges.get_mut(&y_id).unwrap().push(y_id);
                    } else {
                        edges.get_mut(&x_id).unwrap().push(y_id);
                    }
                }
                Op::Touch(a) => {
                    with_reachable(&roots, a, |x| drop(x.clone()));
                }
                Op::Collect => collect(),
                Op::Step(units, full) => gomem::__private::collect_step(units, full),
                _ => {}
            }
        }
        collect();
        // The model's reachable set.
        let mut model_live = BTreeSet::new();
        let mut stack = root_ids.clone();
        while let Some(id) = stack.pop() {
            if model_live.insert(id) {
                stack.extend(edges[&id].iter().copied());
            }
        }
        // Every reachable object is intact and matches the model's edges.
        let live = reachable(&roots);
        let real_live: BTreeSet<usize> = live.iter().map(|o| o.id.0).collect();
        prop_assert_eq!(&real_live, &model_live);
        for o in &live {
            let ids: Vec<usize> = o.edges.borrow().iter().map(|e| e.id.0).collect();
            prop_assert_eq!(&ids, &edges[&o.id.0]);
        }
        drop(live);
        // Every unreachable object was dropped exactly once; no reachable one was.
        let dropped = DROPPED.with(|d| d.borrow().clone());
        for id in 0..next_id {
            let times = dropped.get(&id).copied().unwrap_or(0);
            if model_live.contains(&id) {
                prop_assert_eq!(times, 0, "live object {} was dropped", id);
            } else {
                prop_assert_eq!(times, 1, "dead object {} dropped {} times", id, times);
            }
        }
        drop(roots);
        collect();
        let dropped = DROPPED.with(|d| d.borrow().clone());
        for id in 0..next_id {
            prop_assert_eq!(dropped.get(&id).copied().unwrap_or(0), 1);
        }
    }
}
