//! `synthmark registry`: the log of stamped outputs (import, prune, delete, info), and the
//! `--registry` / `--no-registry` flags that `stamp` and `check` share.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use synthmark::import::{import, Imported};
use synthmark::registry::{now_unix, Location, Registry};
use synthmark::{CheckOptions, Checker};

use super::advice;
use super::batch::{self, Progress};
use super::config::RegistryConfig;
use super::inputs;
use super::{Global, Outcome};

/// Which registry to use.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// The registry of stamped outputs: an SQLite file (`sqlite:PATH` or a path) or
    /// `postgres://user@host/db`. Default: [registry] url in the configuration file, else
    /// registry.sqlite in the synthmark data directory (beside the development identity).
    #[arg(
        long,
        global = true,
        env = "SYNTHMARK_REGISTRY",
        value_name = "URL",
        hide_env_values = true
    )]
    pub registry: Option<String>,
    /// Neither log to nor consult any registry.
    #[arg(long, global = true)]
    pub no_registry: bool,
}

/// The registry a command should use.
pub enum Choice {
    /// `--no-registry`.
    Off,
    /// Named by the flag, the environment or the configuration file.
    Named(Location),
    /// The default SQLite file in the data directory.
    Default(PathBuf),
}

impl Choice {
    pub fn resolve(args: &RegistryArgs, config: &RegistryConfig) -> anyhow::Result<Choice> {
        if args.no_registry {
            return Ok(Choice::Off);
        }
        if let Some(url) = args.registry.as_ref().or(config.url.as_ref()) {
            let location = Location::parse(url).map_err(|err| {
                anyhow::anyhow!(
                    "{err}\nhint: --registry takes {}",
                    synthmark::registry::LocationError::FORMS
                )
            })?;
            return Ok(Choice::Named(location));
        }
        Ok(Choice::Default(default_path()?))
    }
}

/// `$XDG_DATA_HOME/synthmark/registry.sqlite`, else `~/.local/share/synthmark/registry.sqlite`.
pub fn default_path() -> anyhow::Result<PathBuf> {
    let identity = super::signing::dev_identity_dir()?;
    Ok(identity
        .parent()
        .map(|dir| dir.join("registry.sqlite"))
        .unwrap_or_else(|| PathBuf::from("registry.sqlite")))
}

/// The registry `stamp` logs to; an unusable registry stops the command before anything is
/// stamped.
pub fn for_stamping(
    args: &RegistryArgs,
    config: &RegistryConfig,
) -> anyhow::Result<Option<Arc<Registry>>> {
    let location = match Choice::resolve(args, config)? {
        Choice::Off => return Ok(None),
        Choice::Named(location) => location,
        Choice::Default(path) => Location::Sqlite(path),
    };
    let registry = Registry::open(&location)
        .map_err(|e| anyhow::anyhow!("{e}\nhint: {}", advice::for_registry(&e)))?;
    Ok(Some(Arc::new(registry)))
}

/// Attaches the registry `check` consults. The default file is consulted only when it exists;
/// a named registry that cannot be opened is reported in every result, and checking goes on.
pub fn attach_for_checking(
    checker: Checker,
    args: &RegistryArgs,
    config: &RegistryConfig,
    quiet: bool,
) -> anyhow::Result<Checker> {
    let location = match Choice::resolve(args, config)? {
        Choice::Off => return Ok(checker),
        Choice::Default(path) if !path.exists() => return Ok(checker),
        Choice::Default(path) => Location::Sqlite(path),
        Choice::Named(location) => location,
    };
    Ok(match Registry::open(&location) {
        Ok(registry) => checker.with_registry(Arc::new(registry)),
        Err(err) => {
            if !quiet {
                eprintln!("warning: {err}; checking without the registry layer");
            }
            checker.with_registry_unavailable(err.to_string())
        }
    })
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Subcommand {
    /// Log images that were stamped before the registry was configured (only images whose
    /// credentials verify and declare AI are logged).
    Import {
        /// Images or directories (searched recursively).
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
    },
    /// Delete entries logged before a given age, e.g. `--older-than 180d` (units s, m, h, d, w).
    Prune {
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: i64,
    },
    /// Delete the entries of outputs by asset id (10 hex digits) or SHA-256 (64 hex digits).
    Delete {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Where the registry is and how many entries it holds.
    Info,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let location = match Choice::resolve(&args.registry, &global.config.registry)? {
        Choice::Off => bail!("--no-registry leaves nothing to manage"),
        Choice::Named(location) => location,
        Choice::Default(path) => {
            if !path.exists() && !matches!(args.command, Subcommand::Import { .. }) {
                bail!(
                    "no registry at {} (the default); nothing has been logged yet\nhint: pass --registry URL",
                    path.display()
                );
            }
            Location::Sqlite(path)
        }
    };
    let registry = Registry::open(&location)?;
    match args.command {
        Subcommand::Import { inputs } => run_import(&registry, &inputs, global),
        Subcommand::Prune { older_than } => {
            let deleted = registry.prune_before(now_unix() - older_than)?;
            println!(
                "{deleted} entries older than {older_than} s deleted from {}",
                registry.location()
            );
            Ok(Outcome::Done)
        }
        Subcommand::Delete { ids } => {
            let mut missing = Vec::new();
            for id in &ids {
                match registry.delete(id)? {
                    0 => missing.push(id.as_str()),
                    n => println!("{id}: {n} entr{} deleted", if n == 1 { "y" } else { "ies" }),
                }
            }
            for id in &missing {
                eprintln!("{id}: no entry with this asset id or SHA-256");
            }
            Ok(Outcome::failed_if(!missing.is_empty()))
        }
        Subcommand::Info => {
            println!("registry: {}", registry.location());
            println!("entries: {}", registry.count()?);
            Ok(Outcome::Done)
        }
    }
}

fn run_import(registry: &Registry, paths: &[PathBuf], global: &Global) -> anyhow::Result<Outcome> {
    let mut options = CheckOptions::default();
    for path in &global.config.check.trust {
        options.add_trust_anchor_file(path)?;
    }
    let checker = Checker::new(&options)?;
    let (found, unlisted) = inputs::discover(paths, None);
    let progress = Progress::new(found.len(), global.quiet, "importing");
    let results = batch::run(found, global.jobs, &progress, |input| {
        let result = synthmark::read_image_file(&input.path)
            .map_err(|e| format!("cannot read the file: {e}"))
            .and_then(|bytes| import(registry, &checker, &bytes).map_err(|e| e.to_string()));
        (input.path, result)
    })?;
    let mut failed: Vec<(PathBuf, String)> =
        unlisted.into_iter().map(|u| (u.path, u.reason)).collect();
    let (mut logged, mut already) = (0, 0);
    for (path, result) in results {
        match result {
            Ok(Imported::Logged(_)) => logged += 1,
            Ok(Imported::AlreadyRegistered) => already += 1,
            Err(reason) => failed.push((path, reason)),
        }
    }
    for (path, reason) in &failed {
        eprintln!("error: {}: {reason}", path.display());
    }
    if !global.quiet {
        eprintln!(
            "{logged} logged in {}, {already} already there, {} failed",
            registry.location(),
            failed.len()
        );
    }
    Ok(Outcome::failed_if(!failed.is_empty()))
}

/// `90d`, `12h`, `30m`, `2w`, `3600s` or plain seconds → seconds.
fn parse_age(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age; write e.g. 180d, 12h or 2w"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`; use s, m, h, d or w"
            ))
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("90d"), Ok(90 * 86_400));
        assert_eq!(parse_age("12h"), Ok(43_200));
        assert_eq!(parse_age("30"), Ok(30));
        assert!(parse_age("d").is_err());
        assert!(parse_age("5y").is_err());
    }
}
