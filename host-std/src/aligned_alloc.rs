//! A global allocator for the native binary: the system's, except that pipe chunk buffers
//! (blocks of [`crate::pipe::CHUNK_ALLOCATION`] bytes, an odd size only chunks and the direct
//! writer's staging buffers ask for) start on a page boundary. A layer read from the network or a file then lands in memory that
//! [`crate::direct::DirectWriter`] can hand to the disk as it is, with no copy into a staging
//! buffer. Chunks are allocated once and recycled, so their alignment costs nothing; every
//! other block is left to the system as asked (aligning all large blocks, or all of 128 KiB,
//! made compression keep ~10 MB more resident: the libraries' own buffers fragmented the
//! heap).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Blocks of this many bytes are page-aligned.
const ALIGNED_SIZE: usize = crate::pipe::CHUNK_ALLOCATION;

/// The alignment given to chunk blocks.
const PAGE: usize = 4096;

/// The system allocator, with chunk-sized blocks page-aligned.
/// Install it with `#[global_allocator] static ALLOC: ChunksPageAligned = ChunksPageAligned;`.
pub struct ChunksPageAligned;

/// Freed chunk blocks kept for the next chunk allocation: the core drops the chunks it reads
/// rather than giving them back to the pipe's pool, and handing page-aligned blocks back and
/// forth through the heap would fragment it. At most `KEPT` are kept, never more than were
/// once in use together.
static FREED: [AtomicPtr<u8>; KEPT] = [const { AtomicPtr::new(std::ptr::null_mut()) }; KEPT];
const KEPT: usize = 32;

/// The layout a request is served with: the same, or page-aligned for a chunk.
fn served(layout: Layout) -> Layout {
    if is_chunk(layout) {
        Layout::from_size_align(layout.size(), PAGE).unwrap_or(layout)
    } else {
        layout
    }
}

fn is_chunk(layout: Layout) -> bool {
    layout.size() == ALIGNED_SIZE && layout.align() <= PAGE
}

// SAFETY: every block is allocated and freed by `System` with the one layout `served` maps
// the caller's layout to (a chunk block kept in `FREED` is handed out again only for a chunk
// layout, which maps to the same), and a layout `served` returns satisfies the caller's (same
// size, alignment at least as large).
unsafe impl GlobalAlloc for ChunksPageAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_chunk(layout) {
            for slot in &FREED {
                let kept = slot.swap(std::ptr::null_mut(), Ordering::Acquire);
                if !kept.is_null() {
                    return kept;
                }
            }
        }
        unsafe { System.alloc(served(layout)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !is_chunk(layout) {
            return unsafe { System.alloc_zeroed(layout) };
        }
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_chunk(layout) {
            for slot in &FREED {
                let empty = std::ptr::null_mut();
                if slot
                    .compare_exchange(empty, ptr, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }
        unsafe { System.dealloc(ptr, served(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(wanted) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        if !is_chunk(layout) && !is_chunk(wanted) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // To or from a chunk's size: move the block.
        let moved = unsafe { self.alloc(wanted) };
        if !moved.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_page_aligned_other_blocks_as_asked() {
        let a = ChunksPageAligned;
        let size = ALIGNED_SIZE;
        unsafe {
            let layout = Layout::from_size_align(size, 1).unwrap();
            for _ in 0..4 {
                let p = a.alloc(layout);
                assert!(!p.is_null() && (p as usize).is_multiple_of(PAGE));
                let z = a.alloc_zeroed(layout);
                assert!((z as usize).is_multiple_of(PAGE) && *z.add(size - 1) == 0);
                z.write_bytes(1, size);
                // A freed chunk is the next one handed out, zeroed when asked.
                a.dealloc(z, layout);
                let again = a.alloc_zeroed(layout);
                assert!(again == z && *again.add(size - 1) == 0);
                a.dealloc(again, layout);
                p.write_bytes(7, size);
                // Growing past the chunk size and shrinking back keep the bytes and the
                // alignment a chunk-sized block must have.
                let grown = Layout::from_size_align(size + 1, 1).unwrap();
                let q = a.realloc(p, layout, size + 1);
                assert_eq!(*q.add(size - 1), 7);
                let r = a.realloc(q, grown, size);
                assert!((r as usize).is_multiple_of(PAGE) && *r.add(size - 1) == 7);
                a.dealloc(r, layout);
            }
            let layout = Layout::from_size_align(100, 8).unwrap();
            let p = a.alloc_zeroed(layout);
            assert!((p as usize).is_multiple_of(8) && *p == 0);
            a.dealloc(p, layout);
        }
    }
}
