//! Plain-text output: aligned tables and numbers, with outside text sanitised.

use crate::text::{sanitize, truncate};

/// Print rows as columns separated by two spaces, each as wide as its widest cell. Every cell
/// is sanitised; cells in `max` columns are cut to that many characters.
pub fn table(header: &[&str], rows: &[Vec<String>], max: &[(usize, usize)]) -> String {
    let clean: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, c)| {
                    let s = sanitize(c);
                    match max.iter().find(|(col, _)| *col == i) {
                        Some((_, m)) => truncate(&s, *m).into_owned(),
                        None => s.into_owned(),
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &clean {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            if i < last {
                let pad = widths[i] - c.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(header.to_vec());
    for r in &clean {
        line(r.iter().map(|s| s.as_str()).collect());
    }
    out
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2026-12-04 10:00:00` (UTC), or `-`.
pub fn short_time(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => {
            let s = crate::time::format_ms(ms);
            s.get(..19).map(|t| t.replace('T', " ")).unwrap_or(s)
        }
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_and_sanitises() {
        let t = table(&["A", "BB"], &[vec!["x\x1b[2J".into(), "1".into()]], &[]);
        assert_eq!(t, "A      BB\nx\u{fffd}[2J  1\n");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
