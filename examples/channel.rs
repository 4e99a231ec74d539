//! Good: a producer thread and a channel, with the thread joined.
//!
//! The Go talk's channel example: a goroutine sends results over a channel and the receiver
//! ranges over it until the sender closes it. In Rust, dropping the `Sender` closes the
//! channel, and joining the thread makes sure it finished.
//!
//! What gomem says: nothing. The producer's handle is joined, so no thread is leaked.

use std::sync::mpsc;
use std::thread;

fn main() {
    let (tx, rx) = mpsc::channel();
    let producer = thread::spawn(move || {
        for i in 0..5 {
            tx.send(i * i).unwrap();
        }
        // `tx` is dropped here, which closes the channel.
    });
    let squares: Vec<i32> = rx.iter().collect();
    producer.join().unwrap();
    println!("{squares:?}");
}
