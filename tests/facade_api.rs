//! Everything the README and the runtime's docs tell users to call is reachable as
//! `gomem::..`, the one crate they depend on (the runtime's own name is an implementation
//! detail): the collector's controls and statistics, the heap profile, and the arena.

use std::io::Write;

#[test]
fn the_runtime_api_is_reachable_through_the_facade() {
    // Controls and statistics.
    let previous = gomem::set_gc_percent(100);
    assert_eq!(gomem::set_gc_percent(previous), 100);
    let limit = gomem::set_memory_limit(usize::MAX);
    gomem::set_memory_limit(limit);
    gomem::collect();
    let stats: gomem::MemStats = gomem::stats();
    assert!(stats.heap_objects < 1 << 20);

    // Heap profiles, as the README's "heap profiles" section writes them.
    gomem::set_mem_profile_rate(1);
    let kept = gomem::Gc::new(gomem::GcCell::new(vec![0u8; 64]));
    let mut profile = Vec::new();
    gomem::write_heap_profile(&mut profile).unwrap();
    gomem::set_mem_profile_rate(0);
    assert!(!profile.is_empty());
    drop(kept);
    std::io::sink().write_all(&profile).unwrap();

    // The arena the attribute rewrites onto.
    let region = gomem::arena::Region::enter();
    let mut v = gomem::arena::Vec::new_in(region.bump());
    v.push(1);
    assert_eq!(v.len(), 1);
}
