// The lints that look inside one item run on the annotated item: deny-level findings are
// compile errors (here: a leak on every turn of a loop, and a stack array larger than the
// whole stack of the thread it runs on). Warnings are left to `cargo gomem-lint`.
#[gomem::escape]
fn intern_all(words: &[&str]) -> usize {
    let mut total = 0;
    for w in words {
        let s: &'static str = Box::leak(w.to_string().into_boxed_str());
        total += s.len();
    }
    total
}

#[gomem::escape]
fn spawn_big() -> u8 {
    std::thread::spawn(|| {
        let buf = [0u8; 4 << 20];
        buf[0]
    })
    .join()
    .unwrap()
}

#[gomem::escape]
mod fine {
    // A one-time leak is a warning only; a suppression with a reason silences it anyway.
    #[gomem::allow(leaked_allocation, reason = "lives as long as the program")]
    pub fn config() -> &'static str {
        Box::leak(String::from("x").into_boxed_str())
    }
}

fn main() {
    intern_all(&["a"]);
    spawn_big();
    fine::config();
}
