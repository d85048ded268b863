//! Gate benchmarks.
fn main() {}
