//! Choosing the signing identity: the certificate chain (`--cert`) and one key source — a key
//! file (`--key`, plain or encrypted), a signing command (`--signer-cmd`) or a key inside a
//! PKCS#11 token (`--pkcs11-module`) — from flags and their environment variables, else from the
//! configuration file; without any, a development identity kept in the user's data directory
//! and created on first use, with a loud warning that nothing outside this machine trusts it.
//!
//! Secrets never come from a flag's value (command lines are visible to every user): a
//! passphrase or PIN comes from an environment variable or a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use synthmark::{
    DevIdentity, IdentityError, IdentityPaths, KeyFilePermissions, KeySelector, KeySource,
    Pkcs11Config, Secret, SignerCommand, SigningIdentity, TokenSelector,
};

use super::config::StampConfig;

/// The environment variable holding the passphrase of an encrypted `--key`.
pub const KEY_PASSPHRASE_ENV: &str = "SYNTHMARK_KEY_PASSPHRASE";
/// The environment variable holding the user PIN of a PKCS#11 token.
pub const PKCS11_PIN_ENV: &str = "SYNTHMARK_PKCS11_PIN";

/// Where `--help` lists the flags of [`IdentityArgs`].
const HEADING: &str = "Signing identity";

/// Flags that select the signing identity.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// Signing certificate chain (PEM, signing certificate first). Needed with every key source.
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_CERT", value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// Private key of the signing certificate: a PKCS#8 PEM, mode 0600. An encrypted one
    /// (BEGIN ENCRYPTED PRIVATE KEY) is decrypted in memory with the passphrase in
    /// $SYNTHMARK_KEY_PASSPHRASE or --key-passphrase-file.
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_KEY", value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// File whose first line is the passphrase of an encrypted --key (mode 0600).
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_KEY_PASSPHRASE_FILE", value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,
    /// Accept a key, passphrase or PIN file that other users can read (by default it is
    /// refused).
    #[arg(long, help_heading = HEADING)]
    pub allow_readable_key: bool,
    /// Sign with this command instead of a key file (a KMS client): it gets the bytes to sign on
    /// standard input and writes the signature (for ECDSA, DER or raw r||s) on standard output.
    /// Split into words like a shell would, but no shell runs it: write sh -c '...' for pipes.
    /// It does not see SYNTHMARK_* variables, PGPASSWORD, PGPASSFILE or DATABASE_URL.
    #[arg(
        long,
        help_heading = HEADING,
        env = "SYNTHMARK_SIGNER_CMD",
        value_name = "COMMAND",
        hide_env_values = true
    )]
    pub signer_cmd: Option<String>,
    /// Seconds one signature by --signer-cmd may take (at least 1). Default: 30.
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_SIGNER_TIMEOUT", value_name = "SECS")]
    pub signer_timeout: Option<u64>,
    /// Sign with a key inside a PKCS#11 token (an HSM): the vendor's module, e.g.
    /// /usr/lib/softhsm/libsofthsm2.so. The PIN comes from $SYNTHMARK_PKCS11_PIN or
    /// --pkcs11-pin-file.
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_PKCS11_MODULE", value_name = "LIBRARY")]
    pub pkcs11_module: Option<PathBuf>,
    /// The label of the token holding the key.
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_PKCS11_TOKEN", value_name = "LABEL")]
    pub pkcs11_token: Option<String>,
    /// The slot of the token holding the key (instead of --pkcs11-token).
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_PKCS11_SLOT", value_name = "ID")]
    pub pkcs11_slot: Option<u64>,
    /// The label of the private key on the token.
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_PKCS11_KEY_LABEL", value_name = "LABEL")]
    pub pkcs11_key_label: Option<String>,
    /// The id of the private key on the token, in hex (pkcs11-tool's --id).
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_PKCS11_KEY_ID", value_name = "HEX")]
    pub pkcs11_key_id: Option<String>,
    /// File whose first line is the token's user PIN (mode 0600).
    #[arg(long, help_heading = HEADING, env = "SYNTHMARK_PKCS11_PIN_FILE", value_name = "FILE")]
    pub pkcs11_pin_file: Option<PathBuf>,
}

/// Where the development identity lives ([`DevIdentity::default_dir`]).
pub fn dev_identity_dir() -> anyhow::Result<PathBuf> {
    DevIdentity::default_dir().context("cannot find a data directory for the development identity: set HOME or XDG_DATA_HOME, or pass --cert and --key")
}

/// True when flags, environment or configuration name a certificate or a key source: then
/// [`resolve`] signs with them (or fails saying what is missing), never with the development
/// identity.
pub fn configured(args: &IdentityArgs, config: &StampConfig) -> bool {
    args.cert.is_some()
        || config.cert.is_some()
        || flag_sources(args).next().is_some()
        || config_sources(config).next().is_some()
}

/// The identity `stamp` and `serve` sign with. `warn` receives the development-identity warning.
pub fn resolve(
    args: &IdentityArgs,
    config: &StampConfig,
    warn: impl Fn(&str),
) -> anyhow::Result<SigningIdentity> {
    if configured(args, config) {
        return load(args, config);
    }
    let (identity, paths, created) = development_identity()?;
    warn(&format!(
        "warning: no signing certificate configured; signing with the DEVELOPMENT identity in {}{}.\n\
         warning: nothing outside this machine trusts it. Check its output with `--trust {}`;\n\
         warning: for production pass --cert with --key, --signer-cmd or --pkcs11-module (or set them in the configuration file).",
        paths.cert.parent().unwrap_or(&paths.cert).display(),
        if created { " (created now)" } else { "" },
        paths.ca.display(),
    ));
    Ok(identity)
}

/// The key sources named by flags (or their environment variables).
fn flag_sources(args: &IdentityArgs) -> impl Iterator<Item = &'static str> + '_ {
    [
        ("--key", args.key.is_some()),
        ("--signer-cmd", args.signer_cmd.is_some()),
        ("--pkcs11-module", args.pkcs11_module.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
}

/// The key sources named by the configuration file's `[stamp]`.
fn config_sources(config: &StampConfig) -> impl Iterator<Item = &'static str> + '_ {
    [
        ("key", config.key.is_some()),
        ("signer_cmd", config.signer_cmd.is_some()),
        ("pkcs11_module", config.pkcs11_module.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
}

/// Where the key is, once flags and configuration are merged.
enum Source {
    File(PathBuf),
    Command(String),
    Pkcs11(PathBuf),
}

fn load(args: &IdentityArgs, config: &StampConfig) -> anyhow::Result<SigningIdentity> {
    let permissions = if args.allow_readable_key {
        KeyFilePermissions::AllowReadable
    } else {
        KeyFilePermissions::OwnerOnly
    };
    let flags: Vec<_> = flag_sources(args).collect();
    let source = match flags.as_slice() {
        [_, _, ..] => bail!(
            "{} were all given; sign with one key source: --key, --signer-cmd or --pkcs11-module",
            flags.join(" and ")
        ),
        [_] => key_source(
            args.key.clone(),
            args.signer_cmd.clone(),
            args.pkcs11_module.clone(),
        ),
        [] => {
            let set: Vec<_> = config_sources(config).collect();
            if set.len() > 1 {
                bail!(
                    "the configuration's [stamp] sets {}; keep one key source: key, signer_cmd or pkcs11_module",
                    set.join(" and ")
                );
            }
            key_source(
                config.key.clone(),
                config.signer_cmd.clone(),
                config.pkcs11_module.clone(),
            )
        }
    };
    let cert = args.cert.clone().or_else(|| config.cert.clone());
    let (cert, source) = match (cert, source) {
        (Some(cert), Some(source)) => (cert, source),
        (Some(_), None) => bail!(
            "--cert was given without --key; give a key source with it: --key, --signer-cmd or --pkcs11-module"
        ),
        (None, Some(source)) => bail!(
            "{} was given without --cert; give the certificate chain (PEM, signing certificate first) with it",
            match source {
                Source::File(_) => "--key",
                Source::Command(_) => "--signer-cmd",
                Source::Pkcs11(_) => "--pkcs11-module",
            }
        ),
        (None, None) => bail!("no signing certificate or key source is configured"),
    };
    refuse_stray_flags(args, &source)?;
    let (source, kind) = match source {
        Source::File(key) => (
            KeySource::File {
                key,
                passphrase: passphrase(args, config, permissions)?,
                permissions,
            },
            Kind::File,
        ),
        Source::Command(line) => {
            let timeout = match args.signer_timeout.or(config.signer_timeout) {
                None => SignerCommand::DEFAULT_TIMEOUT,
                Some(0) => bail!(
                    "--signer-timeout (signer_timeout) is 0; give the seconds one signature may take, at least 1"
                ),
                Some(seconds) => Duration::from_secs(seconds),
            };
            let command = SignerCommand::parse(&line)
                .map_err(|err| anyhow::anyhow!("--signer-cmd (signer_cmd): {err}"))?
                .with_timeout(timeout);
            (KeySource::Command(command), Kind::Command)
        }
        Source::Pkcs11(module) => (
            KeySource::Pkcs11(pkcs11_config(args, config, module, permissions)?),
            Kind::Pkcs11,
        ),
    };
    SigningIdentity::load(&cert, &source).map_err(|err| explain(&err, &cert, &source, kind))
}

fn key_source(
    key: Option<PathBuf>,
    command: Option<String>,
    module: Option<PathBuf>,
) -> Option<Source> {
    key.map(Source::File)
        .or(command.map(Source::Command))
        .or(module.map(Source::Pkcs11))
}

/// Flags of another key source than the one in use: a mistake worth stopping for.
fn refuse_stray_flags(args: &IdentityArgs, source: &Source) -> anyhow::Result<()> {
    let (file, command, pkcs11) = match source {
        Source::File(_) => (true, false, false),
        Source::Command(_) => (false, true, false),
        Source::Pkcs11(_) => (false, false, true),
    };
    let stray = [
        (
            "--key-passphrase-file",
            "--key",
            file,
            args.key_passphrase_file.is_some(),
        ),
        (
            "--signer-timeout",
            "--signer-cmd",
            command,
            args.signer_timeout.is_some(),
        ),
        (
            "--pkcs11-token",
            "--pkcs11-module",
            pkcs11,
            args.pkcs11_token.is_some(),
        ),
        (
            "--pkcs11-slot",
            "--pkcs11-module",
            pkcs11,
            args.pkcs11_slot.is_some(),
        ),
        (
            "--pkcs11-key-label",
            "--pkcs11-module",
            pkcs11,
            args.pkcs11_key_label.is_some(),
        ),
        (
            "--pkcs11-key-id",
            "--pkcs11-module",
            pkcs11,
            args.pkcs11_key_id.is_some(),
        ),
        (
            "--pkcs11-pin-file",
            "--pkcs11-module",
            pkcs11,
            args.pkcs11_pin_file.is_some(),
        ),
    ];
    for (flag, belongs_to, in_use, given) in stray {
        if given && !in_use {
            bail!("{flag} applies to {belongs_to} only, and the key comes from elsewhere; drop it");
        }
    }
    Ok(())
}

/// The passphrase of an encrypted key file: `--key-passphrase-file`, else
/// `$SYNTHMARK_KEY_PASSPHRASE`, else `[stamp] key_passphrase_file`.
fn passphrase(
    args: &IdentityArgs,
    config: &StampConfig,
    permissions: KeyFilePermissions,
) -> anyhow::Result<Option<Secret>> {
    if let Some(file) = &args.key_passphrase_file {
        return Ok(Some(secret_file(
            file,
            permissions,
            "--key-passphrase-file",
        )?));
    }
    if let Some(secret) = Secret::from_env(KEY_PASSPHRASE_ENV) {
        return Ok(Some(secret));
    }
    config
        .key_passphrase_file
        .as_deref()
        .map(|file| secret_file(file, permissions, "[stamp] key_passphrase_file"))
        .transpose()
}

fn secret_file(
    file: &Path,
    permissions: KeyFilePermissions,
    setting: &str,
) -> anyhow::Result<Secret> {
    Secret::from_file(file, permissions).map_err(|err| {
        let hint = match err {
            IdentityError::KeyReadable { .. } => format!(
                "\nhint: `chmod 600 {}`, or pass --allow-readable-key if it must stay readable",
                file.display()
            ),
            _ => String::new(),
        };
        anyhow::anyhow!("{setting}: {err}{hint}")
    })
}

/// The PKCS#11 settings, each from its flag, else the configuration; the PIN from
/// `--pkcs11-pin-file`, else `$SYNTHMARK_PKCS11_PIN`, else `[stamp] pkcs11_pin_file`.
fn pkcs11_config(
    args: &IdentityArgs,
    config: &StampConfig,
    module: PathBuf,
    permissions: KeyFilePermissions,
) -> anyhow::Result<Pkcs11Config> {
    let token = match (&args.pkcs11_token, args.pkcs11_slot) {
        (Some(_), Some(_)) => bail!("give --pkcs11-token or --pkcs11-slot, not both"),
        (Some(label), None) => TokenSelector::Label(label.clone()),
        (None, Some(slot)) => TokenSelector::Slot(slot),
        (None, None) => match (&config.pkcs11_token, config.pkcs11_slot) {
            (Some(_), Some(_)) => bail!(
                "the configuration's [stamp] sets both pkcs11_token and pkcs11_slot; keep one"
            ),
            (Some(label), None) => TokenSelector::Label(label.clone()),
            (None, Some(slot)) => TokenSelector::Slot(slot),
            (None, None) => bail!(
                "--pkcs11-module needs the token: give --pkcs11-token LABEL or --pkcs11-slot ID\n\
                 hint: `pkcs11-tool --module {} --list-token-slots` lists them",
                module.display()
            ),
        },
    };
    let (label, id) = if args.pkcs11_key_label.is_some() || args.pkcs11_key_id.is_some() {
        (args.pkcs11_key_label.clone(), args.pkcs11_key_id.as_deref())
    } else {
        (
            config.pkcs11_key_label.clone(),
            config.pkcs11_key_id.as_deref(),
        )
    };
    let id = id
        .map(|hex| {
            KeySelector::parse_id(hex).with_context(|| {
                format!("--pkcs11-key-id {hex:?} is not hex (pkcs11-tool's --id, e.g. 01 or a1:b2)")
            })
        })
        .transpose()?;
    if label.is_none() && id.is_none() {
        bail!(
            "--pkcs11-module needs the key: give --pkcs11-key-label LABEL or --pkcs11-key-id HEX\n\
             hint: `pkcs11-tool --module {} --login --list-objects --type privkey` lists them",
            module.display()
        );
    }
    let pin = match &args.pkcs11_pin_file {
        Some(file) => Some(secret_file(file, permissions, "--pkcs11-pin-file")?),
        None => match Secret::from_env(PKCS11_PIN_ENV) {
            Some(pin) => Some(pin),
            None => config
                .pkcs11_pin_file
                .as_deref()
                .map(|file| secret_file(file, permissions, "[stamp] pkcs11_pin_file"))
                .transpose()?,
        },
    };
    Ok(Pkcs11Config::new(
        module,
        token,
        KeySelector { label, id },
        pin,
    ))
}

/// Which kind of key source failed, for the hint.
#[derive(Clone, Copy)]
enum Kind {
    File,
    Command,
    Pkcs11,
}

/// The identity error, what was being loaded, and the flag or command that fixes it.
fn explain(err: &IdentityError, cert: &Path, source: &KeySource, kind: Kind) -> anyhow::Error {
    let hint = match (err, kind) {
        (IdentityError::KeyReadable { path, .. }, _) => format!(
            "`chmod 600 {}`, or pass --allow-readable-key if it must stay readable",
            path.display()
        ),
        (IdentityError::PassphraseMissing, _) => format!(
            "give its passphrase in ${KEY_PASSPHRASE_ENV}, or in a file named by --key-passphrase-file ([stamp] key_passphrase_file)"
        ),
        (IdentityError::WrongPassphrase, _) => format!(
            "check the passphrase in ${KEY_PASSPHRASE_ENV} or --key-passphrase-file; `openssl pkey -in KEY -noout` asks for it and says whether it opens the key"
        ),
        (IdentityError::KeyNotEncrypted, _) => format!(
            "unset ${KEY_PASSPHRASE_ENV} and drop --key-passphrase-file, or encrypt the key: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key.enc.pem`"
        ),
        (IdentityError::KeyMismatch, Kind::Pkcs11) => "the token's key is not the certificate's: check --pkcs11-key-label / --pkcs11-key-id, or give the certificate issued for that key".into(),
        (IdentityError::KeyMismatch, Kind::Command) => "the command signs with another key (or another algorithm) than the certificate's".into(),
        (IdentityError::Pkcs11 { .. }, _) => format!(
            "`pkcs11-tool --module MODULE --list-token-slots` lists the tokens and `--login --list-objects --type privkey` the keys; the PIN comes from ${PKCS11_PIN_ENV} or --pkcs11-pin-file"
        ),
        (IdentityError::Signer { .. }, Kind::Command) => "run the command by hand, `printf probe | COMMAND > signature.bin`: it must exit 0 and write the signature (DER or raw) on its standard output".into(),
        (IdentityError::Read { .. } | IdentityError::SecretFile { .. }, _) => String::new(),
        _ => "`synthmark keygen --out DIR` makes a test identity; for production use a certificate from a CA on the C2PA trust list".into(),
    };
    let hint = if hint.is_empty() {
        hint
    } else {
        format!("\nhint: {hint}")
    };
    // A signer's failure names the signer itself: said once.
    let what = match err {
        IdentityError::Signer { .. } => cert.display().to_string(),
        _ => format!("{} and {}", cert.display(), source.describe()),
    };
    anyhow::anyhow!("cannot sign with {what}: {err}{hint}")
}

/// Loads the development identity, creating it on first use.
pub fn development_identity() -> anyhow::Result<(SigningIdentity, IdentityPaths, bool)> {
    let dir = dev_identity_dir()?;
    DevIdentity::load_or_create(&dir).with_context(|| {
        format!(
            "the development identity in {} is unusable\nhint: delete that directory and run again to create a new one",
            dir.display()
        )
    })
}
