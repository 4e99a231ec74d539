extern crate gomem_runtime as gomem;

#[derive(gomem_macros::Trace)]
struct Node {
    #[gomem(skipp)]
    count: u32,
}

fn main() {}
