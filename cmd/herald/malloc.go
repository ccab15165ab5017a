//go:build linux && cgo

package main

// int mallopt(int param, int value);
import "C"

import "os"

// The C allocator's settings that keep Herald's memory under a write load
// bounded. Pebble (the state machine's and Raft log's store) allocates its
// memtables (up to 8 MB each) and cache blocks with C's calloc when cgo is
// on. With glibc's defaults those calls, made from whichever of Go's
// threads runs them, spread over up to eight arenas per CPU, and after the
// first large block is freed glibc raises its mmap threshold to that size,
// so later memtables come from the arenas too and their memory is not
// given back: under 60 s of 64 concurrent writers, 106 MB of C heap in
// seven arenas, against 98 MB of Go heap.
//
// Two arenas, and a fixed 128 KiB mmap threshold (glibc's default before
// it adapts), so that memtables are mapped and unmapped whole. The
// numbers are glibc's M_MMAP_THRESHOLD and M_ARENA_MAX; other C libraries
// ignore them. An operator's own MALLOC_ARENA_MAX or
// MALLOC_MMAP_THRESHOLD_ wins.
const (
	mallocMmapThreshold = -3
	mallocArenaMax      = -8
)

func init() {
	if os.Getenv("MALLOC_MMAP_THRESHOLD_") == "" {
		C.mallopt(mallocMmapThreshold, 128<<10)
	}
	if os.Getenv("MALLOC_ARENA_MAX") == "" {
		C.mallopt(mallocArenaMax, 2)
	}
}
