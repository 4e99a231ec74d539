extern crate gomem_runtime as gomem;

fn assert_sync<T: Sync>(_: &T) {}

fn main() {
    let g = gomem::Gc::new(1u32);
    assert_sync(&g);
}
