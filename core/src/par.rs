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
/// Items are started in order, so results come ready about in order. The first error in item
/// order stops the run and is returned.
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
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicBool, Ordering};

        struct InOrder<R, E, C> {
            next: usize,
            ready: BTreeMap<usize, Result<R, E>>,
            consume: C,
            outcome: Result<(), E>,
        }
        let queue = Mutex::new(items.into_iter().enumerate());
        let stop = AtomicBool::new(false);
        let state = Mutex::new(InOrder {
            next: 0,
            ready: BTreeMap::new(),
            consume,
            outcome: Ok(()),
        });
        let worker = || {
            while !stop.load(Ordering::Relaxed) {
                let Some((index, item)) = queue.lock().expect("no task panicked").next() else {
                    break;
                };
                let result = work(item);
                let mut guard = state.lock().expect("no task panicked");
                let state = &mut *guard;
                state.ready.insert(index, result);
                while state.outcome.is_ok() {
                    let Some(result) = state.ready.remove(&state.next) else {
                        break;
                    };
                    state.next += 1;
                    if let Err(e) = result.and_then(&mut state.consume) {
                        state.outcome = Err(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        };
        rayon::scope(|scope| {
            for _ in 0..threads() {
                scope.spawn(|_| worker());
            }
        });
        state.into_inner().expect("no task panicked").outcome
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
}
