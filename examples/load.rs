//! Load and fault generator for `synthmark serve` (driven by scripts/load.sh; loopback only,
//! bounded in time).
//!
//! ```text
//! load --generate DIR COUNT                 write COUNT 1-megapixel images: JPEG, PNG and WebP
//! load URL SECONDS CONCURRENCY FILE...      POST the files round-robin for SECONDS on
//!                                           CONCURRENCY connections; print throughput,
//!                                           p50/p99/max latency and the statuses (`-` instead
//!                                           of files: GET, for the baseline)
//! load --faults URL COUNT CONCURRENCY FILE  POST COUNT malformed uploads made from FILE
//!                                           (truncated, wrong type, huge dimensions, empty,
//!                                           garbage); fail on any 5xx or non-JSON answer
//! ```

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--generate") => generate(Path::new(&args[1]), args[2].parse()?),
        Some("--faults") => faults(
            &args[1],
            args[2].parse()?,
            args[3].parse()?,
            Path::new(&args[4]),
        ),
        Some(_) if args.len() >= 4 => {
            let bodies: Option<Vec<Vec<u8>>> = if args[3] == "-" {
                None
            } else {
                Some(
                    args[3..]
                        .iter()
                        .map(std::fs::read)
                        .collect::<Result<_, _>>()?,
                )
            };
            load(
                &args[0],
                Duration::from_secs(args[1].parse()?),
                args[2].parse()?,
                bodies.as_deref(),
            )
        }
        _ => Err("usage: see the doc comment of examples/load.rs".into()),
    }
}

/// A photograph-like 1-megapixel picture (edges at every scale, fine grain).
fn picture(seed: u32) -> image::RgbImage {
    let mut state = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32
    };
    let discs: Vec<[f32; 6]> = (0..40)
        .map(|_| {
            [
                next(),
                next(),
                0.02 + 0.15 * next(),
                next() * 255.0,
                next() * 255.0,
                next() * 255.0,
            ]
        })
        .collect();
    image::RgbImage::from_fn(1000, 1000, |x, y| {
        let (u, v) = (x as f32 / 1000.0, y as f32 / 1000.0);
        let mut pixel = [u * 200.0 + 20.0, v * 180.0 + 30.0, 120.0];
        for d in &discs {
            if (u - d[0]).powi(2) + (v - d[1]).powi(2) < d[2] * d[2] {
                pixel = [d[3], d[4], d[5]];
            }
        }
        let grain =
            ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed) % 13) as f32 - 6.0;
        image::Rgb(pixel.map(|c| (c + grain).clamp(0.0, 255.0) as u8))
    })
}

fn generate(dir: &Path, count: u32) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    for i in 0..count {
        let image = picture(i);
        let (name, format) = match i % 3 {
            0 | 1 => (format!("img{i:04}.jpg"), image::ImageFormat::Jpeg),
            _ => (format!("img{i:04}.png"), image::ImageFormat::Png),
        };
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format)?;
        std::fs::write(dir.join(name), out.into_inner())?;
        if i % 6 == 5 {
            let mut webp = Cursor::new(Vec::new());
            image.write_to(&mut webp, image::ImageFormat::WebP)?;
            std::fs::write(dir.join(format!("img{i:04}.webp")), webp.into_inner())?;
        }
    }
    Ok(())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

struct Answer {
    status: u16,
    retry_after: bool,
    json: bool,
    millis: f64,
}

/// POSTs `body`, or GETs without one.
fn send(agent: &ureq::Agent, url: &str, body: Option<&[u8]>) -> Answer {
    let started = Instant::now();
    let result = match body {
        Some(body) => agent.post(url).send(body),
        None => agent.get(url).call(),
    };
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            let json = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            let _ = response.body_mut().read_to_vec();
            Answer {
                status,
                retry_after,
                json,
                millis: started.elapsed().as_secs_f64() * 1000.0,
            }
        }
        Err(_) => Answer {
            status: 0,
            retry_after: false,
            json: false,
            millis: started.elapsed().as_secs_f64() * 1000.0,
        },
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn load(
    url: &str,
    duration: Duration,
    concurrency: usize,
    bodies: Option<&[Vec<u8>]>,
) -> Result<(), Error> {
    let answers = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let deadline = started + duration;
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let agent = agent();
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let body = bodies.map(|b| b[i % b.len()].as_slice());
                    mine.push(send(&agent, url, body));
                }
                answers.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let answers = answers.into_inner().unwrap();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for a in &answers {
        *statuses.entry(a.status).or_default() += 1;
    }
    let mut ok: Vec<f64> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| a.millis)
        .collect();
    ok.sort_by(f64::total_cmp);
    let refused_without_retry = answers
        .iter()
        .filter(|a| a.status == 503 && !a.retry_after)
        .count();
    println!(
        "requests {} in {elapsed:.1} s: {:.1} answered/s, {:.1} ok/s; ok latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; statuses {statuses:?}",
        answers.len(),
        answers.len() as f64 / elapsed,
        ok.len() as f64 / elapsed,
        percentile(&ok, 0.5),
        percentile(&ok, 0.99),
        ok.last().copied().unwrap_or(0.0),
    );
    let bad = answers
        .iter()
        .filter(|a| a.status == 0 || (a.status >= 500 && a.status != 503))
        .count();
    if bad > 0 || refused_without_retry > 0 {
        return Err(format!(
            "{bad} answers were errors other than 503, {refused_without_retry} 503s lacked Retry-After"
        )
        .into());
    }
    Ok(())
}

/// Makes the `i`-th malformed upload of one kind.
type MakeBody<'a> = Box<dyn Fn(usize) -> Vec<u8> + Sync + 'a>;

fn faults(url: &str, count: usize, concurrency: usize, sample: &Path) -> Result<(), Error> {
    let valid = std::fs::read(sample)?;
    let mut huge_png = Vec::new();
    image::RgbImage::new(8, 8)
        .write_to(&mut Cursor::new(&mut huge_png), image::ImageFormat::Png)?;
    huge_png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    huge_png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32fast::hash(&huge_png[12..29]);
    huge_png[29..33].copy_from_slice(&crc.to_be_bytes());
    let kinds: Vec<(&str, MakeBody)> = vec![
        ("empty", Box::new(|_| Vec::new())),
        (
            "truncated",
            Box::new(|i| valid[..(i * 7919) % valid.len().max(1)].to_vec()),
        ),
        (
            "wrong type",
            Box::new(|i| format!("<html>{i} not an image</html>").into_bytes()),
        ),
        ("huge dimensions", Box::new(|_| huge_png.clone())),
        (
            "garbage after a JPEG marker",
            Box::new(|i| {
                let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
                bytes.extend((0..4096).map(|k| ((k * 31 + i * 17) % 251) as u8));
                bytes
            }),
        ),
    ];
    let next = AtomicUsize::new(0);
    let tally: Mutex<BTreeMap<(String, u16), usize>> = Mutex::new(BTreeMap::new());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let agent = agent();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let (name, make) = &kinds[i % kinds.len()];
                    let answer = send(&agent, url, Some(&make(i)));
                    *tally
                        .lock()
                        .unwrap()
                        .entry((name.to_string(), answer.status))
                        .or_default() += 1;
                    if !(400..500).contains(&answer.status) || !answer.json {
                        failures.lock().unwrap().push(format!(
                            "{name} #{i}: status {} (json: {})",
                            answer.status, answer.json
                        ));
                    }
                }
            });
        }
    });
    for ((name, status), n) in tally.into_inner().unwrap() {
        println!("  {name:<28} {status}: {n}");
    }
    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        return Err(format!(
            "{} malformed uploads were not answered with a JSON 4xx: {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        )
        .into());
    }
    println!("{count} malformed uploads: every one answered with a JSON 4xx");
    Ok(())
}
