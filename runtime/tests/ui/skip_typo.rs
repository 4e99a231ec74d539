extern crate gomem_runtime as gomem;

#[derive(gomem::Trace)]
struct Node {
    #[gomem(skipp)]
    count: u32,
}

fn main() {}
