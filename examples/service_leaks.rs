//! Bad: the slow leaks of a long-running service, each one a lint.
//!
//! Go services leak memory in a few classic ways: a package-level map that only grows, a
//! worker loop that appends forever, doubly-linked structures the runtime cannot free (Rust's
//! `Rc` cannot either), child processes nobody waits for, and memory handed out "just once"
//! on every request. The example runs one short round of each (the endless event loop only
//! with `--forever`), so running it is safe.
//!
//! What gomem says:
//! - `unbounded_global` on `SEEN`: added to in `handle`, never shrunk;
//! - `unbounded_loop_growth` on `history.push`: the event loop never ends and never trims;
//! - `rc_cycle` on `Session`/`User`: strong references both ways, with a `RefCell` to close
//!   the cycle; and again in `main`, where `user.sessions` is given the session that holds
//!   `user`: the line that closes it;
//! - `unwaited_child` on the `spawn` in `notify`: a zombie per notification;
//! - `leaked_allocation` on `Box::leak` in `intern`: a new leak per call.

use std::cell::RefCell;
use std::collections::HashSet;
use std::process::Command;
use std::rc::Rc;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn handle(request_id: &str) {
    SEEN.lock().unwrap().push(request_id.to_string());
}

fn event_loop(events: Receiver<String>) {
    let mut history = Vec::new();
    loop {
        let event = events.recv().unwrap_or_default();
        history.push(event);
    }
}

struct Session {
    user: RefCell<Option<Rc<User>>>,
}

struct User {
    sessions: RefCell<Vec<Rc<Session>>>,
}

fn notify(message: &str) {
    let _ = Command::new("true").arg(message).spawn();
}

fn intern(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

fn main() {
    handle("r1");
    let user = Rc::new(User {
        sessions: RefCell::new(Vec::new()),
    });
    let session = Rc::new(Session {
        user: RefCell::new(Some(user.clone())),
    });
    user.sessions.borrow_mut().push(session.clone());
    assert!(session.user.borrow().is_some());
    notify("deployed");
    let names: HashSet<&'static str> = ["a", "b"].into_iter().map(|n| intern(n.into())).collect();
    println!("{} names, {} seen", names.len(), SEEN.lock().unwrap().len());
    if std::env::args().any(|a| a == "--forever") {
        let (tx, rx) = channel();
        tx.send("started".to_string()).unwrap();
        event_loop(rx);
    }
}
