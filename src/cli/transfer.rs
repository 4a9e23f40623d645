//! `export` and `import`.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use color_eyre::eyre::{self, WrapErr};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::thousands;
use super::{Ctx, FilterArgs, usage};
use crate::time::now_ms;
use crate::transfer::{EntryLine, csv_header, csv_row, parse_line};

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// One JSON object per line, everything included; `import` reads it back exactly
    #[default]
    Jsonl,
    /// Spreadsheet-friendly; no payload column unless --with-payload
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Include the payload in CSV output (JSONL always includes it)
    #[arg(long)]
    pub with_payload: bool,
    /// Write here instead of stdout (written to FILE.partial, renamed when complete)
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({per_sec}, {eta} left)")
            .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}

pub fn export(ctx: &Ctx, a: ExportArgs) -> eyre::Result<ExitCode> {
    let store = ctx.open_existing()?;
    let filter = a.filter.to_filter(now_ms())?;
    let limit = a.filter.limit.unwrap_or(usize::MAX);
    let total = store.count(&filter)?.min(limit as u64);
    let (sink, partial): (Box<dyn Write>, Option<PathBuf>) = match &a.out {
        Some(path) => {
            let mut tmp = path.clone().into_os_string();
            tmp.push(".partial");
            let tmp = PathBuf::from(tmp);
            let f =
                std::fs::File::create(&tmp).wrap_err_with(|| format!("cannot create {}", tmp.display()))?;
            (Box::new(f), Some(tmp))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let out = BufWriter::with_capacity(1 << 16, sink);
    enum Sink<W: Write> {
        Jsonl(W),
        Csv(Box<csv::Writer<W>>),
    }
    let mut sink = match a.format {
        Format::Jsonl => Sink::Jsonl(out),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(csv_header(a.with_payload))?;
            Sink::Csv(Box::new(w))
        }
    };
    let bar = progress(total, "exporting");
    let mut written = 0usize;
    let mut after = None;
    while written < limit {
        let page = store.list_records(&filter, after, 500.min(limit - written))?;
        let Some(last) = page.last() else { break };
        after = Some(last.entry.id);
        for rec in &page {
            match &mut sink {
                Sink::Csv(w) => w.write_record(csv_row(rec, a.with_payload))?,
                Sink::Jsonl(out) => {
                    serde_json::to_writer(&mut *out, &EntryLine::full(rec))?;
                    out.write_all(b"\n")?;
                }
            }
        }
        written += page.len();
        bar.set_position(written as u64);
    }
    match sink {
        Sink::Csv(mut w) => w.flush(),
        Sink::Jsonl(mut out) => out.flush(),
    }
    .wrap_err("writing the export")?;
    bar.finish_and_clear();
    if let (Some(tmp), Some(path)) = (partial, &a.out) {
        std::fs::rename(&tmp, path)
            .wrap_err_with(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        eprintln!("exported {} entries to {}", thousands(written as u64), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A JSONL file (`-` for stdin)
    pub file: PathBuf,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> eyre::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if a.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&a.file)
            .map_err(|e| usage(format!("cannot read {}: {e}", a.file.display())))?;
        Box::new(std::io::BufReader::with_capacity(1 << 16, f))
    };
    let size = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
    let mut store = ctx.open()?;
    let now = now_ms();
    let bar = progress(size, "importing");
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} ({eta} left)").expect("valid"),
    );
    let (mut inserted, mut duplicates) = (0u64, 0u64);
    let mut rejected: Vec<(usize, String)> = Vec::new();
    let mut batch = Vec::with_capacity(1000);
    let mut flush = |batch: &mut Vec<_>| -> eyre::Result<()> {
        let r = store.restore_batch(batch)?;
        inserted += r.inserted.len() as u64;
        duplicates += r.duplicates.len() as u64;
        batch.clear();
        Ok(())
    };
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.wrap_err_with(|| format!("reading {} at line {n}", a.file.display()))?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line, now) {
            Ok(rec) => batch.push(rec),
            Err(why) => rejected.push((n, why)),
        }
        if batch.len() >= 1000 {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    bar.finish_and_clear();
    for (n, why) in rejected.iter().take(20) {
        eprintln!("line {n}: rejected: {}", crate::text::sanitize(why));
    }
    if rejected.len() > 20 {
        eprintln!("… and {} more rejected lines", rejected.len() - 20);
    }
    if a.json {
        let lines: Vec<_> =
            rejected.iter().map(|(n, why)| serde_json::json!({"line": n, "reason": why})).collect();
        println!(
            "{}",
            serde_json::json!({"inserted": inserted, "duplicates": duplicates, "rejected": rejected.len(), "rejected_lines": lines})
        );
    } else {
        println!(
            "imported {} new entries, {} duplicates skipped, {} lines rejected",
            thousands(inserted),
            thousands(duplicates),
            thousands(rejected.len() as u64)
        );
    }
    Ok(if rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
