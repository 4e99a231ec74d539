// `gc` refuses, with the reason at its place, what `Gc` cannot stand in for; the mod is
// then left as written.

#[gomem::escape(gc)]
mod list {
    use std::cell::RefCell;
    use std::rc::{Rc, Weak};

    pub struct Node {
        pub next: Option<Rc<RefCell<Node>>>,
        pub prev: Option<Weak<RefCell<Node>>>,
    }
}

#[gomem::escape(gc)]
fn not_a_mod() -> usize {
    std::rc::Rc::new(1).to_string().len()
}

fn main() {}
