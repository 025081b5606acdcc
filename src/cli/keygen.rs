//! `synthmark keygen`: create a development signing identity.

use std::path::PathBuf;

use clap::ValueEnum;
use synthmark::{DevIdentity, KeyAlgorithm};

use super::advice;
use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write ca.pem, cert.pem and key.pem (mode 0600) into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = Alg::Es256)]
    alg: Alg,
    /// Organisation named in the certificates.
    #[arg(long, default_value = "synthmark development")]
    org: String,
    /// Replace an identity that already exists in DIR.
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Alg {
    /// ECDSA P-256 / SHA-256
    Es256,
    /// ECDSA P-384 / SHA-384
    Es384,
    /// Ed25519
    Ed25519,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let alg = match args.alg {
        Alg::Es256 => KeyAlgorithm::Es256,
        Alg::Es384 => KeyAlgorithm::Es384,
        Alg::Ed25519 => KeyAlgorithm::Ed25519,
    };
    let identity = DevIdentity::generate(alg, &args.org)?;
    let paths = identity.write_to(&args.out, args.force).map_err(|err| {
        let advice = advice::for_identity(&err)
            .map(|a| format!("\nhint: {a}"))
            .unwrap_or_default();
        anyhow::anyhow!("cannot write the identity: {err}{advice}")
    })?;
    println!(
        "Created a DEVELOPMENT signing identity in {}:",
        args.out.display()
    );
    println!(
        "  {}  root CA: the trust anchor for `synthmark check --trust {}`",
        paths.ca.display(),
        paths.ca.display()
    );
    println!(
        "  {}  signing certificate (valid 1 year)",
        paths.cert.display()
    );
    println!(
        "  {}  private key (mode 0600; keep it secret)",
        paths.key.display()
    );
    println!();
    println!(
        "For testing only: nothing outside your machine trusts this CA, and its key was not kept."
    );
    println!("In production, sign with a certificate from a CA on the C2PA trust list:");
    println!("  synthmark stamp --cert chain.pem --key key.pem ...");
    Ok(Outcome::Done)
}
