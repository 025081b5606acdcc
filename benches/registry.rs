//! Registry lookup latency and its scaling: SQLite registries of 10,000, 100,000 and 1,000,000
//! entries, nearest-neighbour PDQ lookups through the multi-index (`Registry::find`), against a
//! baseline measured in the same run: a full linear scan of the same fingerprints held in memory
//! (what a lookup without an index must at least do).
//!
//! `cargo bench --bench registry -- [MAX_ENTRIES]` (default 1,000,000). Entries have uniformly
//! random 256-bit fingerprints (real PDQ hashes are balanced in the same way) and a 256-byte
//! stand-in for the manifest store (lookups read a store only for matches; real stores are
//! 5–30 KB). Queries: half are a stored fingerprint with 0–24 bits flipped (must be found, as
//! re-encoded or resized copies are), half are unrelated (must find nothing); each query also
//! carries seven dihedral variants, as a real check does. Prints p50/p99/max per size, the
//! scan baseline and the ratio.
//!
//! First, the cost a registry adds to each stamp and check: the PDQ fingerprint (with its
//! dihedral variants) of a decoded 1-megapixel image, against decoding that JPEG (median of 21).

use std::time::Instant;

use synthmark::fingerprint::{Dihedral, Fingerprint, PdqHash};
use synthmark::registry::{Entry, Query, Registry};

const QUERIES: usize = 1000;
const BATCH: usize = 10_000;

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn hash(&mut self) -> PdqHash {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        PdqHash(bytes)
    }
}

fn entry(hash: PdqHash, serial: u64) -> Entry {
    let mut sha256 = [0u8; 32];
    sha256[..8].copy_from_slice(&serial.to_be_bytes());
    Entry {
        asset_id: Some(format!("{:010x}", serial)),
        sha256,
        fingerprint: Some(Fingerprint { hash, quality: 100 }),
        format: "image/jpeg".into(),
        generator: Some("BenchDiffusion/1.0".into()),
        manifest_store: vec![0x6a; 256],
        created_at: 1_790_000_000 + serial as i64,
    }
}

/// Times decoding a 1024×1024 JPEG (the baseline) and fingerprinting the decoded pixels.
fn fingerprint_cost() -> Result<(), Box<dyn std::error::Error>> {
    let mut random = Random(42);
    let image = image::RgbImage::from_fn(1024, 1024, |x, y| {
        let shade = ((x / 64 + y / 96) % 5) as u8 * 40;
        image::Rgb([
            shade.wrapping_add((random.next() % 24) as u8),
            (x / 5) as u8,
            (y / 5) as u8,
        ])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&image)?;
    let jpeg = jpeg.into_inner();
    let median = |mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let mut decode = Vec::new();
    let mut fingerprint = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let decoded = image::load_from_memory(&jpeg)?.to_rgb8();
        decode.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        let dihedral = synthmark::fingerprint::pdq_dihedral(decoded.as_raw(), 1024, 1024, 3);
        fingerprint.push(start.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(dihedral);
    }
    let (decode, fingerprint) = (median(decode), median(fingerprint));
    println!(
        "PDQ + dihedral variants of 1 MP: {fingerprint:.2} ms; JPEG decode (baseline): {decode:.2} ms; ratio {:.2}\n",
        fingerprint / decode
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let max: usize = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    fingerprint_cost()?;
    let dir = tempfile::tempdir()?;
    let registry = Registry::open_sqlite(&dir.path().join("bench.sqlite"))?;
    let mut random = Random(0x5eed_1234_abcd_ef01);
    let mut stored: Vec<PdqHash> = Vec::with_capacity(max);
    println!(
        "{:>9}  {:>10}  {:>9}  {:>9}  {:>9}  {:>11}  {:>7}  {:>7}",
        "entries", "insert/s", "p50 ms", "p99 ms", "max ms", "scan p50 ms", "p99/scan", "found"
    );
    let mut sizes = vec![10_000, 100_000, 1_000_000];
    sizes.retain(|&n| n <= max);
    if sizes.last() != Some(&max) {
        sizes.push(max);
    }
    for size in sizes {
        let started = Instant::now();
        let mut inserted = 0;
        while stored.len() < size {
            let batch: Vec<Entry> = (0..BATCH.min(size - stored.len()))
                .map(|_| {
                    let hash = random.hash();
                    stored.push(hash);
                    entry(hash, stored.len() as u64)
                })
                .collect();
            inserted += batch.len();
            registry.register_all(&batch)?;
        }
        let insert_rate = inserted as f64 / started.elapsed().as_secs_f64();

        let mut latencies = Vec::with_capacity(QUERIES);
        let mut scans = Vec::with_capacity(QUERIES);
        let mut found_near = 0;
        let mut false_hits = 0;
        for q in 0..QUERIES {
            let near = q % 2 == 0;
            let mut hash = if near {
                stored[(random.next() % stored.len() as u64) as usize]
            } else {
                random.hash()
            };
            if near {
                for _ in 0..(random.next() % 25) {
                    let bit = (random.next() % 256) as usize;
                    hash.0[bit / 8] ^= 1 << (bit % 8);
                }
            }
            let dihedral = Dihedral {
                original: Fingerprint { hash, quality: 100 },
                variants: std::array::from_fn(|_| random.hash()),
            };
            let query = Query {
                fingerprint: Some(dihedral),
                ..Query::default()
            };
            let start = Instant::now();
            let matches = registry.find(&query)?;
            latencies.push(start.elapsed().as_secs_f64() * 1000.0);
            if near && !matches.is_empty() {
                found_near += 1;
            }
            if !near && !matches.is_empty() {
                false_hits += 1;
            }
            if q < 50 {
                // The baseline: every stored fingerprint against the query and its variants.
                let all: Vec<PdqHash> = std::iter::once(hash).chain(dihedral.variants).collect();
                let start = Instant::now();
                let hits = stored
                    .iter()
                    .filter(|s| all.iter().any(|h| h.distance(s) <= 31))
                    .count();
                scans.push(start.elapsed().as_secs_f64() * 1000.0);
                std::hint::black_box(hits);
            }
        }
        latencies.sort_by(f64::total_cmp);
        scans.sort_by(f64::total_cmp);
        let p99 = percentile(&latencies, 0.99);
        let scan = percentile(&scans, 0.5);
        println!(
            "{:>9}  {:>10.0}  {:>9.2}  {:>9.2}  {:>9.2}  {:>11.2}  {:>7.2}  {:>3}/{:<3}",
            size,
            insert_rate,
            percentile(&latencies, 0.5),
            p99,
            latencies[latencies.len() - 1],
            scan,
            p99 / scan,
            found_near,
            QUERIES / 2
        );
        if found_near != QUERIES / 2 || false_hits != 0 {
            return Err(format!(
                "{size} entries: {found_near}/{} near-duplicates found, {false_hits} unrelated queries matched",
                QUERIES / 2
            )
            .into());
        }
    }
    let size = std::fs::metadata(dir.path().join("bench.sqlite"))?.len();
    println!(
        "database file: {:.0} MB for {} entries",
        size as f64 / 1e6,
        stored.len()
    );
    Ok(())
}
