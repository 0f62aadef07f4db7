//! The command line as `--help` and the man pages show it: every subcommand says what it does
//! and every argument what it is, and `run` and `check-config` take the configuration the same
//! way (`-c, --config FILE`, default /etc/bgpsieve/bgpsieve.toml).

use bgpsieve::cli::{Cli, Command, DEFAULT_CONFIG};
use clap::{CommandFactory, Parser};
use std::path::Path;

/// Every subcommand (with its path, e.g. "bgpsieve ctl rejected") below and including `cmd`.
fn walk<'a>(cmd: &'a clap::Command, path: String, out: &mut Vec<(String, &'a clap::Command)>) {
    for sub in cmd.get_subcommands() {
        walk(sub, format!("{path} {}", sub.get_name()), out);
    }
    out.push((path, cmd));
}

#[test]
fn every_subcommand_and_argument_has_help_text() {
    let mut cli = Cli::command();
    cli.build();
    cli.clone().debug_assert();
    let mut all = Vec::new();
    walk(&cli, "bgpsieve".into(), &mut all);
    assert!(all.len() >= 14, "{} commands", all.len());
    let mut missing = Vec::new();
    for (path, cmd) in &all {
        let about = cmd.get_about().map(ToString::to_string).unwrap_or_default();
        if about.trim().is_empty() {
            missing.push(format!("{path}: no about"));
        }
        for arg in cmd.get_arguments() {
            // clap's own --help and --version carry their text.
            if matches!(arg.get_id().as_str(), "help" | "version") {
                continue;
            }
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path}: {} has no help", arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn run_and_check_config_take_the_config_the_same_way() {
    let config = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
        Command::Run(c) | Command::CheckConfig(c) => c.config,
        other => panic!("{other:?}"),
    };
    for cmd in ["run", "check-config"] {
        assert_eq!(
            config(&["bgpsieve", cmd, "-c", "/tmp/a.toml"]),
            Path::new("/tmp/a.toml")
        );
        assert_eq!(
            config(&["bgpsieve", cmd, "--config", "/tmp/b.toml"]),
            Path::new("/tmp/b.toml")
        );
        assert_eq!(
            config(&["bgpsieve", cmd, "--config=/tmp/c.toml"]),
            Path::new("/tmp/c.toml")
        );
        assert_eq!(config(&["bgpsieve", cmd]), Path::new(DEFAULT_CONFIG));
        // The file is an option, not a positional argument any more.
        assert!(Cli::try_parse_from(["bgpsieve", cmd, "/tmp/a.toml"]).is_err());
    }
    assert_eq!(DEFAULT_CONFIG, "/etc/bgpsieve/bgpsieve.toml");
}

#[test]
fn help_output_names_the_default_config_and_every_subcommand() {
    let mut cli = Cli::command();
    let top = cli.render_long_help().to_string();
    for sub in ["run", "check-config", "replay", "ctl"] {
        assert!(top.contains(sub), "{sub} not in\n{top}");
    }
    for sub in ["run", "check-config"] {
        let help = cli
            .find_subcommand_mut(sub)
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("-c, --config <FILE>"), "{help}");
        assert!(help.contains(DEFAULT_CONFIG), "{help}");
    }
}
