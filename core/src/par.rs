//! Work spread over every core when the `parallel` feature is on (native builds), done in
//! order otherwise (WebAssembly). The one place that knows the difference.

/// How many tasks can run at once: the threads of the pool, or 1 without the `parallel` feature.
pub(crate) fn threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// `f` over every item, results in item order, each item's result its own.
pub(crate) fn map_owned<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        items.into_iter().map(f).collect()
    }
}

/// `f` over every item, results in item order; the first error wins.
pub(crate) fn try_map<T, R, E, F>(items: &[T], f: F) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
    F: Fn(&T) -> Result<R, E> + Sync + Send,
{
    try_map_owned(items.iter().collect(), f)
}

/// `f` over every item, taking each by value (say, a writer that `f` consumes); results in item
/// order. The first error in item order wins, so which error a run reports does not depend on
/// which thread finished first.
pub(crate) fn try_map_owned<T, R, E, F>(items: Vec<T>, f: F) -> Result<Vec<R>, E>
where
    T: Send,
    R: Send,
    E: Send,
    F: Fn(T) -> Result<R, E> + Sync + Send,
{
    map_owned(items, f).into_iter().collect()
}

/// `work` on every item, on every core with the `parallel` feature, and `consume` on the
/// results in item order, each as soon as it and those before it are ready: output that can
/// be streamed (a file being written) goes out while later items are still being worked on.
/// The first error in item order stops the run and is returned.
///
/// `consume` runs on the calling thread, holding no lock: the workers send their results
/// back, and at most [`in_flight`] items are started and not yet consumed, so the results
/// waiting for an earlier one stay few however slow that one is. No thread ever waits for
/// another while holding a pool thread: a caller that is itself a pool thread (a table
/// written while another is) runs pending work while it waits.
pub(crate) fn try_for_each_in_order<T, R, E, W, C>(
    items: Vec<T>,
    work: W,
    consume: C,
) -> Result<(), E>
where
    T: Send,
    R: Send,
    E: Send,
    W: Fn(T) -> Result<R, E> + Sync,
    C: FnMut(R) -> Result<(), E> + Send,
{
    #[cfg(feature = "parallel")]
    {
        use std::collections::BTreeMap;
        use std::sync::mpsc;

        let mut consume = consume;
        let total = items.len();
        let window = in_flight();
        let (sender, results) = mpsc::channel::<(usize, Result<R, E>)>();
        let work = &work;
        rayon::in_place_scope(|scope| {
            let mut items = items.into_iter().enumerate();
            let mut started = 0;
            let mut next = 0;
            let mut ready: BTreeMap<usize, Result<R, E>> = BTreeMap::new();
            while next < total {
                while started < total && started < next + window {
                    let (index, item) = items.next().expect("started < total");
                    let sender = sender.clone();
                    scope.spawn(move |_| {
                        // The receiver outlives the scope: sending cannot fail.
                        let _ = sender.send((index, work(item)));
                    });
                    started += 1;
                }
                let (index, result) = receive(&results);
                ready.insert(index, result);
                while let Some(result) = ready.remove(&next) {
                    next += 1;
                    // The first error in item order ends the run; the scope still waits for
                    // the items already started, whose results are dropped.
                    result.and_then(&mut consume)?;
                }
            }
            Ok(())
        })
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut consume = consume;
        for item in items {
            consume(work(item)?)?;
        }
        Ok(())
    }
}

/// How many items [`try_for_each_in_order`] keeps started and not yet consumed: enough to keep
/// every thread busy while the caller consumes.
#[cfg(feature = "parallel")]
fn in_flight() -> usize {
    threads() * 2
}

/// The next result from the workers. A pool thread runs other pending work while it waits
/// (blocking it could leave the work it waits for with no thread to run on); any other
/// thread just waits.
#[cfg(feature = "parallel")]
fn receive<M>(results: &std::sync::mpsc::Receiver<M>) -> M {
    use std::sync::mpsc::TryRecvError;
    use std::time::Duration;
    if rayon::current_thread_index().is_none() {
        return results
            .recv()
            .expect("a worker holds a sender until it sends");
    }
    loop {
        match results.try_recv() {
            Ok(message) => return message,
            Err(TryRecvError::Disconnected) => {
                unreachable!("a worker holds a sender until it sends")
            }
            Err(TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    if let Ok(message) = results.recv_timeout(Duration::from_micros(200)) {
                        return message;
                    }
                }
            }
        }
    }
}

/// `a` and `b`, side by side when the `parallel` feature is on.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    #[cfg(feature = "parallel")]
    {
        rayon::join(a, b)
    }
    #[cfg(not(feature = "parallel"))]
    {
        (a(), b())
    }
}

pub(crate) fn sort_unstable<T: Ord + Send>(values: &mut [T]) {
    #[cfg(feature = "parallel")]
    {
        use rayon::slice::ParallelSliceMut;
        values.par_sort_unstable();
    }
    #[cfg(not(feature = "parallel"))]
    values.sort_unstable();
}

/// A stable sort by `key`, which finds runs already in order (an adaptive merge sort).
pub(crate) fn sort_stable_by_key<T, K, F>(values: &mut [T], key: F)
where
    T: Send,
    K: Ord,
    F: Fn(&T) -> K + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::slice::ParallelSliceMut;
        values.par_sort_by_key(key);
    }
    #[cfg(not(feature = "parallel"))]
    values.sort_by_key(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Work whose time varies from item to item, so that items finish out of order.
    fn uneven(i: u64) -> u64 {
        for spin in 0..(i * 7919) % 13 * 2_000 {
            std::hint::black_box(spin);
        }
        i
    }

    #[test]
    fn results_are_consumed_in_item_order() {
        let mut seen = Vec::new();
        try_for_each_in_order(
            (0..500).collect(),
            |i| Ok::<_, String>(uneven(i) * 2),
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..500).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_error_in_item_order_stops_the_run() {
        let mut seen = Vec::new();
        let result = try_for_each_in_order(
            (0..500).collect(),
            |i| match i {
                400 | 120 => Err(format!("item {i}")),
                i => Ok(uneven(i)),
            },
            |r| {
                seen.push(r);
                Ok(())
            },
        );
        assert_eq!(result, Err("item 120".to_string()));
        assert_eq!(seen, (0..120).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_of_the_consumer_stops_the_run() {
        let mut seen = 0;
        let result = try_for_each_in_order(
            (0..500).collect(),
            |i| Ok(uneven(i)),
            |r| {
                seen += 1;
                if r == 7 { Err("full") } else { Ok(()) }
            },
        );
        assert_eq!((result, seen), (Err("full"), 8));
    }

    #[test]
    fn errors_of_try_map_come_in_item_order() {
        let result = try_map_owned((0..300).collect(), |i: u64| match i % 97 {
            96 => Err(i),
            _ => Ok(uneven(i)),
        });
        assert_eq!(result, Err(96));
    }

    #[cfg(feature = "parallel")]
    #[test]
    fn results_waiting_for_a_slow_first_item_stay_few() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let started = AtomicUsize::new(0);
        let mut most_ahead = 0;
        let mut consumed = 0;
        try_for_each_in_order(
            (0..200u64).collect(),
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Ok::<_, String>(i)
            },
            |_| {
                let ahead = started.load(Ordering::SeqCst) - consumed;
                most_ahead = most_ahead.max(ahead);
                consumed += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(consumed, 200);
        assert!(most_ahead <= in_flight(), "{most_ahead} started ahead");
    }

    #[test]
    fn calls_inside_each_other_on_the_pool_do_not_wait_for_themselves() {
        // Every pool thread runs an outer item that itself streams: each waits for inner
        // work that only the same pool can run.
        let outer = try_map_owned((0..8u64).collect(), |i| {
            let mut sum = 0;
            try_for_each_in_order(
                (0..50u64).collect(),
                |j| Ok::<_, String>(uneven(i + j)),
                |r| {
                    sum += r;
                    Ok(())
                },
            )
            .map(|()| sum)
        })
        .unwrap();
        let expected: Vec<u64> = (0..8).map(|i| (0..50).map(|j| i + j).sum()).collect();
        assert_eq!(outer, expected);
    }
}
