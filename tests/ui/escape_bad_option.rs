#[gomem::escape(deny_escapes)]
fn f() -> usize {
    let v = vec![1];
    v.len()
}

fn main() {
    f();
}
