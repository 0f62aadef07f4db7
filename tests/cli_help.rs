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

#[test]
fn ctl_routes_and_route_take_a_view_filters_and_a_match() {
    use bgpsieve::ctl::{CtlCommand, Family, RoutesView};
    let ctl = |args: &[&str]| {
        let mut all = vec!["bgpsieve", "ctl"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).map(|c| c.command) {
            Ok(Command::Ctl(c)) => Ok(c.command),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.kind()),
        }
    };
    match ctl(&["routes", "transit-a"]).unwrap() {
        CtlCommand::Routes {
            name,
            view,
            rejected,
            accepted,
            family,
            limit,
            detail,
        } => assert_eq!(
            (
                name.as_str(),
                view,
                rejected,
                accepted,
                family,
                limit,
                detail
            ),
            ("transit-a", RoutesView::In, false, false, None, None, false),
            "view in by default"
        ),
        other => panic!("{other:?}"),
    }
    match ctl(&[
        "routes",
        "transit-a",
        "from-router",
        "--rejected",
        "--family",
        "ipv6",
        "--limit",
        "5",
        "-d",
    ])
    .unwrap()
    {
        CtlCommand::Routes {
            view,
            rejected,
            family,
            limit,
            detail,
            ..
        } => assert_eq!(
            (view, rejected, family, limit, detail),
            (
                RoutesView::FromRouter,
                true,
                Some(Family::Ipv6),
                Some(5),
                true
            )
        ),
        other => panic!("{other:?}"),
    }
    for (arg, want) in [
        ("in", RoutesView::In),
        ("to-router", RoutesView::ToRouter),
        ("from-router", RoutesView::FromRouter),
        ("out", RoutesView::Out),
    ] {
        assert!(matches!(
            ctl(&["routes", "x", arg]).unwrap(),
            CtlCommand::Routes { view, .. } if view == want
        ));
        assert_eq!(want.as_str(), arg);
    }
    assert!(ctl(&["routes", "x", "sideways"]).is_err());
    assert!(ctl(&["routes", "x", "--rejected", "--accepted"]).is_err());
    match ctl(&["route", "192.0.2.0/24", "--longer"]).unwrap() {
        CtlCommand::Route {
            prefix,
            exact,
            longer,
            ..
        } => assert_eq!(
            (prefix.as_str(), exact, longer),
            ("192.0.2.0/24", false, true)
        ),
        other => panic!("{other:?}"),
    }
    assert!(ctl(&["route", "192.0.2.0/24", "--longer", "--exact"]).is_err());
    assert!(ctl(&["route"]).is_err(), "a prefix is required");
}
