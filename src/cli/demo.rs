//! `synthmark demo`: the README's first command. Stamps the bundled samples with the development
//! identity, then checks the results with the development CA as trust anchor, so a new user sees
//! the whole loop with nothing to configure.

use std::path::PathBuf;

use synthmark::{CheckOptions, Checker, Limits, StampOptions, Stamper};

use super::config::StampConfig;
use super::flags::SigningArgs;
use super::signing::development_identity;
use super::{check, inputs, stamp, Global, Outcome, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Images to stamp.
    #[arg(long, default_value = "samples", value_name = "DIR")]
    samples: PathBuf,
    /// Where the stamped copies go (replaced on every run).
    #[arg(long, default_value = "labelled", value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let (identity, paths, created) = development_identity()?;
    println!(
        "Signing with the DEVELOPMENT identity in {}{} (for testing only).",
        paths.ca.parent().unwrap_or(&paths.ca).display(),
        if created { ", created now" } else { "" }
    );
    // Fixed settings, whatever the configuration file says: the demo shows the defaults.
    let signing = SigningArgs {
        generator: Some("synthmark-demo/1.0".to_string()),
        no_train: true,
        ..SigningArgs::default()
    }
    .resolve(&StampConfig::default(), Limits::default())?;
    let options = StampOptions {
        generator: signing.generator,
        no_train: signing.no_train,
        ..StampOptions::default()
    };
    // The registry the configuration names, else the default SQLite file beside the identity.
    let registry_args = super::registry::RegistryArgs {
        registry: std::env::var("SYNTHMARK_REGISTRY").ok(),
        no_registry: false,
    };
    let registry = super::registry::for_stamping(&registry_args, &global.config.registry)?;
    let mut stamper = Stamper::with_config(&identity, signing.config, options)?;
    if let Some(registry) = &registry {
        println!(
            "Logging every output in the registry {}.",
            registry.location()
        );
        stamper = stamper.with_registry(registry.clone());
    }
    let (found, unlisted) = inputs::discover(std::slice::from_ref(&args.samples), Some(&args.out));
    let (jobs, refused) = stamp::plan(found, Some(&args.out));
    let (outcome, _) = stamp::stamp_batch(&stamper, jobs, stamp::Mode::Replace, global, None)?;
    println!(
        "Stamped {} images from {} into {} ({} failed).",
        outcome.stamped,
        args.samples.display(),
        args.out.display(),
        outcome.failures.len() + unlisted.len() + refused.len()
    );
    if outcome.without_xmp > 0 {
        println!("{}", stamp::xmp_note(outcome.without_xmp));
    }
    for (path, reason) in outcome.failures.iter().chain(&refused) {
        println!("  {}: {reason}", path.display());
    }
    for u in &unlisted {
        println!("  {}: {}", u.path.display(), u.reason);
    }

    println!(
        "\nChecking {} with the development CA as trust anchor:\n",
        args.out.display()
    );
    let mut check_options = CheckOptions::default();
    check_options.add_trust_anchor_file(&paths.ca)?;
    let mut checker = Checker::new(&check_options)?;
    if let Some(registry) = registry {
        checker = checker.with_registry(registry);
    }
    let reports = check::check_paths(&checker, std::slice::from_ref(&args.out), global)?;
    check::print_reports(&reports, OutputFormat::Table)?;

    let stripped = strip_one(&args.out)?;
    if let Some(stripped) = &stripped {
        println!(
            "\nA platform strips all metadata on upload (decoded and re-encoded: {}); the watermark and the registry still tell:\n",
            stripped.display()
        );
        let reports = check::check_paths(&checker, std::slice::from_ref(stripped), global)?;
        check::print_reports(&reports, OutputFormat::Table)?;
    }

    println!("\nNext:");
    println!(
        "  synthmark check {}                       # the same files, no trust anchor: untrusted",
        args.out.display()
    );
    println!(
        "  synthmark check --format json --trust {} {}",
        paths.ca.display(),
        args.out.display()
    );
    println!(
        "  synthmark stamp --out DIR --generator \"Model/1.0\" IMAGES...   # label your own images"
    );
    let failed = !outcome.failures.is_empty() || !refused.is_empty() || !unlisted.is_empty();
    Ok(Outcome::failed_if(failed).and(check::outcome(&reports)))
}

/// Decodes the stamped landscape.jpg and writes it again without any metadata, into
/// `OUT-stripped/` (beside the output, so a second demo run does not check it twice), as an
/// upload pipeline would.
fn strip_one(out: &std::path::Path) -> anyhow::Result<Option<std::path::PathBuf>> {
    let source = out.join("landscape.jpg");
    let Ok(image) = image::open(&source) else {
        return Ok(None);
    };
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push("-stripped");
    let dir = out.with_file_name(name);
    std::fs::create_dir_all(&dir)?;
    let target = dir.join("landscape.jpg");
    image
        .to_rgb8()
        .save_with_format(&target, image::ImageFormat::Jpeg)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
    Ok(Some(target))
}
