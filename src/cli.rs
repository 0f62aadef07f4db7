//! The command line (DESIGN §7): argument parsing with clap and each command's glue.

use crate::config;
use crate::policy::{PeerPolicy, ReasonSet};
use crate::replay::{self, PeerResolver, PeerSetup, Setup, Sinks};
use crate::rpki::{self, LoadOptions};
use crate::setup;
use crate::types::{Asn, Role};
use clap::{Parser, Subcommand, ValueEnum};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `run` and `check-config` read the configuration unless `-c` names another file.
pub const DEFAULT_CONFIG: &str = "/etc/bgpsieve/bgpsieve.toml";

#[derive(Debug, Parser)]
#[command(
    name = "bgpsieve",
    version,
    about = "BGP route-leak and hijack filter",
    long_about = "BGP route-leak and hijack filter: a BGP speaker beside the operator's router \
                  that holds a pair of sessions per neighbor and checks routes in both \
                  directions, and an offline MRT replay tool.",
    after_help = "Environment: BGPSIEVE_LOG sets what is logged on stderr (a tracing filter, \
                  e.g. \"debug\" or \"info,bgpsieve::bgp=debug\"; default \"info\").\n\n\
                  Exit status: 0 success, 1 configuration error (or an error answer of the API), \
                  2 data or input error (or the API could not be reached), 3 replay printed \
                  its summary but an input was not read whole.\n\n\
                  Configuration: bgpsieve.toml(5)."
)]
pub struct Cli {
    /// Format of the log on stderr: text (one line per event) or json (one JSON object per
    /// line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event and line.
    Json,
}

/// The configuration file of `run` and `check-config`.
#[derive(Debug, clap::Args)]
pub struct ConfigFile {
    /// Configuration file (TOML, described in bgpsieve.toml(5)).
    #[arg(short = 'c', long = "config", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: BGP sessions with the neighbors and the router, filtering both ways.
    ///
    /// Runs in the foreground (under systemd: Type=notify, READY=1 once the configuration and
    /// the RPKI data are loaded and the listeners are bound). SIGHUP reloads the data files and
    /// the configuration; SIGTERM and SIGINT stop it.
    Run(ConfigFile),
    /// Validate a configuration file: exit 0, or print FILE:LINE:COL errors and exit 1.
    ///
    /// Checks everything `run` checks before it starts (syntax, values, that the data files
    /// exist) and also parses every IRR file. On success prints a one-line summary and the
    /// warnings.
    CheckConfig(ConfigFile),
    /// Replay MRT dumps (or BGPStream CSV) through the policy: what would bgpsieve have blocked?
    ///
    /// Prints a summary of the verdicts per check (a table, or JSON with --json). MRT peers
    /// named in --config get their configured role and limits; the others get --role.
    Replay(Box<ReplayArgs>),
    /// Query and control a running daemon over its HTTP API.
    Ctl(crate::ctl::CtlArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 every input read whole, 1 a usage or configuration \
                        error, 2 a data file (VRP, ASPA, SLURM, IRR) or the output stopped the \
                        run, 3 the summary was printed but an input was not read whole (its \
                        status is in the summary's files)."
)]
pub struct ReplayArgs {
    /// Configuration file: the roles, limits and checks of the MRT peers it names (matched by
    /// ASN and address), the global lists (announce, bogons, peerlock) and its RPKI files.
    /// Optional; its [[peer]] router tables may be left out.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// VRP file (any supported JSON dialect, gzip or not); may also carry ASPA records.
    /// Repeatable.
    #[arg(long = "vrps", value_name = "FILE")]
    pub vrps: Vec<PathBuf>,
    /// ASPA file (JSON). Repeatable.
    #[arg(long = "aspa", value_name = "FILE")]
    pub aspa: Vec<PathBuf>,
    /// SLURM (RFC 8416) file of local exceptions, applied to data sets A and B. Repeatable.
    #[arg(long = "slurm", value_name = "FILE")]
    pub slurm: Vec<PathBuf>,
    /// IRR file (bgpq4 -j JSON or RPSL) for the MRT peers the configuration gives no IRR
    /// data. Repeatable.
    #[arg(long = "irr", value_name = "FILE")]
    pub irr: Vec<PathBuf>,
    /// Role of the MRT peers the configuration does not name: provider, customer, peer, rs or
    /// rs-client.
    #[arg(long, value_name = "ROLE", default_value = "provider")]
    pub role: Role,
    /// Run only these check families (comma-separated): malformed, bogon, prefix-length, path,
    /// otc, peerlock, rpki, aspa, irr, max-prefix, communities, blackhole. Default: all.
    #[arg(long, value_name = "FAMILY,...", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Print the summary as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write every rejected route to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub rejected: Option<PathBuf>,
    /// Write every verdict (accepted or rejected) to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub verdicts: Option<PathBuf>,
    /// Diff mode: VRP file of data set B; routes whose RPKI/ASPA verdict changes between A and
    /// B are counted. Repeatable.
    #[arg(long = "vrps-b", value_name = "FILE")]
    pub vrps_b: Vec<PathBuf>,
    /// Diff mode: ASPA file of data set B. Repeatable.
    #[arg(long = "aspa-b", value_name = "FILE")]
    pub aspa_b: Vec<PathBuf>,
    /// Diff mode: write the routes whose verdict changes to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// Drop VRPs and ASPAs whose `expires` time has passed (default: keep them, so that old
    /// data sets stay usable for old dumps).
    #[arg(long)]
    pub drop_expired: bool,
    /// Show no progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
    /// MRT file (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP; plain, gzip or bzip2) or BGPStream CSV, in
    /// time order. At least one.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// A command's failure, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Ctl(#[from] crate::ctl::CtlError),
    /// Replay printed its summary, but not every input was read whole.
    #[error("{0}")]
    Incomplete(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Config(_) => 1,
            CliError::Data(_) | CliError::Input(_) => 2,
            CliError::Incomplete(_) => 3,
            CliError::Ctl(e) => e.exit_code(),
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run(c) => run_daemon(&c.config),
        Command::CheckConfig(c) => check_config(&c.config),
        Command::Replay(args) => replay(*args),
        Command::Ctl(args) => Ok(crate::ctl::run(args)?),
    }
}

fn run_daemon(file: &Path) -> Result<(), CliError> {
    let loaded = config::load(file).map_err(|e| CliError::Config(e.to_string()))?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    crate::daemon::run_file(loaded.config, Some(file.to_path_buf()))
        .map_err(|e| CliError::Data(e.to_string()))
}

fn check_config(file: &Path) -> Result<(), CliError> {
    let (ok, text) = config::check_config_report(file);
    if ok {
        print!("{text}");
        Ok(())
    } else {
        Err(CliError::Config(text.trim_end().to_string()))
    }
}

fn sink(path: &Option<PathBuf>) -> Result<Option<Box<dyn Write + Send>>, CliError> {
    path.as_ref()
        .map(|p| {
            File::create(p)
                .map(|f| Box::new(BufWriter::with_capacity(1 << 16, f)) as Box<dyn Write + Send>)
                .map_err(|e| CliError::Input(format!("{}: {e}", p.display())))
        })
        .transpose()
}

fn replay(a: ReplayArgs) -> Result<(), CliError> {
    let cfg = a
        .config
        .as_deref()
        .map(config::load_for_replay)
        .transpose()
        .map_err(|e| CliError::Config(e.to_string()))?;
    // The config's warnings are about running the daemon (IRR data, RPKI sources); replay takes
    // its data from the command line too, so they are only of interest when debugging.
    if let Some(c) = &cfg {
        for w in &c.warnings {
            tracing::debug!("{w}");
        }
    }
    let cfg = cfg.map(|c| c.config);
    let checks = if a.checks.is_empty() {
        ReasonSet::all()
    } else {
        ReasonSet::from_families(a.checks.iter().map(String::as_str)).map_err(CliError::Config)?
    };
    let restrict = |mut s: ReasonSet| {
        for r in crate::policy::Reason::ALL {
            if !checks.contains(*r) {
                s.remove(*r);
            }
        }
        s
    };
    let data_err = |e: &dyn std::fmt::Display| CliError::Data(e.to_string());

    let local = match &cfg {
        Some(c) => setup::local_policy(c).map_err(|e| data_err(&e))?,
        None => crate::policy::LocalPolicy::new(Asn(0)),
    };
    let opts = LoadOptions {
        now: a.drop_expired.then(crate::unix_now),
    };
    let (mut vrps, mut aspas, slurm) = (a.vrps.clone(), a.aspa.clone(), a.slurm.clone());
    let mut slurm = slurm;
    if let Some(c) = &cfg {
        vrps.extend(c.rpki.vrp_files.iter().cloned());
        aspas.extend(c.rpki.aspa_files.iter().cloned());
        slurm.extend(c.rpki.slurm_files.iter().cloned());
    }
    let (rpki_a, rpki_data) =
        replay::rpki_data::load(&vrps, &aspas, &slurm, &opts).map_err(|e| data_err(&e))?;
    let rpki_b = if a.vrps_b.is_empty() && a.aspa_b.is_empty() {
        None
    } else {
        Some(Arc::new(
            rpki::load_rpki(&a.vrps_b, &a.aspa_b, &slurm, &opts).map_err(|e| data_err(&e))?,
        ))
    };
    let irr = if a.irr.is_empty() {
        None
    } else {
        Some(Arc::new(
            setup::load_irr_files(&a.irr).map_err(|e| data_err(&e))?,
        ))
    };

    let mut configured = Vec::new();
    for p in cfg.iter().flat_map(|c| c.peers.iter()) {
        let mut policy = setup::peer_policy(p).map_err(|e| data_err(&e))?;
        policy.enabled = restrict(policy.enabled);
        if policy.irr.is_none() {
            policy.irr = irr.clone();
        }
        configured.push(PeerSetup {
            policy,
            max_prefix: setup::limits(&p.max_prefix_in),
            burst: p.burst_guard.as_ref().map(setup::burst),
        });
    }
    let mut template = PeerPolicy::new("", a.role, Asn(0), None);
    template.enabled = restrict(template.enabled);
    template.irr = irr;
    let setup = Setup {
        local,
        rpki: Arc::new(rpki_a),
        rpki_b,
        rpki_data: (!vrps.is_empty()).then_some(rpki_data),
        peers: PeerResolver::new(
            configured,
            PeerSetup {
                policy: template,
                max_prefix: None,
                burst: None,
            },
        ),
    };
    let sinks = Sinks {
        rejected: sink(&a.rejected)?,
        verdicts: sink(&a.verdicts)?,
        diff: sink(&a.diff)?,
    };
    let report = replay::run(&a.inputs, &setup, sinks, !a.no_progress)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let written = if a.json {
        serde_json::to_writer(&mut out, &report)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    } else {
        write!(out, "{}", report.table())
    };
    written.map_err(|e| CliError::Input(format!("stdout: {e}")))?;
    incomplete(&report)
}

/// Exit status 3 when the summary was printed but some input was not read whole.
fn incomplete(report: &replay::Report) -> Result<(), CliError> {
    let damaged: Vec<String> = report
        .damaged_files()
        .map(|f| format!("{} ({})", f.file, f.status.as_str()))
        .collect();
    if damaged.is_empty() {
        return Ok(());
    }
    Err(CliError::Incomplete(format!(
        "replay: not every input was read whole (exit 3): {}",
        damaged.join(", ")
    )))
}
