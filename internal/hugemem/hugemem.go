package hugemem

import (
	"reflect"
	"unsafe"
)

// MinSize is the smallest allocation (bytes) worth huge pages; smaller
// ones come from the Go heap.
const MinSize = 4 << 20

// hugePage is the huge page size mappings are aligned to (x86-64's 2 MiB).
const hugePage = 2 << 20

// Alloc returns a zeroed slice of n T and the function that frees it
// (a no-op for heap memory). After free the slice must not be used.
// It panics if T holds pointers.
func Alloc[T any](n int) ([]T, func()) {
	var z T
	if hasPointers(reflect.TypeOf(z)) {
		panic("hugemem: " + reflect.TypeOf(z).String() + " holds pointers")
	}
	size := uintptr(n) * unsafe.Sizeof(z)
	if n <= 0 || size < MinSize {
		return make([]T, n), func() {}
	}
	p, free := mapHuge(size)
	if p == nil {
		return make([]T, n), func() {}
	}
	return unsafe.Slice((*T)(p), n), free
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.String, reflect.Interface,
		reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
