//! Who holds a database file open: read from `/proc` on Linux, so a "locked" message can name
//! the process to look at.

use std::path::Path;

/// Other processes that have `path` (or its `-wal` / `-shm` files) open, as `(pid, command)`.
pub fn find(path: &Path) -> Vec<(u32, String)> {
    let Ok(target) = std::fs::canonicalize(path) else { return Vec::new() };
    let names: Vec<std::path::PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = target.clone().into_os_string();
            p.push(s);
            p.into()
        })
        .collect();
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).map(|l| names.contains(&l)).unwrap_or(false));
        if holds {
            let cmd = std::fs::read(p.path().join("cmdline"))
                .map(|b| {
                    let parts: Vec<String> = b
                        .split(|c| *c == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect();
                    parts.join(" ")
                })
                .unwrap_or_default();
            found.push((pid, crate::text::sanitize(&cmd).into_owned()));
        }
    }
    found.sort();
    found
}

/// `pid 123 (redrive worker)`, or a hint when no holder is visible.
pub fn describe(path: &Path) -> String {
    let found = find(path);
    if found.is_empty() {
        return "another process (not visible from here; a redrive worker, relay or sqlite3 shell?)".into();
    }
    let parts: Vec<String> =
        found.iter().map(|(pid, cmd)| format!("pid {pid} ({})", crate::text::truncate(cmd, 60))).collect();
    parts.join(", ")
}
