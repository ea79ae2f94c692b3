//! A global allocator for the native binary: the system's, except that large blocks start on
//! a page boundary. Pipe chunks (128 KiB) are large, so a layer read from the network or a
//! file lands in memory that [`crate::direct::DirectWriter`] can hand to the disk as it is,
//! with no copy into a staging buffer. Large blocks come from `mmap` either way, so the
//! alignment costs nothing.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes are page-aligned.
const LARGE: usize = 64 * 1024;

/// The alignment given to large blocks.
const PAGE: usize = 4096;

/// The system allocator, with large blocks page-aligned. Install it with
/// `#[global_allocator] static ALLOC: LargeBlocksPageAligned = LargeBlocksPageAligned;`.
pub struct LargeBlocksPageAligned;

/// The layout a request is served with: the same, or page-aligned when large.
fn served(layout: Layout) -> Layout {
    if layout.size() >= LARGE && layout.align() < PAGE {
        // A power of two no smaller than the original alignment, for the same size.
        Layout::from_size_align(layout.size(), PAGE).unwrap_or(layout)
    } else {
        layout
    }
}

// SAFETY: every block is allocated and freed by `System` with the one layout `served` maps
// the caller's layout to, and a layout `served` returns satisfies the caller's (same size,
// alignment at least as large).
unsafe impl GlobalAlloc for LargeBlocksPageAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(served(layout)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(served(layout)) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, served(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = served(layout);
        let Ok(wanted) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = served(wanted);
        if new.align() == old.align() {
            return unsafe { System.realloc(ptr, old, new_size) };
        }
        // Crossing the size where the alignment changes: move the block.
        let moved = unsafe { System.alloc(new) };
        if !moved.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                System.dealloc(ptr, old);
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_are_page_aligned_small_ones_as_asked() {
        let a = LargeBlocksPageAligned;
        unsafe {
            for size in [LARGE, 128 * 1024, 1 << 20] {
                let layout = Layout::from_size_align(size, 1).unwrap();
                let p = a.alloc(layout);
                assert!(!p.is_null() && (p as usize).is_multiple_of(PAGE));
                p.write_bytes(7, size);
                // Growing and shrinking across the boundary keeps the bytes.
                let q = a.realloc(p, layout, size + 1);
                assert!((q as usize).is_multiple_of(PAGE) && *q.add(size - 1) == 7);
                let small = Layout::from_size_align(size + 1, 1).unwrap();
                let r = a.realloc(q, small, 100);
                assert_eq!(*r.add(99), 7);
                a.dealloc(r, Layout::from_size_align(100, 1).unwrap());
            }
            let layout = Layout::from_size_align(100, 8).unwrap();
            let p = a.alloc_zeroed(layout);
            assert!((p as usize).is_multiple_of(8) && *p == 0);
            a.dealloc(p, layout);
        }
    }
}
