extern crate gomem_runtime as gomem;

#[derive(gomem_macros::Trace)]
struct Node {
    next: Option<gomem::Gc<Node>>,
}

// A collected cycle's destructors could see their neighbours half-destroyed: not allowed.
impl Drop for Node {
    fn drop(&mut self) {}
}

fn main() {}
