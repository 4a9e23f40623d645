fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`redrive list | head`), as other Unix tools do, instead of
    // panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let _ = color_eyre::install();
    redrive::cli::main()
}
