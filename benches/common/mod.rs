//! What the benchmark programs share.

/// The number after `name` on the command line (`-- --entries 1000`), or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.replace('_', "").parse().unwrap_or_else(|_| panic!("{name} takes a whole number, not {v:?}"))
        })
        .unwrap_or(default)
}
