//! The real `redrive demo` in a pseudo-terminal: the screen read back through a terminal
//! emulator, keys sent as an operator would, and the terminal checked after quitting.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const COLS: u16 = 160;
const ROWS: u16 = 48;

struct Screen {
    parser: vt100::Parser,
    raw: Vec<u8>,
    rx: mpsc::Receiver<Vec<u8>>,
    eof: bool,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.screen().contents()
    }

    /// Read output until `cond` holds for the screen, or fail after `limit` showing it.
    fn wait(&mut self, what: &str, limit: Duration, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.text();
            if cond(&text) {
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => {
                    self.parser.process(&chunk);
                    self.raw.extend_from_slice(&chunk);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) if !self.eof => self.eof = true,
                Err(_) => panic!("waited {limit:?} for {what}; the screen shows:\n{text}"),
            }
        }
    }
}

fn number_after(text: &str, label: &str) -> Option<u64> {
    let rest = &text[text.find(label)? + label.len()..];
    let digits: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
    digits.replace(',', "").parse().ok()
}

#[test]
fn demo_poll_mark_all_retry_drain_and_quit() {
    let home = tempfile::tempdir().unwrap();
    let pty = native_pty_system();
    let pair = pty.openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_redrive"));
    cmd.args(["demo", "--failures", "40", "--down-for", "1s"]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home.path());
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    cmd.env("XDG_DATA_HOME", home.path().join("data"));
    cmd.env_remove("NO_COLOR");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut s = Screen {
        parser: vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0),
        raw: Vec::new(),
        rx,
        eof: false,
    };
    let mut key = |k: &str| {
        writer.write_all(k.as_bytes()).unwrap();
        writer.flush().unwrap();
    };
    let long = Duration::from_secs(60);

    s.wait("the org's webhooks", long, |t| t.contains("Orders API") && t.contains("Webhooks 6"));
    assert!(s.parser.screen().alternate_screen(), "the console uses the alternate screen");
    key("p");
    s.wait("the poll to finish", long, |t| t.contains("polled") && t.contains("new"));
    let text = s.wait("the failures in the queue", long, |t| {
        number_after(t, "Dead letter queue 1/").is_some_and(|n| n >= 40)
    });
    assert_eq!(number_after(&text, "delivered"), Some(0), "nothing delivered before the retry:\n{text}");
    key("3");
    key("a");
    s.wait("everything marked", long, |t| t.contains("marked all"));
    key("r");
    s.wait("the confirmation", long, |t| t.contains("Retry") && t.contains("[ Cancel ]"));
    key("y");
    s.wait("the bulk job to finish", Duration::from_secs(120), |t| t.contains("job done:"));
    let text = s.wait("delivered counts", long, |t| number_after(t, "delivered").is_some_and(|n| n > 0));
    let delivered = number_after(&text, "delivered").unwrap();
    eprintln!("delivered after the job: {delivered}\n{text}");
    key("q");
    let status = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            // Drain output while the console shuts down (bounded by the deadline).
            match s.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => {
                    s.parser.process(&chunk);
                    s.raw.extend_from_slice(&chunk);
                }
                Err(_) => assert!(Instant::now() < deadline, "the console did not exit after q"),
            }
        }
    };
    while let Ok(chunk) = s.rx.recv_timeout(Duration::from_millis(200)) {
        s.parser.process(&chunk);
        s.raw.extend_from_slice(&chunk);
    }
    assert!(status.success(), "exit status {status:?}");
    assert!(!s.parser.screen().alternate_screen(), "the alternate screen was left");
    assert!(!s.parser.screen().hide_cursor(), "the cursor is visible again");
    let raw = String::from_utf8_lossy(&s.raw);
    assert!(raw.contains("\u{1b}[?1049l"), "leaves the alternate screen");
}
