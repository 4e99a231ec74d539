extern crate gomem_runtime as gomem;

fn main() {
    let g = gomem::Gc::new(1u32);
    std::thread::spawn(move || {
        let _ = *g;
    });
}
