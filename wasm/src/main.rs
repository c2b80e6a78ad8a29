//! `tidemark`: the command-line program. Everything it does lives in the library, except how
//! the native program asks the system for memory.

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() -> std::process::ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    memory::one_arena();
    tidemark::cli::main()
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: memory::HugePages = memory::HugePages;

/// Memory in huge pages, for the columns of big tables.
///
/// A run at ten million rows allocates gigabytes of fresh memory (every column of every
/// table is a new buffer of tens of megabytes), and the kernel hands it out in 4 KiB pages,
/// each a page fault on first touch: some 400,000 of them, a fifth to a third of the run's CPU.
/// In 2 MiB pages it is a few thousand. Debian's kernel gives huge pages where a program asks
/// for them (`madvise` mode), so big blocks ask; and one malloc arena for all threads lets a
/// block freed by one thread be reused by another instead of fresh memory being faulted in.
/// Measured at 10m, side by side: 370,000 page faults down to 85,000 and about 24% less wall
/// time, at the same peak RSS (see bench/README.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod memory {
    use std::alloc::{GlobalAlloc, Layout, System};

    const HUGE_PAGE: usize = 2 << 20;

    /// The system allocator; blocks of two huge pages or more are marked for huge pages.
    pub struct HugePages;

    /// Asks for huge pages for the whole huge pages inside the block at `ptr`.
    fn advise(ptr: *mut u8, size: usize) {
        if ptr.is_null() || size < 2 * HUGE_PAGE {
            return;
        }
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize + size) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // Advice only: where the kernel says no, the memory is the same, in small pages.
            // SAFETY: the range lies inside a block this allocator just handed out.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }

    // SAFETY: every call is passed to the system allocator unchanged; `advise` only changes
    // how the kernel backs the memory, not what it holds.
    unsafe impl GlobalAlloc for HugePages {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let ptr = unsafe { System.alloc(layout) };
            advise(ptr, layout.size());
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let ptr = unsafe { System.alloc_zeroed(layout) };
            advise(ptr, layout.size());
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let ptr = unsafe { System.realloc(ptr, layout, new_size) };
            advise(ptr, new_size);
            ptr
        }
    }

    /// One malloc arena for all threads (glibc makes one per thread by default).
    pub fn one_arena() {
        // SAFETY: mallopt only sets an allocator parameter; a refusal (0) changes nothing.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}
