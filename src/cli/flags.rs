//! Flag groups more than one subcommand takes, each with the one function that merges it with
//! the configuration file. The precedence is the same everywhere: a flag, then its environment
//! variable (clap reads both), then the configuration file, then the library's default.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use synthmark::{CheckOptions, Limits, SoftwareAgent, StamperConfig, TsaOptions};

use super::config::{CheckConfig, StampConfig};

/// Whom the checks trust: `check` and `serve`.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Trust anchors: PEM files of root certificates whose signers are trusted (repeatable;
    /// `[check] trust`).
    #[arg(
        long,
        env = "SYNTHMARK_TRUST",
        value_name = "PEM",
        value_delimiter = ','
    )]
    pub trust: Vec<PathBuf>,
    /// Trust anchors for RFC 3161 time-stamping authorities: PEM files of root certificates
    /// (repeatable; `[check] trust_tsa`).
    #[arg(
        long,
        env = "SYNTHMARK_TRUST_TSA",
        value_name = "PEM",
        value_delimiter = ','
    )]
    pub trust_tsa: Vec<PathBuf>,
    /// Do not trust the official C2PA trust lists bundled with synthmark (signer and TSA lists,
    /// see trust/README.md): only --trust and --trust-tsa anchors count (`[check] default_trust
    /// = false`).
    #[arg(long)]
    pub no_default_trust: bool,
}

impl TrustArgs {
    /// `base` with the trust these flags and `[check]` give: anchors from both, the bundled
    /// lists unless either turns them off.
    pub fn check_options(
        &self,
        config: &CheckConfig,
        base: CheckOptions,
    ) -> anyhow::Result<CheckOptions> {
        let mut options = CheckOptions {
            official_trust_lists: !self.no_default_trust && config.default_trust.unwrap_or(true),
            ..base
        };
        for path in self.trust.iter().chain(&config.trust) {
            options.add_trust_anchor_file(path)?;
        }
        for path in self.trust_tsa.iter().chain(&config.trust_tsa) {
            options.add_tsa_trust_anchor_file(path)?;
        }
        Ok(options)
    }
}

/// What every signature says and how it is timestamped: `stamp` and `serve`.
#[derive(Debug, Default, clap::Args)]
pub struct SigningArgs {
    /// The generating model, recorded as softwareAgent, e.g. "ExampleDiffusion/2.1"
    /// (`[stamp] generator`).
    #[arg(long, env = "SYNTHMARK_GENERATOR", value_name = "NAME/VERSION")]
    pub generator: Option<String>,
    /// Reserve the images against AI training and data mining (cawg.training-mining;
    /// `[stamp] no_train`).
    #[arg(long)]
    pub no_train: bool,
    /// Timestamp every signature at this RFC 3161 time-stamping authority, so the credentials
    /// stay valid after the signing certificate expires (`[stamp] tsa_url`).
    #[arg(long, env = "SYNTHMARK_TSA_URL", value_name = "URL")]
    pub tsa_url: Option<String>,
    /// When the TSA cannot be reached, sign without a timestamp instead of failing the image
    /// (`[stamp] tsa_optional`).
    #[arg(long, requires = "tsa_url")]
    pub tsa_optional: bool,
    /// Seconds one TSA request may take before it is retried (3 attempts in all). Default: 10
    /// (`[stamp] tsa_timeout`).
    #[arg(long, value_name = "SECS")]
    pub tsa_timeout: Option<u64>,
}

/// What [`SigningArgs::resolve`] decided.
pub struct Signing {
    pub config: StamperConfig,
    pub generator: Option<SoftwareAgent>,
    pub no_train: bool,
}

impl SigningArgs {
    /// The stamper's settings (decoding within `limits`) and the signature's defaults.
    pub fn resolve(&self, config: &StampConfig, limits: Limits) -> anyhow::Result<Signing> {
        let generator = match self.generator.as_deref().or(config.generator.as_deref()) {
            None => None,
            Some(text) => match SoftwareAgent::parse(text) {
                Some(agent) => Some(agent),
                None => bail!("the generator name is empty\nhint: write it as Name/version, e.g. --generator \"ExampleDiffusion/2.1\""),
            },
        };
        let tsa = self
            .tsa_url
            .as_ref()
            .or(config.tsa_url.as_ref())
            .map(|url| {
                let mut tsa = TsaOptions::new(url.clone());
                tsa.optional = self.tsa_optional || config.tsa_optional;
                tsa.timeout = Duration::from_secs(
                    self.tsa_timeout.or(config.tsa_timeout).unwrap_or(10).max(1),
                );
                tsa
            });
        Ok(Signing {
            config: StamperConfig {
                tsa,
                limits,
                ..StamperConfig::default()
            },
            generator,
            no_train: self.no_train || config.no_train,
        })
    }
}
