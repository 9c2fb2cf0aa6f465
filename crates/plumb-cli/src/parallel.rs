//! Work on every item of a list, on all cores.
//!
//! Each thread takes the next item no thread has taken yet, rather than a fixed share:
//! files of one size still differ in cost (the first to ask for a shared import analyses
//! it, a file's checks depend on what it holds), and with a fixed share the thread that
//! drew the dearer half ran alone for a fifth of a 5,000-job check.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Deeply nested input recurses: the work runs on threads with a large stack (only
/// what is touched is ever committed), so a hostile file gets a diagnostic, not a crash.
pub(crate) const WORKER_STACK: usize = 512 * 1024 * 1024;

/// The cores this process may use, asked once: the standard library reads the cgroup's
/// quota files on every call.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `work(handle, item)` for every item, in the items' order. The calling thread works
/// with `handle`; every other thread with its own clone of it (a database handle is
/// `Send` but is asked from one thread at a time). An item whose thread could not start
/// or panicked is `None`: the caller does it again on its own thread.
pub(crate) fn map<T, R, H>(
    items: &[T],
    handle: &H,
    work: impl Fn(&H, &T) -> R + Sync,
) -> Vec<Option<R>>
where
    T: Sync,
    R: Send,
    H: Clone + Send,
{
    let threads = cores().min(items.len()).max(1);
    let next = AtomicUsize::new(0);
    let take_until_none_left = |h: &H| -> Vec<(usize, R)> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, work(h, item)));
        }
    };
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let take = &take_until_none_left;
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                let own = handle.clone();
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, move || take(&own))
                    .ok()
            })
            .collect();
        // this thread (started with the same large stack) works too: one thread fewer to
        // start, and it reuses the memory it freed before
        let mine = take(handle);
        let theirs = helpers.into_iter().filter_map(|h| h.join().ok());
        for (i, r) in std::iter::once(mine).chain(theirs).flatten() {
            results[i] = Some(r);
        }
    });
    results
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_item_is_done_once_and_in_order() {
        let items: Vec<u32> = (0..1000).collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let out = super::map(&items, &(), |_, x| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            x * 2
        });
        assert_eq!(calls.into_inner(), 1000);
        let doubled: Vec<u32> = out.into_iter().map(|r| r.unwrap_or(u32::MAX)).collect();
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn no_items_no_threads() {
        let out = super::map(&[] as &[u8], &(), |_, x| *x);
        assert!(out.is_empty());
    }
}
