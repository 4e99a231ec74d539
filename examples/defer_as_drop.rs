//! Good: Go's `defer` is Rust's `Drop`; cleanup runs on every path out of a scope.
//!
//! In Go, `defer f.Close()` makes sure a resource is released when the function returns. In
//! Rust the value's destructor does that, also on early returns and panics.
//!
//! What gomem says: nothing. Every resource here is released when its owner goes out of scope.

struct Deferred<F: FnMut()>(F);

impl<F: FnMut()> Drop for Deferred<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

fn work(fail: bool) -> Result<(), String> {
    let _cleanup = Deferred(|| println!("cleanup ran"));
    if fail {
        return Err("early return".into()); // cleanup still runs
    }
    println!("work done");
    Ok(())
}

fn main() {
    work(false).unwrap();
    let _ = work(true);
}
