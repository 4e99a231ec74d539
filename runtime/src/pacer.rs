//! Pacing: when the next full collection cycle starts, as Go paces its collector.
//!
//! The heap goal is the live heap the last full cycle left plus `GOGC` percent
//! (`GOMEM_GOGC`, `set_gc_percent`; default 100, negative turns it off), with a 4 MiB
//! minimum; a soft limit (`set_memory_limit`) brings it down. A cycle starts at the trigger,
//! a quarter of the growth before the goal, and its work is spread over that runway.
//! Young cycles are not paced by the heap: they start when enough candidates wait
//! (`heap.rs`), and leave the goal alone.
//!
//! Invariant: `trigger <= goal`, and the runway is at least 1 MiB.

use std::cell::Cell;

/// Go's minimum heap goal: below this, collecting is not worth it.
pub(crate) const MIN_GOAL: usize = 4 << 20;

pub(crate) struct Pacer {
    /// Go's GOGC: a negative value turns pacing off.
    pub gc_percent: Cell<i64>,
    /// A soft limit on the heap, in bytes; 0 when none.
    pub memory_limit: Cell<usize>,
    /// The heap size the next full cycle should end by.
    pub goal: Cell<usize>,
    /// The heap size at which the next full cycle starts: a quarter of the growth before
    /// the goal, so that the cycle's work is spread over the allocation in between and the
    /// heap peaks near the goal (Go's trigger).
    pub trigger: Cell<usize>,
    /// How much allocation a full cycle's work is spread over.
    pub runway: Cell<usize>,
}

impl Pacer {
    pub fn new() -> Pacer {
        let gc_percent = std::env::var("GOMEM_GOGC")
            .ok()
            .and_then(|v| {
                if v.eq_ignore_ascii_case("off") {
                    Some(-1)
                } else {
                    v.trim().parse().ok()
                }
            })
            .unwrap_or(100);
        Pacer {
            gc_percent: Cell::new(gc_percent),
            memory_limit: Cell::new(0),
            goal: Cell::new(MIN_GOAL),
            trigger: Cell::new(MIN_GOAL - MIN_GOAL / 4),
            runway: Cell::new(MIN_GOAL / 4),
        }
    }

    /// Sets the goal and trigger of the next full cycle, for a live heap of `live` bytes.
    pub fn set_goal(&self, live: usize) {
        let goal = self.goal_after(live);
        let runway = (goal.saturating_sub(live) / 4).max(1 << 20);
        self.goal.set(goal);
        self.runway.set(runway);
        self.trigger.set(goal.saturating_sub(runway));
    }

    /// The heap goal after a cycle that left `live` bytes.
    fn goal_after(&self, live: usize) -> usize {
        let percent = self.gc_percent.get();
        let mut goal = if percent < 0 {
            usize::MAX
        } else {
            let grown = (live as u128 * (100 + percent as u128) / 100) as usize;
            grown.max(MIN_GOAL)
        };
        let limit = self.memory_limit.get();
        if limit > 0 {
            goal = goal.min(limit.max(live + live / 16));
        }
        goal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_goal_is_gogc_percent_above_the_live_heap_and_the_trigger_a_runway_below() {
        let p = Pacer::new();
        p.gc_percent.set(100);
        p.set_goal(100 << 20);
        assert_eq!(p.goal.get(), 200 << 20);
        assert_eq!(p.trigger.get(), 175 << 20);
        p.set_goal(0);
        assert_eq!(p.goal.get(), MIN_GOAL);
        p.memory_limit.set(150 << 20);
        p.set_goal(100 << 20);
        assert_eq!(p.goal.get(), 150 << 20);
        p.gc_percent.set(-1);
        p.memory_limit.set(0);
        p.set_goal(100 << 20);
        assert_eq!(p.goal.get(), usize::MAX);
    }
}
