//! Writes the generated files of the Debian package (`cargo deb`, see Cargo.toml's
//! `[package.metadata.deb]`): a man page in section 8 for `bgpsieve` and for each of its
//! subcommands (bgpsieve(8), bgpsieve-run(8), bgpsieve-ctl-peers(8), ...), and the bash, zsh and
//! fish completions, all from the clap definitions in `src/cli.rs` and `src/ctl.rs`.
//!
//! ```text
//! cargo run --release --example gen_assets -- target/assets
//! ```
//!
//! writes `target/assets/man/*.8` and `target/assets/completions/{bgpsieve.bash,_bgpsieve,
//! bgpsieve.fish}`. It lives here rather than in the daemon so that the binary carries neither
//! clap_mangen nor clap_complete. bgpsieve.toml(5) is written by hand (`man/bgpsieve.toml.5`).

use bgpsieve::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

const SECTION: &str = "8";
const MANUAL: &str = "bgpsieve manual";

/// What every page refers to besides the pages of its own subcommands.
fn see_also(name: &str) -> String {
    let mut pages: Vec<String> = Vec::new();
    if name != "bgpsieve" {
        pages.push("\\fBbgpsieve\\fR(8)".into());
    }
    pages.push("\\fBbgpsieve.toml\\fR(5)".into());
    pages.push("\\fBsystemctl\\fR(1)".into());
    format!(".SH \"SEE ALSO\"\n{}\n", pages.join(",\n"))
}

/// One page for `cmd` (whose display name clap has set to `bgpsieve-ctl-peers` and so on), then
/// one for each of its subcommands.
fn man_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> io::Result<()> {
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned();
    let man = clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section(SECTION)
        .source(format!("bgpsieve {}", env!("CARGO_PKG_VERSION")))
        .manual(MANUAL);
    let path = dir.join(format!("{name}.{SECTION}"));
    let mut out = BufWriter::new(File::create(&path)?);
    man.render(&mut out)?;
    out.write_all(see_also(&name).as_bytes())?;
    out.flush()?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, dir, written)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        return Err("usage: gen_assets OUTPUT-DIR".into());
    };
    let out = PathBuf::from(out);

    // Built once, without the `help` subcommand: its page would only repeat --help.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();

    let man_dir = out.join("man");
    fs::create_dir_all(&man_dir)?;
    let mut written = Vec::new();
    man_pages(&cmd, &man_dir, &mut written)?;

    let comp_dir = out.join("completions");
    fs::create_dir_all(&comp_dir)?;
    for (shell, file) in [
        (Shell::Bash, "bgpsieve.bash"),
        (Shell::Zsh, "_bgpsieve"),
        (Shell::Fish, "bgpsieve.fish"),
    ] {
        let path = comp_dir.join(file);
        let mut w = BufWriter::new(File::create(&path)?);
        // The completions know every subcommand, including `help`.
        clap_complete::generate(shell, &mut Cli::command(), "bgpsieve", &mut w);
        w.flush()?;
        written.push(path);
    }
    for p in &written {
        println!("{}", p.display());
    }
    Ok(())
}
