// Package hugemem allocates large tables of plain data (no Go pointers)
// outside the Go heap, backed by transparent huge pages where the kernel
// allows them.
//
// A flow or MAC table of a million entries is a few hundred MiB touched
// at random: with 4 KiB pages nearly every lookup also misses the TLB
// and walks the page tables, which on a virtual machine (two levels of
// page tables) costs as much as the cache miss itself. Go's heap does
// not ask for huge pages (since Go 1.21.1 it leaves that to the
// system's THP setting, and Debian's default is "madvise"), so a table
// allocated with make gets 4 KiB pages. Alloc maps anonymous memory,
// aligned to 2 MiB, and asks for huge pages with madvise(MADV_HUGEPAGE);
// the kernel falls back to small pages if it has none. VPP and DPDK
// take their tables from hugepages for the same reason.
//
// The memory is zeroed, never scanned by the garbage collector (so T
// must hold no pointers: Alloc refuses types that do) and freed by the
// returned function, which the owner calls when it is unreachable
// (runtime.AddCleanup) or closed. On other systems, and for small
// tables, Alloc is make.
package hugemem
