//! Stamping throughput: synthmark against the bare `c2pa` crate on the same files, in one run.
//!
//! `cargo bench --bench stamp -- [COUNT] [MEGAPIXELS]` (defaults 1000 and 1.0). Generates COUNT
//! distinct JPEGs, then times, on all cores, reading each file, signing it and writing the result:
//!
//! * `c2pa-bare`: the baseline, `c2pa::Builder::sign` with a minimal AI manifest and nothing else;
//! * `synthmark-metadata`: `Stamper::stamp_file` with the metadata layers only (XMP, format
//!   checks, verify after sign, atomic writes; no watermark), the same job as the baseline's;
//! * `synthmark-metadata-no-verify`: the same without verify-after-sign;
//! * `synthmark-watermark`: the default options, which also decode, watermark and re-encode the
//!   pixels (the pixel path against Pillow is timed by `scripts/pixel-ratios.sh`);
//! * `synthmark-metadata-1-thread` and `c2pa-bare-1-thread`: both on one thread;
//! * `c2pa-bare (again)`: the baseline once more, to show the run-to-run noise.
//!
//! Each line prints images/s, peak memory of that phase, and the ratio to the first baseline.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{Rgb, RgbImage};
use rayon::prelude::*;
use synthmark::{
    DevIdentity, Existing, KeyAlgorithm, SoftwareAgent, StampOptions, Stamper, StamperConfig,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [flag, dir, count] = args.as_slice() {
        if flag == "--generate" {
            // For scripts/bench.sh: write the inputs and stop.
            let dir = Path::new(dir);
            std::fs::create_dir_all(dir)?;
            (0..count.parse::<u32>()?).into_par_iter().for_each(|i| {
                let path = dir.join(format!("img{i:05}.jpg"));
                std::fs::write(path, jpeg(1000, i)).expect("write input");
            });
            return Ok(());
        }
    }
    let count: usize = args.first().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let megapixels: f64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let side = (megapixels * 1e6).sqrt() as u32;

    let work = tempfile::tempdir()?;
    let inputs = work.path().join("in");
    std::fs::create_dir_all(&inputs)?;
    let t = Instant::now();
    let files: Vec<PathBuf> = (0..count)
        .into_par_iter()
        .map(|i| {
            let path = inputs.join(format!("img{i:05}.jpg"));
            std::fs::write(&path, jpeg(side, i as u32)).expect("write input");
            path
        })
        .collect();
    let bytes: u64 = files
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "generated {count} JPEGs of {side}x{side} ({:.0} KB average) in {:.1} s; {} threads",
        bytes as f64 / count as f64 / 1024.0,
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );

    let dev = DevIdentity::generate(KeyAlgorithm::Es256, "bench")?;
    let identity = dev.signing_identity()?;
    let signer = identity.signer(None)?;
    let context = c2pa::Context::new()
        .with_settings(serde_json::json!({
            "verify": { "verify_after_sign": false, "remote_manifest_fetch": false },
            "builder": { "claim_generator_info": { "name": "bench" }, "thumbnail": { "enabled": false } },
        }))?
        .into_shared();
    let bare = |input: &Path, output: &Path| {
        let image = std::fs::read(input).expect("read");
        let mut builder = c2pa::Builder::from_shared_context(&context)
            .with_definition(serde_json::json!({ "assertions": [{
                "label": "c2pa.actions.v2",
                "data": { "actions": [{ "action": "c2pa.created",
                    "digitalSourceType": synthmark::source_types::TRAINED_ALGORITHMIC_MEDIA }] }
            }]}))
            .expect("definition");
        let mut signed = Cursor::new(Vec::with_capacity(image.len() + 16384));
        builder
            .sign(
                signer.as_ref(),
                "image/jpeg",
                &mut Cursor::new(&image),
                &mut signed,
            )
            .expect("sign");
        std::fs::write(output, signed.into_inner()).expect("write");
    };
    // Warm up (page cache, allocator, lazy statics) before anything is measured.
    let warm = work.path().join("warm-up");
    std::fs::create_dir_all(&warm)?;
    files
        .par_iter()
        .take(200)
        .for_each(|f| bare(f, &warm.join(f.file_name().expect("name"))));
    std::fs::remove_dir_all(&warm)?;
    let baseline = phase("c2pa-bare", &files, work.path(), None, bare);

    let options = StampOptions {
        generator: SoftwareAgent::parse("BenchDiffusion/1.0"),
        watermark: None,
        ..StampOptions::default()
    };
    let stamper = Stamper::new(&identity, options.clone())?;
    let stamp = |input: &Path, output: &Path| {
        stamper
            .stamp_file(input, output, Existing::Refuse)
            .expect("stamp");
    };
    phase(
        "synthmark-metadata",
        &files,
        work.path(),
        Some(baseline),
        stamp,
    );

    let fast = Stamper::with_config(
        &identity,
        StamperConfig {
            verify_after_sign: false,
            ..StamperConfig::default()
        },
        options.clone(),
    )?;
    phase(
        "synthmark-metadata-no-verify",
        &files,
        work.path(),
        Some(baseline),
        |i, o| {
            fast.stamp_file(i, o, Existing::Refuse).expect("stamp");
        },
    );

    let marking = Stamper::new(
        &identity,
        StampOptions {
            watermark: StampOptions::default().watermark,
            ..options
        },
    )?;
    phase(
        "synthmark-watermark",
        &files,
        work.path(),
        Some(baseline),
        |i, o| {
            marking.stamp_file(i, o, Existing::Refuse).expect("stamp");
        },
    );

    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    one.install(|| {
        phase(
            "synthmark-metadata-1-thread",
            &files,
            work.path(),
            Some(baseline),
            stamp,
        )
    });
    one.install(|| {
        phase(
            "c2pa-bare-1-thread",
            &files,
            work.path(),
            Some(baseline),
            bare,
        )
    });
    phase(
        "c2pa-bare (again)",
        &files,
        work.path(),
        Some(baseline),
        bare,
    );
    Ok(())
}

/// Runs `job` over every file into a fresh output directory and prints the figures.
fn phase(
    name: &str,
    files: &[PathBuf],
    work: &Path,
    baseline: Option<f64>,
    job: impl Fn(&Path, &Path) + Sync,
) -> f64 {
    let out = work.join(name);
    std::fs::create_dir_all(&out).expect("output dir");
    reset_peak_memory();
    let start = Instant::now();
    files.par_iter().for_each(|input| {
        let output = out.join(input.file_name().expect("file name"));
        job(input, &output);
    });
    let elapsed = start.elapsed().as_secs_f64();
    let rate = files.len() as f64 / elapsed;
    let ratio = baseline
        .map(|b| format!("{:.2}x baseline", rate / b))
        .unwrap_or_else(|| "baseline".to_string());
    println!(
        "{name:<30} {rate:>8.1} images/s  {:>6.2} ms/image  peak RSS {:>6.1} MB  {ratio}",
        1000.0 * elapsed / files.len() as f64,
        peak_memory_mb(),
    );
    std::fs::remove_dir_all(&out).ok();
    rate
}

/// A distinct, photo-like JPEG (gradients plus noise, quality 90).
fn jpeg(side: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let picture = RgbImage::from_fn(side, side, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = state % 24;
        Rgb([
            ((x * 200 / side) + noise) as u8,
            ((y * 200 / side) + noise) as u8,
            (((x + y + seed) % 200) + noise) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&picture)
        .expect("encode");
    out.into_inner()
}

/// Resets the kernel's peak-RSS counter (Linux `clear_refs` 5), so each phase reports its own peak.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}
