"""Hub building (plan -> jobs -> shards -> HDF5) and the read-only Benchmark over a built hub."""
