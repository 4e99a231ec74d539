//! Pointers and references: what stays on the stack and what goes to the heap.
//!
//! The Go talk shows that returning a pointer to a local makes Go move it to the heap
//! ("moved to heap: x"), while passing a pointer down keeps it on the stack. In Rust the
//! choice is spelled out: a reference cannot outlive what it points to, and `Box` is the
//! explicit heap.
//!
//! What gomem says: nothing (nothing here leaks). For Go's escape report, run
//! `cargo gomem-lint --explain-escapes examples/pointers.rs`: the `Box::new` that is
//! returned "escapes to heap", as Go's `-gcflags=-m` says of the returned pointer.

#[derive(Debug)]
struct Point {
    x: i64,
    y: i64,
}

/// Borrows: `p` stays where the caller put it (Go: "p does not escape").
fn length_squared(p: &Point) -> i64 {
    p.x * p.x + p.y * p.y
}

/// Returns a heap value explicitly (Go would say "moved to heap").
fn make_boxed(x: i64, y: i64) -> Box<Point> {
    Box::new(Point { x, y })
}

fn main() {
    let on_stack = Point { x: 3, y: 4 };
    println!("{}", length_squared(&on_stack));
    let on_heap = make_boxed(6, 8);
    println!("{:?} {}", on_heap, length_squared(&on_heap));
}
