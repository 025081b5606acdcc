//! Watermark robustness report: embed → attack → detect over a set of images, the "documented
//! internal testing" the Code of Practice asks for. Run it through `scripts/robustness.sh`.
//!
//! Images: every file under each `--corpus` (repeatable) that decodes (short side ≥ 256 px; long side capped at
//! 2048 px to bound the run time) plus `--generated N` procedural images. For every image and
//! attack it records whether the exact payload came back (CRC-checked asset id) and the bit
//! accuracy of the strongest hypothesis. `--false-positives N` instead runs the detector over N
//! unmarked random crops and rescalings and counts detections.
//!
//! `--only NAME,NAME` runs a subset of the attacks (for quick experiments).
//!
//! Writes `robustness.md` and `robustness.svg` into `--out`, plus `flat-area.png` (original |
//! marked | 16× difference of the flattest 256×256 region) for looking at.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{imageops, DynamicImage, Rgb, RgbImage};
use rayon::prelude::*;

mod attacks;

use attacks::{attacks, crop, jpeg, resize, Attack};
use synthmark::watermark::{self, AssetId};

struct Args {
    corpus: Vec<PathBuf>,
    generated: usize,
    out: PathBuf,
    strength: f32,
    false_positives: usize,
    seed: u64,
    probe: Vec<PathBuf>,
    attack: Option<String>,
    only: Option<String>,
    bench: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        corpus: Vec::new(),
        generated: 40,
        out: PathBuf::from("target/robustness"),
        strength: watermark::DEFAULT_STRENGTH,
        false_positives: 0,
        seed: 1,
        probe: Vec::new(),
        attack: None,
        only: None,
        bench: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--corpus" => args.corpus.push(PathBuf::from(value())),
            "--generated" => {
                args.generated = value().parse().unwrap_or_else(|_| die("--generated N"))
            }
            "--out" => args.out = PathBuf::from(value()),
            "--strength" => args.strength = value().parse().unwrap_or_else(|_| die("--strength F")),
            "--false-positives" => {
                args.false_positives = value()
                    .parse()
                    .unwrap_or_else(|_| die("--false-positives N"))
            }
            "--seed" => args.seed = value().parse().unwrap_or_else(|_| die("--seed N")),
            "--probe" => args.probe.push(PathBuf::from(value())),
            "--attack" => args.attack = Some(value()),
            "--only" => args.only = Some(value()),
            "--bench" => args.bench = true,
            other => die(&format!("unknown option {other}")),
        }
    }
    args
}

fn die(message: &str) -> ! {
    eprintln!("robustness: {message}");
    std::process::exit(2)
}

fn main() {
    let args = parse_args();
    if args.bench {
        bench();
        return;
    }
    if !args.probe.is_empty() {
        for path in &args.probe {
            let mut image =
                image::open(path).unwrap_or_else(|e| die(&format!("{}: {e}", path.display())));
            if let Some(name) = &args.attack {
                let attack = attacks()
                    .into_iter()
                    .find(|(n, _)| n == name)
                    .unwrap_or_else(|| die("unknown attack"));
                image = DynamicImage::ImageRgb8(attack.1(&image.into_rgb8()));
            }
            let started = Instant::now();
            let analysis = watermark::analyse(&image);
            println!(
                "{}: {:?} ({:.0} ms)",
                path.display(),
                analysis,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        return;
    }
    std::fs::create_dir_all(&args.out)
        .unwrap_or_else(|e| die(&format!("{}: {e}", args.out.display())));
    let mut images = Vec::new();
    for corpus in &args.corpus {
        images.extend(corpus_images(corpus));
    }
    let corpus_count = images.len();
    images.extend((0..args.generated).map(|i| {
        (
            "generated".to_string(),
            generated_image(args.seed + i as u64),
        )
    }));
    eprintln!(
        "{} images ({corpus_count} from the corpus, {} generated)",
        images.len(),
        args.generated
    );
    if images.is_empty() {
        die("no images");
    }
    if args.false_positives > 0 {
        false_positives(&images, args.false_positives, args.seed);
        return;
    }
    robustness(&images, &args);
}

/// Decodable images from a directory tree, RGB, capped at 2048 px on the long side.
fn corpus_images(dir: &Path) -> Vec<(String, RgbImage)> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    paths.sort();
    paths
        .par_iter()
        .filter_map(|path| {
            let image = image::open(path).ok()?.into_rgb8();
            let (w, h) = image.dimensions();
            if w.min(h) < watermark::MIN_SIDE as u32 {
                return None;
            }
            let long = w.max(h);
            let image = if long > 2048 {
                let s = 2048.0 / long as f32;
                imageops::resize(
                    &image,
                    (w as f32 * s) as u32,
                    (h as f32 * s) as u32,
                    imageops::FilterType::CatmullRom,
                )
            } else {
                image
            };
            Some((
                path.strip_prefix(dir).unwrap_or(path).display().to_string(),
                image,
            ))
        })
        .collect()
}

/// A procedural test image: smooth gradients, soft blobs, 1/f-like value noise and a flat area.
fn generated_image(seed: u64) -> RgbImage {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let sizes = [
        (1024, 1024),
        (1280, 720),
        (768, 1152),
        (1024, 768),
        (640, 480),
        (1600, 1200),
    ];
    let (w, h) = sizes[(rng.next() % sizes.len() as u64) as usize];
    let base: [f32; 3] = [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0];
    let tilt: [f32; 3] = [rng.unit() - 0.5, rng.unit() - 0.5, rng.unit() - 0.5];
    let blobs: Vec<(f32, f32, f32, [f32; 3])> = (0..6)
        .map(|_| {
            (
                rng.unit() * w as f32,
                rng.unit() * h as f32,
                40.0 + rng.unit() * 250.0,
                [
                    rng.unit() * 160.0 - 80.0,
                    rng.unit() * 160.0 - 80.0,
                    rng.unit() * 160.0 - 80.0,
                ],
            )
        })
        .collect();
    let octaves: Vec<(Vec<f32>, usize, f32)> = (0..5)
        .map(|o| {
            let cell = 256 >> o;
            let n = (w / cell + 2) * (h / cell + 2);
            (
                ((0..n).map(|_| rng.unit() - 0.5)).collect(),
                cell,
                60.0 / (1 << o) as f32 * rng.unit(),
            )
        })
        .collect();
    let texture = rng.unit() * 1.5;
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let mut v = [0.0f32; 3];
        let mut noise = 0.0;
        for (grid, cell, amp) in &octaves {
            let cols = w / cell + 2;
            let (gx, gy) = (xf / *cell as f32, yf / *cell as f32);
            let (ix, iy) = (gx as usize, gy as usize);
            let (fx, fy) = (gx - ix as f32, gy - iy as f32);
            let (fx, fy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
            let g = |i: usize, j: usize| grid[j * cols + i];
            let top = g(ix, iy) * (1.0 - fx) + g(ix + 1, iy) * fx;
            let bottom = g(ix, iy + 1) * (1.0 - fx) + g(ix + 1, iy + 1) * fx;
            noise += amp * (top * (1.0 - fy) + bottom * fy);
        }
        // The left fifth stays flat: the hardest place to hide a mark.
        let flat = xf < w as f32 * 0.2;
        for c in 0..3 {
            v[c] = base[c] + tilt[c] * (xf + yf) * 0.15;
            if !flat {
                v[c] += noise * texture;
                for (bx, by, r, col) in &blobs {
                    let d2 = ((xf - bx).powi(2) + (yf - by).powi(2)) / (r * r);
                    v[c] += col[c] * (-d2).exp();
                }
            }
        }
        Rgb(v.map(|c| c.clamp(0.0, 255.0) as u8))
    })
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

// ---- the report --------------------------------------------------------------------------------

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

struct Row {
    name: &'static str,
    exact: usize,
    bits: f64,
    total: usize,
    /// The same counts over the images whose short side is at least 512 px.
    exact_large: usize,
    total_large: usize,
    failures: Vec<String>,
}

fn robustness(images: &[(String, RgbImage)], args: &Args) {
    let attacks: Vec<Attack> = attacks()
        .into_iter()
        .filter(|(name, _)| {
            args.only
                .as_deref()
                .is_none_or(|only| only.split(',').any(|o| o == *name))
        })
        .collect();
    let started = Instant::now();
    let results: Vec<(f64, Vec<(bool, u32)>)> = images
        .par_iter()
        .enumerate()
        .map(|(i, (_, original))| {
            let id =
                AssetId::new((args.seed.wrapping_mul(1_000_003) + i as u64 * 7_919) % (1 << 40))
                    .expect("id");
            let mut marked = DynamicImage::ImageRgb8(original.clone());
            watermark::embed(&mut marked, id, args.strength).expect("embed");
            let marked = marked.into_rgb8();
            let quality = psnr(original, &marked);
            let word = watermark::pack(id);
            let outcomes = attacks
                .iter()
                .map(|(_, attack)| {
                    let attacked = DynamicImage::ImageRgb8(attack(&marked));
                    let analysis = watermark::analyse(&attacked);
                    let exact = analysis
                        .detection
                        .as_ref()
                        .is_some_and(|d| d.asset_id == id);
                    let correct = analysis
                        .strongest_word
                        .map_or(32, |w| 64 - (w ^ word).count_ones());
                    (exact, correct)
                })
                .collect();
            (quality, outcomes)
        })
        .collect();
    let elapsed = started.elapsed();
    let mut rows: Vec<Row> = attacks
        .iter()
        .map(|(name, _)| Row {
            name,
            exact: 0,
            bits: 0.0,
            total: 0,
            exact_large: 0,
            total_large: 0,
            failures: Vec::new(),
        })
        .collect();
    for ((name, image), (_, outcomes)) in images.iter().zip(&results) {
        let large = image.width().min(image.height()) >= 512;
        for (row, (exact, correct)) in rows.iter_mut().zip(outcomes) {
            row.total += 1;
            row.exact += usize::from(*exact);
            row.total_large += usize::from(large);
            row.exact_large += usize::from(large && *exact);
            row.bits += *correct as f64 / 64.0;
            if !exact {
                row.failures.push(name.clone());
            }
        }
    }
    let psnrs: Vec<f64> = results.iter().map(|r| r.0).collect();
    let mean_psnr = psnrs.iter().sum::<f64>() / psnrs.len() as f64;
    let min_psnr = psnrs.iter().cloned().fold(f64::MAX, f64::min);

    let mut md = String::new();
    md.push_str("# synthmark watermark robustness report\n\n");
    md.push_str(&format!(
        "Algorithm `{}`, strength {}. {} images ({} generated), {} attacks, {:.0} s on {} threads.\n\n",
        watermark::ALGORITHM, args.strength, images.len(), args.generated, attacks.len(), elapsed.as_secs_f64(), rayon::current_num_threads()
    ));
    md.push_str(&format!("Quality: PSNR of the marked image (RGB, before any encoding): mean **{mean_psnr:.1} dB**, minimum {min_psnr:.1} dB.\n\n"));
    md.push_str("*Detected* = the exact payload came back and passed the version and check bits. *Bit accuracy* = matching bits of the strongest hypothesis's decoded 64-bit word (0.5 = chance).\n\n");
    let large = rows.first().map_or(0, |r| r.total_large);
    md.push_str(&format!("| attack | detected | detection rate | short side ≥ 512 px ({large} images) | bit accuracy |\n|---|---|---|---|---|\n"));
    let percent = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    let mut table = String::from("| attack | all images | short side ≥ 512 px |\n|---|---|---|\n");
    for row in &rows {
        md.push_str(&format!(
            "| {} | {}/{} | {:.1} % | {:.1} % | {:.3} |\n",
            row.name,
            row.exact,
            row.total,
            percent(row.exact, row.total),
            percent(row.exact_large, row.total_large),
            row.bits / row.total as f64
        ));
        table.push_str(&format!(
            "| {} | {:.1} % | {:.1} % |\n",
            row.name,
            percent(row.exact, row.total),
            percent(row.exact_large, row.total_large)
        ));
    }
    write(&args.out.join("robustness-table.md"), table.as_bytes());
    let failing: Vec<&Row> = rows.iter().filter(|r| !r.failures.is_empty()).collect();
    if !failing.is_empty() {
        md.push_str("\nMissed images per attack:\n\n");
        for row in failing {
            let shown: Vec<&str> = row.failures.iter().take(8).map(String::as_str).collect();
            let more = row.failures.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            md.push_str(&format!("- {}: {}{tail}\n", row.name, shown.join(", ")));
        }
    }
    print!("{md}");
    write(&args.out.join("robustness.md"), md.as_bytes());
    write(&args.out.join("robustness.svg"), chart(&rows).as_bytes());
    flat_area(images, args);
    eprintln!(
        "wrote {}/robustness.md, robustness.svg, flat-area.png",
        args.out.display()
    );
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| die(&format!("{}: {e}", path.display())));
}

/// A horizontal bar chart of the detection rate per attack.
fn chart(rows: &[Row]) -> String {
    let (label_w, bar_w, row_h) = (230.0, 420.0, 22.0);
    let height = 50.0 + row_h * rows.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Watermark detection rate per attack (exact payload)</text>\n",
        w = label_w + bar_w + 80.0
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 38.0 + row_h * i as f64;
        let rate = row.exact as f64 / row.total as f64;
        let colour = if rate >= 0.99 {
            "#1a7f37"
        } else if rate >= 0.95 {
            "#9a6700"
        } else {
            "#cf222e"
        };
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{name}</text><rect x=\"{bx}\" y=\"{y}\" width=\"{bw:.1}\" height=\"{bh}\" fill=\"{colour}\"/><text x=\"{vx:.1}\" y=\"{ty}\">{pct:.1} %</text>\n",
            lx = label_w - 8.0, ty = y + 14.0, name = row.name, bx = label_w, bw = bar_w * rate, bh = row_h - 6.0,
            vx = label_w + bar_w * rate + 6.0, pct = 100.0 * rate
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

/// Side by side, at 100 %: the flattest 256×256 region of the first generated (or first) image,
/// marked, and the difference ×16 around mid-grey.
fn flat_area(images: &[(String, RgbImage)], args: &Args) {
    let (_, original) = images
        .iter()
        .find(|(n, _)| n == "generated")
        .unwrap_or(&images[0]);
    let (w, h) = original.dimensions();
    let size = 256.min(w).min(h);
    let mut marked = DynamicImage::ImageRgb8(original.clone());
    watermark::embed(&mut marked, AssetId::new(1).expect("id"), args.strength).expect("embed");
    let marked = marked.into_rgb8();
    let mut best = (f64::MAX, 0, 0);
    for y in (0..=h - size).step_by(64) {
        for x in (0..=w - size).step_by(64) {
            let mut sum = 0.0;
            let mut sq = 0.0;
            for yy in (y..y + size).step_by(4) {
                for xx in (x..x + size).step_by(4) {
                    let v = original.get_pixel(xx, yy).0[1] as f64;
                    sum += v;
                    sq += v * v;
                }
            }
            let n = (size as f64 / 4.0).powi(2);
            let var = sq / n - (sum / n).powi(2);
            if var < best.0 {
                best = (var, x, y);
            }
        }
    }
    let (_, x0, y0) = best;
    let mut sheet = RgbImage::new(size * 3 + 16, size);
    for y in 0..size {
        for x in 0..size {
            let a = original.get_pixel(x0 + x, y0 + y);
            let b = marked.get_pixel(x0 + x, y0 + y);
            sheet.put_pixel(x, y, *a);
            sheet.put_pixel(size + 8 + x, y, *b);
            let d = Rgb(std::array::from_fn(|k| {
                (128.0 + 16.0 * (b.0[k] as f32 - a.0[k] as f32)).clamp(0.0, 255.0) as u8
            }));
            sheet.put_pixel(2 * size + 16 + x, y, d);
        }
    }
    let path = args.out.join("flat-area.png");
    sheet
        .save(&path)
        .unwrap_or_else(|e| die(&format!("{}: {e}", path.display())));
}

/// Runs the detector over `count` unmarked variants (random crops of 30–100 % per side, rescaled
/// by 0.3–1.5×, every third one JPEG-compressed, every fifth mirrored) and counts detections.
fn false_positives(images: &[(String, RgbImage)], count: usize, seed: u64) {
    let started = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let hits: Vec<String> = (0..count)
        .into_par_iter()
        .filter_map(|i| {
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if finished.is_multiple_of(1000) {
                eprintln!(
                    "  {finished}/{count} variants ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            let mut rng = Rng((seed ^ 0x5eed)
                .wrapping_mul(i as u64 + 1)
                .wrapping_add(0x9e37_79b9)
                | 1);
            let (name, image) = &images[i % images.len()];
            let (w, h) = image.dimensions();
            let (cw, ch) = (
                ((0.3 + 0.7 * rng.unit()) * w as f32) as u32,
                ((0.3 + 0.7 * rng.unit()) * h as f32) as u32,
            );
            let (x, y) = (
                (rng.unit() * (w - cw) as f32) as u32,
                (rng.unit() * (h - ch) as f32) as u32,
            );
            let mut variant = imageops::crop_imm(image, x, y, cw.max(1), ch.max(1)).to_image();
            variant = resize(&variant, 0.3 + 1.2 * rng.unit());
            if i % 3 == 0 {
                variant = jpeg(&variant, 60 + (rng.next() % 35) as u8);
            }
            if i % 5 == 0 {
                variant = imageops::flip_horizontal(&variant);
            }
            if let Some(mark) = watermark::imwatermark::detect_generator(&variant) {
                return Some(format!(
                    "{name} variant {i}: generator watermark {} ({}/{} bits)",
                    mark.message.generator,
                    mark.matched,
                    mark.message.bits.len()
                ));
            }
            let detection = watermark::detect(&DynamicImage::ImageRgb8(variant))?;
            Some(format!("{name} variant {i}: {detection:?}"))
        })
        .collect();
    println!(
        "false positives: {} detections (synthmark watermark or a generator's invisible-watermark message) in {count} unmarked variants of {} images ({:.0} s)",
        hits.len(),
        images.len(),
        started.elapsed().as_secs_f64()
    );
    for hit in &hits {
        println!("  {hit}");
    }
    if !hits.is_empty() {
        std::process::exit(1);
    }
}

/// Single-thread speed of embed and detect on a 1-megapixel image, against decoding the same
/// image as a JPEG (the cheapest thing a checker must do anyway), medians of 15 runs.
fn bench() {
    let photo = generated_image(7);
    let (pw, ph) = photo.dimensions();
    let image = RgbImage::from_fn(1024, 1024, |x, y| *photo.get_pixel(x % pw, y % ph));
    let jpeg_bytes = {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(image.as_raw(), 1024, 1024, jpeg_encoder::ColorType::Rgb)
            .expect("jpeg");
        out
    };
    let median = |f: &mut dyn FnMut()| {
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let decode = median(&mut || {
        image::load_from_memory(&jpeg_bytes).expect("decode");
    });
    let id = AssetId::new(42).expect("id");
    let mut marked = DynamicImage::ImageRgb8(image.clone());
    let embed = median(&mut || {
        let mut copy = DynamicImage::ImageRgb8(image.clone());
        watermark::embed(&mut copy, id, watermark::DEFAULT_STRENGTH).expect("embed");
        marked = copy;
    });
    let found = median(&mut || assert!(watermark::detect(&marked).is_some()));
    let screenshot = DynamicImage::ImageRgb8(jpeg(&resize(&marked.to_rgb8(), 0.75), 85));
    let found_screenshot = median(&mut || assert!(watermark::detect(&screenshot).is_some()));
    let cropped = DynamicImage::ImageRgb8(crop(&marked.to_rgb8(), 0.2));
    let found_crop = median(&mut || {
        watermark::detect(&cropped);
    });
    let clean = DynamicImage::ImageRgb8(image.clone());
    let absent = median(&mut || assert!(watermark::detect(&clean).is_none()));
    let clean_rgb = clean.to_rgb8();
    let generators =
        median(&mut || assert!(watermark::imwatermark::detect_generator(&clean_rgb).is_none()));
    println!("watermark speed, 1024x1024, one thread (median of 15):");
    println!("  baseline: JPEG decode of the image     {decode:7.1} ms  1.00x");
    for (name, ms) in [
        ("embed", embed),
        ("detect, marked, untouched", found),
        ("detect, marked, screenshot", found_screenshot),
        ("detect, marked, 20% crop", found_crop),
        ("detect, unmarked (full search)", absent),
        ("generator marks (invisible-watermark)", generators),
    ] {
        println!("  {name:<38} {ms:7.1} ms  {:.2}x", ms / decode);
    }
}
