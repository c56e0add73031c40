//! Criterion benchmarks for Versus (see benches/).
