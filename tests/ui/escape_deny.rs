use std::sync::Mutex;

static CACHE: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[gomem::escape(deny_escape)]
fn hot(n: usize) -> usize {
    let scratch = vec![0u8; n];
    let name = format!("item {n}");
    CACHE.lock().unwrap().push(name);
    scratch.len()
}

#[gomem::escape(deny_escape)]
fn build(n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    out.push(n);
    out
}

fn main() {
    hot(1);
    build(1);
}
