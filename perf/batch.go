package perf

// BenchBatch is the memory ports batch size in scenarios (0: VectorSize).
var BenchBatch = 0
