// Items that another macro builds from fragments get the same checks as items written out.
// Where the attribute cannot read such an item, an option that makes a promise
// (`deny_escape`, `gc`) is an error rather than a silent pass.

macro_rules! build {
    ($len:expr) => {
        #[gomem::escape(deny_escape)]
        fn build() -> Vec<u32> {
            let v = vec![0; $len + 1];
            v
        }
    };
}
build!(2 * 3);

pub trait Area {
    fn area(&self) -> u32;
}

pub struct Square(u32);

pub trait Scaled<T> {
    fn scaled(&self, by: T) -> T;
}

// A plain path comes through as written, so this impl is checked.
macro_rules! area {
    ($t:path) => {
        #[gomem::escape(deny_escape)]
        impl $t for Square {
            fn area(&self) -> u32 {
                let sides = vec![self.0; 2];
                sides.iter().product()
            }
        }
    };
}
area!(crate::Area);

// A path with generics could regroup with what is next to it, so it is printed in
// parentheses to keep it whole; after `impl` that no longer parses as a trait, and
// `deny_escape` cannot keep its promise.
macro_rules! scaled {
    ($t:path) => {
        #[gomem::escape(deny_escape)]
        impl $t for Square {
            fn scaled(&self, by: u32) -> u32 {
                let sides = vec![self.0 * by; 2];
                sides.iter().product()
            }
        }
    };
}
scaled!(crate::Scaled<u32>);

fn main() {
    build();
    Square(2).area();
    Square(2).scaled(3);
}
