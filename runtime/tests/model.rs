//! Model-based test: random object graphs with cycles, random root drops, random rewiring
//! through `GcCell`, and collections at random points. Afterwards every object the model
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
    Collect,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(Op::New),
            2 => any::<usize>().prop_map(Op::DropRoot),
            4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Link(a, b)),
            1 => any::<usize>().prop_map(Op::Unlink),
            1 => Just(Op::Collect),
        ],
        1..80,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256), ..ProptestConfig::default() })]

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
                    let live = reachable(&roots);
                    if !live.is_empty() {
                        let (x, y) = (&live[a % live.len()], &live[b % live.len()]);
                        x.edges.borrow_mut().push(y.clone());
                        edges.get_mut(&x.id.0).unwrap().push(y.id.0);
                    }
                }
                Op::Unlink(a) => {
                    let live = reachable(&roots);
                    if !live.is_empty() {
                        let x = &live[a % live.len()];
                        if x.edges.borrow_mut().pop().is_some() {
                            edges.get_mut(&x.id.0).unwrap().pop();
                        }
                    }
                }
                Op::Collect => collect(),
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
