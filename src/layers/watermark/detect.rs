//! Detection: find the tile lattice (zoom, rotation, aspect), fold the image onto one tile, find
//! the pilot's offset and orientation, then decode the payload.
//!
//! 1. Luma on the grid (the canonical scale), high-passed (the image itself is the noise we
//!    fight) and divided by its local RMS, so busy texture does not drown the mark in quiet
//!    areas.
//! 2. Lattice hypotheses (see [`super::lattice`]): the untouched grid; a scan of square lattices
//!    (zoom and rotation) over the whitened autocorrelation, scored on the harmonics of the tile;
//!    and the strongest peak pairs of the same autocorrelation (they also give aspect changes).
//! 3. Each hypothesis folds the image modulo the tile, and the fold is correlated with the pilot
//!    in all 8 orientations of the square (mirror, 90° turns, transposes); the correlation peak's
//!    z-score ranks the hypotheses and its position gives the translation.
//! 4. The best hypotheses are Viterbi-decoded as found, then the best few again after polishing
//!    their lattice to 0.05 % (those that reach [`POLISH_GATE`], and unless the polishing's
//!    first, coarsest round shows no mark); at most [`MAX_DECODES`] in all. The first whose
//!    payload passes the version and check bits is the detection.
//!
//! 5. An image smaller than the canonical grid that holds no mark on it is searched again, steps
//!    1–4, on the coarse grid small images are marked on (see [`super::grid`]).
//!
//! False positives: a hypothesis decoded from an unmarked image passes by chance with
//! p = 2⁻²⁴ (see `payload`); at most [`MAX_DECODES`] are decoded per search, and an image is
//! searched at most twice (once when its short side is at least 512 px), so the chance that an
//! unmarked image is reported marked is at most 16 · 2⁻²⁴ ≈ 9.5·10⁻⁷ (8 · 2⁻²⁴ ≈ 4.8·10⁻⁷ for
//! images of 512 px and more).

use std::sync::OnceLock;

use super::fold::fold;
use super::grid::{grid_size, CANONICAL, COARSE, MIN_DETECT_SIDE};
use super::lattice::{self, Lattice};
use super::pattern::{collapse, Pattern, TILE};
use super::payload::{decode, unpack, AssetId, CODED_BITS};
use super::pilot::{Orientation, PilotSearch};
use super::plane::Plane;
use super::visibility;
use crate::cpu::dispatch_avx2;

/// At most this many hypotheses are decoded per search of a grid (the false-positive bound
/// depends on it).
pub const MAX_DECODES: usize = 8;
/// Hypotheses decoded as found, before polishing.
const AS_FOUND: usize = 4;
/// Hypotheses polished (and decoded again) when none decodes as found.
const POLISHED: usize = 2;
/// After the coarsest round of polishing (see [`polish`]), a quarter-sampled pilot z-score below
/// this ends it: unmarked images sit at 3.9 (median) and below 5.5 there, the marks that only
/// polishing finds in the robustness set at 5.9 and above.
const POLISH_ON_Z: f32 = 5.0;
/// Hypotheses whose pilot z-score is below this are not worth decoding.
const Z_GATE: f32 = 4.0;
/// Hypotheses whose pilot z-score is below this are not polished. Measured with the
/// robustness example: the marks that only polishing finds started at z 4.79–7.43 (9 of 43
/// attacks × 97 real images) and 5.18–13.8 (19, on every decodable corpus file plus 40
/// generated images); the hypotheses polished in 1,500 unmarked variants (2,328) started at a
/// median of 4.31, 85 % of them below 4.6. Unmarked images are what a platform mostly checks,
/// and the gate spares most of them the polishing's coarsest round (−13 % of a 1-MP check).
const POLISH_GATE: f32 = 4.6;
/// The high-passed plane is divided by its local RMS (over the visibility model's window), with
/// this floor (luma steps) and clip.
const NORMALISE_FLOOR: f32 = 0.5;
/// The power of the local activity the listening weight divides by (see [`listening_plane`]).
const WEIGHT_POWER: f32 = 1.5;
const _: () = assert!(
    WEIGHT_POWER == 1.5,
    "listening_plane computes the power by square roots"
);
const NORMALISE_CLIP: f32 = 3.0;

/// A watermark found in an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub asset_id: AssetId,
    /// The pilot correlation's z-score (unmarked images stay below about 5.5).
    pub confidence: f32,
    /// Tile size seen on the grid it was found on relative to the embedded one.
    pub zoom: f32,
    /// Rotation of the tile grid, degrees (modulo the square's symmetries).
    pub rotation: f32,
    /// The image is a mirror image of the one stamped.
    pub mirrored: bool,
}

/// Everything the detector concluded, for diagnostics and the robustness report.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub detection: Option<Detection>,
    /// The payload word decoded from the strongest hypothesis, valid or not.
    pub strongest_word: Option<u64>,
    /// The strongest pilot z-score.
    pub strongest_z: f32,
}

/// One lattice + orientation + offset, scored.
struct Hypothesis {
    z: f32,
    lattice: Lattice,
    orientation: Orientation,
    aligned: Vec<f32>,
}

/// Looks for a synthmark watermark in `image`.
pub fn detect(image: &image::DynamicImage) -> Option<Detection> {
    analyse(image).detection
}

/// Looks for a synthmark watermark and reports how the search went: on the canonical grid, then,
/// for an image smaller than it that holds no mark there, on the coarse grid small images are
/// marked on (see [`super::grid`]).
pub fn analyse(image: &image::DynamicImage) -> Analysis {
    let luma = Plane::luma(image);
    let canonical = analyse_on(&luma, CANONICAL);
    if canonical.detection.is_some() || luma.width.min(luma.height) >= CANONICAL {
        return canonical;
    }
    let coarse = analyse_on(&luma, COARSE);
    if coarse.detection.is_some() || coarse.strongest_z > canonical.strongest_z {
        coarse
    } else {
        canonical
    }
}

/// [`analyse`] of an image's luma on the grid of short side `grid`.
fn analyse_on(luma: &Plane, grid: usize) -> Analysis {
    let (width, height) = (luma.width, luma.height);
    let none = Analysis {
        detection: None,
        strongest_word: None,
        strongest_z: 0.0,
    };
    let Some((cw, ch)) = grid_size(width, height, grid, MIN_DETECT_SIDE) else {
        return none;
    };
    let high = listening_plane(&luma.resized(cw, ch));
    let pattern = Pattern::new();
    // The pilot is the same for every image: its oriented spectra are computed once.
    static PILOT: OnceLock<PilotSearch> = OnceLock::new();
    let pilot = PILOT.get_or_init(|| PilotSearch::new(&pattern.pilot_tile()));

    // Most images reach the checker without geometric changes: try the untouched grid first.
    let untouched = best_orientation(&high, Lattice::zoomed(1.0), pilot, None, 1);
    if let Some(untouched) = untouched.as_ref().filter(|h| h.z >= Z_GATE) {
        let mut analysis = Analysis {
            strongest_z: untouched.z,
            ..none.clone()
        };
        if let Some(detection) = try_decode(&pattern, untouched, &mut analysis) {
            analysis.detection = Some(detection);
            return analysis;
        }
    }
    let mut hypotheses: Vec<Hypothesis> = untouched
        .into_iter()
        .chain(
            lattice::candidates(&high)
                .into_iter()
                .filter_map(|lattice| best_orientation(&high, lattice, pilot, None, 1)),
        )
        .collect();
    hypotheses.sort_by(|x, y| y.z.total_cmp(&x.z));
    let mut analysis = Analysis {
        strongest_z: hypotheses.first().map_or(0.0, |h| h.z),
        strongest_word: hypotheses
            .first()
            .map(|h| decode(&pattern.soft_bits(&collapse(&h.aligned)))),
        ..none
    };
    // First the strongest hypotheses as found, then the strongest ones polished; together at
    // most MAX_DECODES decoding attempts.
    let mut attempts = 1;
    for hypothesis in hypotheses.iter().take(AS_FOUND - 1) {
        if hypothesis.z < Z_GATE {
            break;
        }
        attempts += 1;
        if let Some(detection) = try_decode(&pattern, hypothesis, &mut analysis) {
            analysis.detection = Some(detection);
            return analysis;
        }
    }
    let polish_budget = POLISHED.min(MAX_DECODES - attempts);
    for hypothesis in hypotheses
        .into_iter()
        .filter(|h| h.z >= POLISH_GATE)
        .take(polish_budget)
    {
        let Some(polished) = polish(&high, hypothesis, pilot) else {
            continue;
        };
        analysis.strongest_z = analysis.strongest_z.max(polished.z);
        if polished.z < Z_GATE {
            continue;
        }
        if let Some(detection) = try_decode(&pattern, &polished, &mut analysis) {
            analysis.detection = Some(detection);
            return analysis;
        }
    }
    analysis
}

/// The plane the detector folds: the high-passed canonical luma divided by its local RMS (the
/// host image is the noise we fight, far stronger in texture than in smooth areas), then
/// weighted by the visibility model's texture mask, which is where the embedder put the mark: a
/// matched filter, so smooth areas (where the mark is faint and compression noise is not) add
/// little noise to the fold.
fn listening_plane(luma: &Plane) -> Plane {
    let high = luma.high_pass();
    let activity = visibility::activity(&high);
    Plane {
        width: luma.width,
        height: luma.height,
        data: listening_weighted(&high.data, &activity.data),
    }
}

dispatch_avx2! {
    /// The high-passed samples weighted by their local activity, for [`listening_plane`].
    fn listening_weighted(high: &[f32], activity: &[f32]) -> Vec<f32> {
        let floor2 = NORMALISE_FLOOR * NORMALISE_FLOOR;
        crate::cpu::map_uncleared(high.iter().zip(activity), |(&v, &a)| {
            // The mark's expected amplitude over a power of the host's local activity (the
            // noise the mark fights): between a plain local normalisation (power 1) and the
            // matched filter (power 2), which over-trusts smooth areas once JPEG has quantised
            // their faint mark away.
            let energy = a * a + floor2;
            let root = energy.sqrt();
            // energy^(WEIGHT_POWER / 2) = energy^0.75, without powf.
            let weight = visibility::texture(a) / (root * root.sqrt());
            (v * weight).clamp(-NORMALISE_CLIP, NORMALISE_CLIP)
        })
    }
}

/// Decodes one hypothesis; a detection if its payload passes the version and check bits.
fn try_decode(
    pattern: &Pattern,
    hypothesis: &Hypothesis,
    analysis: &mut Analysis,
) -> Option<Detection> {
    let soft: [f32; CODED_BITS] = pattern.soft_bits(&collapse(&hypothesis.aligned));
    let word = decode(&soft);
    let asset_id = unpack(word)?;
    analysis.strongest_word = Some(word);
    let lattice = hypothesis.lattice;
    let mirrored = (lattice.determinant() < 0.0) ^ (hypothesis.orientation.count_ones() % 2 == 1);
    Some(Detection {
        asset_id,
        confidence: hypothesis.z,
        zoom: lattice.determinant().abs().sqrt() / TILE as f32,
        rotation: lattice.a[1].atan2(lattice.a[0]).to_degrees(),
        mirrored,
    })
}

/// Folds under `lattice`, then finds the orientation (of the square's 8, or only `only`) and
/// offset at which the pilot correlates best.
fn best_orientation(
    high: &Plane,
    lattice: Lattice,
    pilot: &PilotSearch,
    only: Option<Orientation>,
    stride: usize,
) -> Option<Hypothesis> {
    let found = pilot.best(&fold(high, lattice, stride)?, only)?;
    Some(Hypothesis {
        z: found.z,
        lattice,
        orientation: found.orientation,
        aligned: found.aligned,
    })
}

/// Polishes a hypothesis by coordinate ascent on the pilot z-score over the two lattice
/// lengths and the rotation: autocorrelation peaks are good to about 1 %, but a 1 % zoom error
/// moves tiles at the image's edges by a chip or more.
///
/// The ascent compares z-scores of quarter-sampled folds (see [`fold`]): the comparisons only
/// need to rank nearby lattices, and the winner is folded in full for decoding. `None` when
/// the coarsest round leaves the z-score below [`POLISH_ON_Z`]: nothing worth decoding (this
/// is where an unmarked image's search ends, at a fifth of the cost of polishing it through).
fn polish(high: &Plane, start: Hypothesis, pilot: &PilotSearch) -> Option<Hypothesis> {
    const COARSE: usize = 2;
    let orientation = start.orientation;
    let Some(mut best) = best_orientation(high, start.lattice, pilot, Some(orientation), COARSE)
    else {
        return Some(start);
    };
    // Steps from 0.8 % down to 0.05 %: a wide image's far edge is 500 canonical pixels or more
    // from the centre, where 0.1 % is already half a chip.
    let mut step = 0.008f32;
    for round in 0..5 {
        let mut improved = true;
        let mut rounds = 0;
        while improved && rounds < 2 {
            improved = false;
            rounds += 1;
            for parameter in 0..3 {
                for sign in [-1.0f32, 1.0] {
                    let d = sign * step;
                    let l = best.lattice;
                    let lattice = match parameter {
                        0 => Lattice {
                            a: [l.a[0] * (1.0 + d), l.a[1] * (1.0 + d)],
                            b: l.b,
                        },
                        1 => Lattice {
                            a: l.a,
                            b: [l.b[0] * (1.0 + d), l.b[1] * (1.0 + d)],
                        },
                        _ => {
                            let (s, c) = d.sin_cos();
                            let turn = |v: [f32; 2]| [c * v[0] - s * v[1], s * v[0] + c * v[1]];
                            Lattice {
                                a: turn(l.a),
                                b: turn(l.b),
                            }
                        }
                    };
                    if let Some(h) =
                        best_orientation(high, lattice, pilot, Some(orientation), COARSE)
                    {
                        if h.z > best.z {
                            best = h;
                            improved = true;
                        }
                    }
                }
            }
        }
        step /= 2.0;
        // Polishing pays off for marks, never for unmarked images: after the coarsest steps an
        // image whose quarter-sampled z-score is still low is left there, undecoded.
        if round == 0 && best.z < POLISH_ON_Z {
            return None;
        }
    }
    Some(best_orientation(high, best.lattice, pilot, Some(orientation), 1).unwrap_or(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::watermark::embed;
    use image::{DynamicImage, Rgb, RgbImage};

    #[test]
    fn the_listening_plane_evens_out_quiet_and_busy_areas_and_clips() {
        // Left half: ±3 texture; right half: ±40 (plus a huge outlier that must be clipped).
        let mut luma = Plane::new(128, 64);
        for y in 0..64 {
            for x in 0..128 {
                let sign = if (x * 7 + y * 3) % 5 < 2 { 1.0 } else { -1.0 };
                luma.data[y * 128 + x] = 128.0 + sign * if x < 64 { 3.0 } else { 40.0 };
            }
        }
        luma.data[4 * 128 + 120] = 5000.0;
        let plane = listening_plane(&luma);
        let rms = |x0: usize| {
            let values: Vec<f32> = (16..48)
                .flat_map(|y| (x0..x0 + 32).map(move |x| (y, x)))
                .map(|(y, x)| plane.data[y * 128 + x])
                .collect();
            (values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32).sqrt()
        };
        // A 13× louder host is only a few times louder once weighted.
        let (quiet, busy) = (rms(16), rms(80));
        assert!(
            busy / quiet < 5.0 && busy / quiet > 0.2,
            "{quiet} vs {busy}"
        );
        assert!(plane.data.iter().all(|v| v.abs() <= NORMALISE_CLIP));
    }

    #[test]
    fn the_avx2_and_baseline_listening_weights_agree_bit_for_bit() {
        use crate::cpu::{portable_only, test_samples};
        let high: Vec<f32> = test_samples(1003, 1).iter().map(|v| v - 128.0).collect();
        let activity: Vec<f32> = test_samples(1003, 2).iter().map(|v| v / 20.0).collect();
        assert_eq!(
            portable_only(|| listening_weighted(&high, &activity)),
            listening_weighted(&high, &activity)
        );
    }

    /// A deterministic textured test picture.
    pub(crate) fn picture(width: u32, height: u32) -> RgbImage {
        let mut random = crate::test_random::XorShift64::new(0x2545_f491_4f6c_dd1d);
        RgbImage::from_fn(width, height, |i, j| {
            let noise = (random.next_u64() >> 59) as f32;
            let v = 120.0 + 50.0 * ((i as f32 / 23.0).sin() * (j as f32 / 31.0).cos()) + noise;
            Rgb([v as u8, (v * 0.8 + 20.0) as u8, (255.0 - v) as u8])
        })
    }

    #[test]
    fn small_images_are_marked_coarse_and_read_on_both_grids() {
        use crate::layers::watermark::embed::luma_residual_on;
        use crate::layers::watermark::DEFAULT_STRENGTH;
        let id = AssetId::new(0x0f_1e2d_3c4b).unwrap();
        let clean = picture(400, 300);
        // Marked on the coarse grid: read as stamped, and after a ½ downscale.
        let mut coarse = DynamicImage::ImageRgb8(clean.clone());
        embed(&mut coarse, id, DEFAULT_STRENGTH).unwrap();
        assert_eq!(detect(&coarse).map(|d| d.asset_id), Some(id));
        // On the coarse grid it is the untouched lattice (the canonical grid's lattice search
        // can find it too, as a zoom of 512/384).
        let read = analyse_on(&Plane::luma(&coarse), COARSE)
            .detection
            .expect("read on the coarse grid");
        assert_eq!(read.asset_id, id);
        assert!((read.zoom - 1.0).abs() < 1e-3, "{read:?}");
        let half = coarse.resize_exact(200, 150, image::imageops::FilterType::Triangle);
        assert_eq!(detect(&half).map(|d| d.asset_id), Some(id));
        // Marked on the canonical grid, as builds before the coarse grid marked every image:
        // still read, on the first search.
        let luma = Plane::luma(&DynamicImage::ImageRgb8(clean.clone()));
        let (residual, gain) =
            luma_residual_on(CANONICAL, luma.data, 400, 300, id, DEFAULT_STRENGTH).unwrap();
        let mut fine = clean.clone();
        for (pixel, r) in fine.pixels_mut().zip(&residual) {
            for channel in &mut pixel.0 {
                *channel = (f32::from(*channel) + gain * r).round().clamp(0.0, 255.0) as u8;
            }
        }
        let fine = DynamicImage::ImageRgb8(fine);
        assert_eq!(
            analyse_on(&Plane::luma(&fine), CANONICAL)
                .detection
                .map(|d| d.asset_id),
            Some(id)
        );
        assert_eq!(detect(&fine).map(|d| d.asset_id), Some(id));
        assert_eq!(detect(&DynamicImage::ImageRgb8(clean)), None);
    }

    #[test]
    fn finds_its_own_mark_and_nothing_in_a_clean_image() {
        let clean = DynamicImage::ImageRgb8(picture(640, 480));
        let mut marked = clean.clone();
        let id = AssetId::new(0x01_2345_6789).unwrap();
        embed(&mut marked, id, crate::layers::watermark::DEFAULT_STRENGTH).unwrap();
        let analysis = analyse(&marked);
        eprintln!(
            "marked: z {} word {:?}",
            analysis.strongest_z, analysis.strongest_word
        );
        assert_eq!(analysis.detection.map(|d| d.asset_id), Some(id));
        assert_eq!(detect(&clean), None);
    }
}
