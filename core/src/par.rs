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
