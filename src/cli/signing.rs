//! Choosing the signing identity: `--cert`/`--key` (or their environment variables), then the
//! configuration file, then a development identity kept in the user's data directory and
//! created on first use, with a loud warning that nothing outside this machine trusts it.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use synthmark::{
    DevIdentity, IdentityError, IdentityPaths, KeyAlgorithm, KeyFilePermissions, SigningIdentity,
};

use super::config::StampConfig;

/// Flags that select the signing identity.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// Signing certificate chain (PEM, signing certificate first).
    #[arg(long, env = "SYNTHMARK_CERT", value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// Private key of the signing certificate (unencrypted PKCS#8 PEM, mode 0600).
    #[arg(long, env = "SYNTHMARK_KEY", value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// Accept a key file that other users can read (by default it is refused).
    #[arg(long)]
    pub allow_readable_key: bool,
}

/// Where the development identity lives: `$XDG_DATA_HOME/synthmark/dev-identity`, else
/// `~/.local/share/synthmark/dev-identity`.
pub fn dev_identity_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .context("cannot find a data directory for the development identity: set HOME or XDG_DATA_HOME, or pass --cert and --key")?;
    Ok(base.join("synthmark").join("dev-identity"))
}

/// The identity `stamp` signs with. `warn` receives the development-identity warning.
pub fn resolve(
    args: &IdentityArgs,
    config: &StampConfig,
    warn: impl Fn(&str),
) -> anyhow::Result<SigningIdentity> {
    let cert = args.cert.clone().or_else(|| config.cert.clone());
    let key = args.key.clone().or_else(|| config.key.clone());
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let permissions = if args.allow_readable_key {
                KeyFilePermissions::AllowReadable
            } else {
                KeyFilePermissions::OwnerOnly
            };
            SigningIdentity::from_files_with(&cert, &key, permissions).map_err(|err| {
                let hint = match &err {
                    IdentityError::KeyReadable { path, .. } => format!(
                        "hint: `chmod 600 {}`, or pass --allow-readable-key if it must stay readable",
                        path.display()
                    ),
                    _ => "hint: `synthmark keygen --out DIR` makes a test identity; for production use a certificate from a CA on the C2PA trust list".to_string(),
                };
                anyhow::anyhow!(
                    "cannot sign with {} and {}: {err}\n{hint}",
                    cert.display(),
                    key.display()
                )
            })
        }
        (Some(_), None) => bail!("--cert was given without --key; give both"),
        (None, Some(_)) => bail!("--key was given without --cert; give both"),
        (None, None) => {
            let (identity, paths, created) = development_identity()?;
            warn(&format!(
                "warning: no signing certificate configured; signing with the DEVELOPMENT identity in {}{}.\n\
                 warning: nothing outside this machine trusts it. Check its output with `--trust {}`;\n\
                 warning: for production pass --cert and --key (or set them in the configuration file).",
                paths.cert.parent().unwrap_or(&paths.cert).display(),
                if created { " (created now)" } else { "" },
                paths.ca.display(),
            ));
            Ok(identity)
        }
    }
}

/// Loads the development identity, creating it on first use.
pub fn development_identity() -> anyhow::Result<(SigningIdentity, IdentityPaths, bool)> {
    let dir = dev_identity_dir()?;
    let paths = IdentityPaths::in_dir(&dir);
    let created = !paths.key.exists();
    if created {
        DevIdentity::generate(KeyAlgorithm::Es256, "synthmark development")?
            .write_to(&dir, false)
            .with_context(|| {
                format!(
                    "cannot create the development identity in {}",
                    dir.display()
                )
            })?;
    }
    let identity = SigningIdentity::from_files(&paths.cert, &paths.key).with_context(|| {
        format!(
            "the development identity in {} is unusable\nhint: delete that directory and run again to create a new one",
            dir.display()
        )
    })?;
    Ok((identity, paths, created))
}
