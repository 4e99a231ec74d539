// An async fn is analyzed (`deny_escape` applies) but never rewritten: this compiles and
// the future is Send, which a region held across `.await` would not allow.
#[gomem::escape]
async fn total(n: usize) -> usize {
    let v = vec![1usize; n];
    std::future::ready(()).await;
    v.iter().sum()
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(total(3));
}
