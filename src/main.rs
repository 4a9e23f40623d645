fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`redrive list | head`), as other Unix tools do, instead of
    // panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Errors here are messages for an operator, not bugs: capturing a backtrace for each (when
    // RUST_BACKTRACE is set) costs most of a second. Panics still get theirs.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: single-threaded at this point.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let _ = color_eyre::install();
    redrive::cli::main()
}
