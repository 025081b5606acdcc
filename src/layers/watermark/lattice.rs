//! Finding the tile lattice: the zoom, rotation and aspect change an image went through since it
//! was marked, read off the whitened autocorrelation of its listening plane, where the repeated
//! tile shows as a grid of peaks.
//!
//! Beyond the untouched grid (which the detector tries first and on its own: most images reach
//! a checker without geometric changes), two kinds of hypotheses: a scan over square lattices
//! (zoom × rotation) that sums the autocorrelation at the first [`HARMONICS`] multiples of both
//! lattice vectors, which finds crops, rotations and their combinations with downscaling and
//! JPEG even where the mark is weak; and pairs of the strongest single peaks, which also cover
//! aspect changes and shears.
//! A wide image's autocorrelation averages the power spectra of windows along its long side.

use super::pattern::TILE;
use super::plane::Plane;
use super::spectrum::whitened_autocorrelation;

/// The zoom range searched (observed tile size / 64 canonical pixels). A 20 % crop zooms by 1.25;
/// an image shown at 80 % inside a screenshot of its page, by about 0.6.
const MIN_ZOOM: f32 = 0.5;
const MAX_ZOOM: f32 = 1.7;
/// Side of the autocorrelation window (canonical pixels), and how many windows at most a long
/// image is covered with.
const ACF_WINDOW: usize = 512;
const ACF_WINDOWS: usize = 3;
/// Peaks of the autocorrelation kept as lattice vector candidates.
const ACF_PEAKS: usize = 8;
/// Peak pairs turned into lattice hypotheses. Each costs an unmarked image a fold. Measured
/// with the robustness example (97 real images and 165 corpus files with 40 generated ones, 43
/// attacks): the two strongest pairs found every mark that six found (the release build one UI
/// screenshot more), while the strongest alone lost an aspect change, a UI screenshot and a
/// crop + scale + JPEG chain of the corpus files.
const ACF_PAIRS: usize = 2;
/// Lattices from the similarity scan turned into hypotheses. Measured as for [`ACF_PAIRS`]: two
/// lost 4–6 marks of the 97 real images (small rotations, the crop + scale + JPEG chains).
const SCAN_LATTICES: usize = 4;
/// The similarity scan's rotation range (degrees either way) and the multiples of the lattice
/// vectors it sums.
const MAX_SCAN_ROTATION: f32 = 12.0;
const HARMONICS: usize = 3;

/// Two lattice vectors: the canonical-image displacement of one tile step along the tile's x and
/// y axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Lattice {
    pub(super) a: [f32; 2],
    pub(super) b: [f32; 2],
}

impl Lattice {
    pub(super) fn zoomed(zoom: f32) -> Self {
        let t = TILE as f32 * zoom;
        Lattice {
            a: [t, 0.0],
            b: [0.0, t],
        }
    }

    pub(super) fn determinant(&self) -> f32 {
        self.a[0] * self.b[1] - self.a[1] * self.b[0]
    }
}

/// The lattice hypotheses worth folding for in a listening plane, beyond the untouched grid
/// (which the detector always tries first).
pub(super) fn candidates(high: &Plane) -> Vec<Lattice> {
    let mut candidates = Vec::new();
    let size = ACF_WINDOW.min(high.width).min(high.height);
    if size < 2 * TILE {
        return candidates;
    }
    // Windows spread evenly along the long side, enough to cover it (at most ACF_WINDOWS).
    let count = |side: usize| side.div_ceil(size).min(ACF_WINDOWS);
    let origins = |side: usize| {
        let n = count(side);
        (0..n).map(move |i| {
            if n == 1 {
                (side - size) / 2
            } else {
                i * (side - size) / (n - 1)
            }
        })
    };
    let windows: Vec<Vec<f32>> = origins(high.height)
        .flat_map(|y0| origins(high.width).map(move |x0| (x0, y0)))
        .map(|(x0, y0)| {
            let mut window = Vec::with_capacity(size * size);
            for y in 0..size {
                let row = (y0 + y) * high.width + x0;
                window.extend_from_slice(&high.data[row..row + size]);
            }
            window
        })
        .collect();
    let windows: Vec<&[f32]> = windows.iter().map(Vec::as_slice).collect();
    let acf = Acf::new(whitened_autocorrelation(&windows, size), size);
    // Peak pairs are refined vector by vector; the scan's lattices are already located by all
    // their harmonics at once.
    for mut lattice in acf.peak_pairs() {
        lattice.a = acf.refine(lattice.a);
        lattice.b = acf.refine(lattice.b);
        candidates.push(lattice);
    }
    candidates.extend(acf.similarity_scan());
    candidates
}

/// The whitened autocorrelation, indexed by signed lag.
struct Acf {
    /// Lag (dx, dy) at `(dy + size/2) · size + dx + size/2` for lags in `-size/2 .. size − size/2`
    /// (every lag once, modulo the size), so a lookup is one index computation.
    centred: Vec<f32>,
    size: usize,
}

impl Acf {
    /// From a circular autocorrelation with lag (0, 0) at index 0.
    fn new(values: Vec<f32>, size: usize) -> Self {
        // Row and column `i` of the result are row and column `(i + shift) % size` of the input:
        // each row is its source row rotated, two slice copies.
        let shift = size - size / 2;
        let mut centred = vec![0.0; size * size];
        for (y, row) in centred.chunks_exact_mut(size).enumerate() {
            let source = &values[((y + shift) % size) * size..][..size];
            let (head, tail) = row.split_at_mut(size - shift);
            head.copy_from_slice(&source[shift..]);
            tail.copy_from_slice(&source[..shift]);
        }
        Acf { centred, size }
    }

    fn at(&self, dx: isize, dy: isize) -> f32 {
        let (n, half) = (self.size as isize, (self.size / 2) as isize);
        let (x, y) = (dx + half, dy + half);
        if (0..n).contains(&x) && (0..n).contains(&y) {
            self.centred[(y * n + x) as usize]
        } else {
            self.centred[((y.rem_euclid(n)) * n + x.rem_euclid(n)) as usize]
        }
    }

    fn interpolated(&self, dx: f32, dy: f32) -> f32 {
        let (x0, y0) = (floor(dx), floor(dy));
        let (fx, fy) = (dx - x0 as f32, dy - y0 as f32);
        let (n, half) = (self.size as isize, (self.size / 2) as isize);
        let (x, y) = (x0 + half, y0 + half);
        // The four samples straight from the centred table when they are all in it (every lag
        // the scan asks for), else through `at`'s wrap-around.
        let (a, b, c, d) = if x >= 0 && y >= 0 && x + 1 < n && y + 1 < n {
            let i = (y * n + x) as usize;
            let (row, next) = (
                &self.centred[i..i + 2],
                &self.centred[i + n as usize..][..2],
            );
            (row[0], row[1], next[0], next[1])
        } else {
            let at = |x, y| self.at(x, y);
            (
                at(x0, y0),
                at(x0 + 1, y0),
                at(x0, y0 + 1),
                at(x0 + 1, y0 + 1),
            )
        };
        let top = a * (1.0 - fx) + b * fx;
        let bottom = c * (1.0 - fx) + d * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Local maxima in the annulus of plausible tile sizes, strongest first, sub-pixel refined.
    fn peaks(&self) -> Vec<([f32; 2], f32)> {
        let (rmin, rmax) = (TILE as f32 * MIN_ZOOM, TILE as f32 * MAX_ZOOM);
        let reach = rmax.ceil() as isize;
        let mut found = Vec::new();
        for dy in 0..=reach {
            for dx in -reach..=reach {
                // One half-plane: the autocorrelation is symmetric.
                if dy == 0 && dx <= 0 {
                    continue;
                }
                let r = ((dx * dx + dy * dy) as f32).sqrt();
                if r < rmin || r > rmax {
                    continue;
                }
                let v = self.at(dx, dy);
                let is_max = (-1..=1)
                    .all(|j| (-1..=1).all(|i| (i == 0 && j == 0) || self.at(dx + i, dy + j) < v));
                if is_max {
                    let ox = parabola_peak(self.at(dx - 1, dy), v, self.at(dx + 1, dy));
                    let oy = parabola_peak(self.at(dx, dy - 1), v, self.at(dx, dy + 1));
                    found.push(([dx as f32 + ox, dy as f32 + oy], v));
                }
            }
        }
        found.sort_by(|p, q| q.1.total_cmp(&p.1));
        found.truncate(ACF_PEAKS);
        found
    }

    /// Sharpens a lattice vector with the peaks at its multiples: the peak at `k·v` has the same
    /// sub-pixel error as the one at `v`, so dividing by `k` makes it `k` times smaller, which
    /// keeps the folded tiles aligned to the far edges of the image.
    fn refine(&self, v: [f32; 2]) -> [f32; 2] {
        let mut best = v;
        let limit = self.size as f32 / 2.0 - 2.0;
        for k in 2..=6 {
            let (ex, ey) = (best[0] * k as f32, best[1] * k as f32);
            if ex.abs() > limit || ey.abs() > limit {
                break;
            }
            // The strongest sample within ±1 px of the expected multiple, refined sub-pixel.
            let (cx, cy) = (ex.round() as isize, ey.round() as isize);
            let mut peak = (cx, cy, f32::MIN);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let value = self.at(cx + dx, cy + dy);
                    if value > peak.2 {
                        peak = (cx + dx, cy + dy, value);
                    }
                }
            }
            let (px, py, value) = peak;
            let x = px as f32 + parabola_peak(self.at(px - 1, py), value, self.at(px + 1, py));
            let y = py as f32 + parabola_peak(self.at(px, py - 1), value, self.at(px, py + 1));
            best = [x / k as f32, y / k as f32];
        }
        best
    }

    /// Pairs of peaks that could be the two sides of the tile (near-perpendicular, similar length).
    fn peak_pairs(&self) -> Vec<Lattice> {
        let peaks = self.peaks();
        let mut pairs = Vec::new();
        for (i, (p, pv)) in peaks.iter().enumerate() {
            for (q, qv) in &peaks[i + 1..] {
                let (lp, lq) = (p[0].hypot(p[1]), q[0].hypot(q[1]));
                let cos = (p[0] * q[0] + p[1] * q[1]) / (lp * lq);
                let ratio = lp / lq;
                if cos.abs() < 0.3 && (0.7..=1.43).contains(&ratio) {
                    // `a` is the more horizontal vector.
                    let (a, b) = if p[0].abs() >= q[0].abs() {
                        (*p, *q)
                    } else {
                        (*q, *p)
                    };
                    pairs.push((Lattice { a, b }, pv + qv));
                }
            }
        }
        pairs.sort_by(|x, y| y.1.total_cmp(&x.1));
        pairs.into_iter().take(ACF_PAIRS).map(|(l, _)| l).collect()
    }

    /// The strongest square lattices (zoom and rotation, no shear): a scan of the
    /// autocorrelation at the first [`HARMONICS`] multiples of both lattice vectors. A single
    /// peak can be the image's own structure; a comb of peaks at `v`, `2v`, `3v` on two
    /// perpendicular axes rarely is, so the comb ranks the tile above texture that the peak
    /// pairs mistake for it (crops, rotations and downscales of weak marks).
    fn similarity_scan(&self) -> Vec<Lattice> {
        const ZOOM_STEPS: usize = 192;
        const ANGLE_STEPS: usize = 121;
        let max_angle = MAX_SCAN_ROTATION.to_radians();
        let ratio = (MAX_ZOOM / MIN_ZOOM).ln();
        let zoom_at = |i: usize| MIN_ZOOM * (ratio * i as f32 / (ZOOM_STEPS - 1) as f32).exp();
        let angle_at = |j: usize| max_angle * (2.0 * j as f32 / (ANGLE_STEPS - 1) as f32 - 1.0);
        // The grid's tile sizes and rotations, each computed once rather than at every point.
        let tiles: Vec<f32> = (0..ZOOM_STEPS).map(|i| TILE as f32 * zoom_at(i)).collect();
        let mut grid = vec![0.0f32; ZOOM_STEPS * ANGLE_STEPS];
        for (j, row) in grid.chunks_exact_mut(ZOOM_STEPS).enumerate() {
            self.comb_scores(&tiles, angle_at(j).sin_cos(), row);
        }
        let at = |i: usize, j: usize| grid[j * ZOOM_STEPS + i];
        let mut maxima = Vec::new();
        for j in 1..ANGLE_STEPS - 1 {
            for i in 1..ZOOM_STEPS - 1 {
                let v = at(i, j);
                let is_max = (-1isize..=1).all(|dj| {
                    (-1isize..=1).all(|di| {
                        (di == 0 && dj == 0)
                            || at((i as isize + di) as usize, (j as isize + dj) as usize) < v
                    })
                });
                if is_max {
                    maxima.push((i, j, v));
                }
            }
        }
        maxima.sort_by(|x, y| y.2.total_cmp(&x.2));
        maxima
            .into_iter()
            .take(SCAN_LATTICES)
            .map(|(i, j, v)| {
                // Sub-step position from a parabola through each axis's neighbours.
                let di = parabola_peak(at(i - 1, j), v, at(i + 1, j));
                let dj = parabola_peak(at(i, j - 1), v, at(i, j + 1));
                let zoom = zoom_at(i) * (ratio * di / (ZOOM_STEPS - 1) as f32).exp();
                let angle = angle_at(j) + 2.0 * max_angle * dj / (ANGLE_STEPS - 1) as f32;
                let t = TILE as f32 * zoom;
                let (sin, cos) = angle.sin_cos();
                Lattice {
                    a: [t * cos, t * sin],
                    b: [-t * sin, t * cos],
                }
            })
            .collect()
    }

    /// The comb score of the square lattice of each side in `tiles` turned by `(sin, cos)`: the
    /// autocorrelation summed at the first [`HARMONICS`] multiples of both lattice vectors that
    /// lie within reach of the table. Eight tiles at a time where the CPU has AVX2 (the scan's
    /// 23,000 points were 4.6 % of an unmarked check's instructions as scalar lookups), by the
    /// same operations in the same order as [`Acf::comb_score`], so the bits are the same.
    fn comb_scores(&self, tiles: &[f32], turn: (f32, f32), out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        let done = if crate::cpu::has_avx2() {
            // SAFETY: the CPU has AVX2.
            unsafe { self.comb_scores_avx2(tiles, turn, out) }
        } else {
            0
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = 0;
        for (slot, &tile) in out.iter_mut().zip(tiles).skip(done) {
            *slot = self.comb_score(tile, turn);
        }
    }

    /// The lags the scan reads stay this far inside the table, so their four neighbours are in
    /// it (see [`Acf::interpolated`]).
    fn comb_reach(&self) -> f32 {
        self.size as f32 / 2.0 - 2.0
    }

    fn comb_score(&self, tile: f32, (sin, cos): (f32, f32)) -> f32 {
        (1..=HARMONICS)
            .map(|k| k as f32 * tile)
            .take_while(|&r| r < self.comb_reach())
            .map(|r| self.interpolated(r * cos, r * sin) + self.interpolated(-r * sin, r * cos))
            .sum::<f32>()
    }

    /// [`Acf::comb_scores`] for the leading multiple of eight tiles, whose count it returns
    /// (fewer when a block's lags would leave the table: those are left to the scalar loop).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn comb_scores_avx2(
        &self,
        tiles: &[f32],
        (sin, cos): (f32, f32),
        out: &mut [f32],
    ) -> usize {
        use std::arch::x86_64::*;
        let (n, half) = (self.size as i32, (self.size / 2) as i32);
        // The table's index must fit the i32 lanes of the gathers.
        if self.centred.len() >= i32::MAX as usize / 2 {
            return 0;
        }
        let data = self.centred.as_ptr();
        let (sin, cos) = (_mm256_set1_ps(sin), _mm256_set1_ps(cos));
        let reach = _mm256_set1_ps(self.comb_reach());
        let (one, sign) = (_mm256_set1_ps(1.0), _mm256_set1_ps(-0.0));
        let empty = _mm256_set1_ps(std::iter::empty::<f32>().sum());
        let (offset, below, limit) = (
            _mm256_set1_epi32(half),
            _mm256_set1_epi32(n),
            _mm256_set1_epi32(n - 2),
        );
        // The bilinear value at lags (dx, dy) of the lanes in `wanted`, or `None` when a wanted
        // lane's neighbours would leave the table.
        let interpolated = |dx: __m256, dy: __m256, wanted: __m256| -> Option<__m256> {
            let floor = |v: __m256| {
                let truncated = _mm256_cvttps_epi32(v);
                let above = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_cvtepi32_ps(truncated), v);
                _mm256_add_epi32(truncated, _mm256_castps_si256(above))
            };
            let (x0, y0) = (floor(dx), floor(dy));
            let (fx, fy) = (
                _mm256_sub_ps(dx, _mm256_cvtepi32_ps(x0)),
                _mm256_sub_ps(dy, _mm256_cvtepi32_ps(y0)),
            );
            let (x, y) = (_mm256_add_epi32(x0, offset), _mm256_add_epi32(y0, offset));
            // 0 <= x, y <= n - 2 (so x + 1 and y + 1 are in the table), for every wanted lane.
            let zero = _mm256_setzero_si256();
            let outside = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpgt_epi32(zero, x), _mm256_cmpgt_epi32(zero, y)),
                _mm256_or_si256(_mm256_cmpgt_epi32(x, limit), _mm256_cmpgt_epi32(y, limit)),
            );
            if _mm256_movemask_ps(_mm256_and_ps(_mm256_castsi256_ps(outside), wanted)) != 0 {
                return None;
            }
            let index = _mm256_add_epi32(_mm256_mullo_epi32(y, below), x);
            // Lanes not wanted are not read.
            let gather =
                |at: __m256i| _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), data, at, wanted);
            let next = |at: __m256i| _mm256_add_epi32(at, _mm256_set1_epi32(1));
            let lower = _mm256_add_epi32(index, below);
            let (a, b) = (gather(index), gather(next(index)));
            let (c, d) = (gather(lower), gather(next(lower)));
            let rest = _mm256_sub_ps(one, fx);
            let top = _mm256_add_ps(_mm256_mul_ps(a, rest), _mm256_mul_ps(b, fx));
            let bottom = _mm256_add_ps(_mm256_mul_ps(c, rest), _mm256_mul_ps(d, fx));
            Some(_mm256_add_ps(
                _mm256_mul_ps(top, _mm256_sub_ps(one, fy)),
                _mm256_mul_ps(bottom, fy),
            ))
        };
        let blocks = tiles.len().min(out.len()) / 8;
        for block in 0..blocks {
            let tile = _mm256_loadu_ps(tiles.as_ptr().add(block * 8));
            // Where `Sum` for f32 starts (-0.0 in today's standard library).
            let mut sum = empty;
            for k in 1..=HARMONICS {
                let r = _mm256_mul_ps(_mm256_set1_ps(k as f32), tile);
                // The scalar `take_while`: lags grow with k, so a lane out of reach stays out.
                let wanted = _mm256_cmp_ps::<_CMP_LT_OQ>(r, reach);
                if _mm256_movemask_ps(wanted) == 0 {
                    break;
                }
                let (r_sin, r_cos) = (_mm256_mul_ps(r, sin), _mm256_mul_ps(r, cos));
                // -r · sin, as the scalar code computes it: the sign flip is exact.
                let (Some(along), Some(across)) = (
                    interpolated(r_cos, r_sin, wanted),
                    interpolated(_mm256_xor_ps(r_sin, sign), r_cos, wanted),
                ) else {
                    return block * 8;
                };
                let summed = _mm256_add_ps(sum, _mm256_add_ps(along, across));
                sum = _mm256_blendv_ps(sum, summed, wanted);
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(block * 8), sum);
        }
        blocks * 8
    }
}

/// `v.floor()` as an integer, without the libm call that `floor` is on baseline x86-64 (exact
/// for every value the lattice search meets, far inside ±2³¹).
fn floor(v: f32) -> isize {
    let truncated = v as isize;
    truncated - isize::from((truncated as f32) > v)
}

/// Where between its neighbours a sampled peak really lies: the vertex of the parabola through
/// `left`, `centre` and `right`, as an offset from the centre sample within ±½.
fn parabola_peak(left: f32, centre: f32, right: f32) -> f32 {
    let d = left - 2.0 * centre + right;
    if d.abs() < 1e-12 {
        0.0
    } else {
        (0.5 * (left - right) / d).clamp(-0.5, 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random ±1 tile repeated under `zoom` and `degrees` of rotation, in noise three times as
    /// strong.
    fn marked_noise(zoom: f32, degrees: f32, width: usize, height: usize) -> Plane {
        let mut generator = crate::test_random::XorShift64::new(0x9E37_79B9_7F4A_7C15);
        let mut random = move || generator.unit() * 2.0 - 1.0;
        let tile: Vec<f32> = (0..TILE * TILE).map(|_| random().signum()).collect();
        let (sin, cos) = degrees.to_radians().sin_cos();
        let data = (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f32, (i / width) as f32);
                let u = ((cos * x + sin * y) / zoom).floor() as isize;
                let v = ((-sin * x + cos * y) / zoom).floor() as isize;
                let t = TILE as isize;
                tile[(v.rem_euclid(t) * t + u.rem_euclid(t)) as usize] + 3.0 * random()
            })
            .collect();
        Plane {
            width,
            height,
            data,
        }
    }

    fn found(candidates: &[Lattice], zoom: f32, degrees: f32) -> bool {
        candidates.iter().any(|l| {
            let z = l.determinant().abs().sqrt() / TILE as f32;
            let angle = l.a[1].atan2(l.a[0]).to_degrees();
            (z / zoom - 1.0).abs() < 0.005 && (angle - degrees).abs() < 0.25
        })
    }

    #[test]
    fn floor_agrees_with_the_float_floor() {
        for v in [
            -3.5f32, -3.0, -0.25, -0.0, 0.0, 0.75, 1.0, 2.999, 511.5, -511.5, 1e-7, -1e-7,
        ] {
            assert_eq!(floor(v) as f32, v.floor(), "{v}");
        }
    }

    #[test]
    fn every_lag_reads_its_circular_autocorrelation_value() {
        for size in [16usize, 15] {
            let values: Vec<f32> = (0..size * size).map(|i| i as f32).collect();
            let acf = Acf::new(values.clone(), size);
            let n = size as isize;
            for dy in -n..=n {
                for dx in -n..=n {
                    let expected = values[(dy.rem_euclid(n) * n + dx.rem_euclid(n)) as usize];
                    assert_eq!(acf.at(dx, dy), expected, "size {size}, lag ({dx}, {dy})");
                }
            }
        }
    }

    #[test]
    fn interpolation_reads_the_same_samples_inside_and_across_the_wrap() {
        let size = 16;
        let values: Vec<f32> = (0..size * size).map(|i| ((i * 37) % 29) as f32).collect();
        let acf = Acf::new(values, size);
        for (dx, dy) in [
            (0.3f32, -0.7f32),
            (6.5, 6.5),
            (7.25, 0.5),
            (-8.0, -8.0),
            (-8.5, 3.0),
        ] {
            let (x0, y0) = (dx.floor(), dy.floor());
            let (fx, fy) = (dx - x0, dy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let top = acf.at(x0, y0) * (1.0 - fx) + acf.at(x0 + 1, y0) * fx;
            let bottom = acf.at(x0, y0 + 1) * (1.0 - fx) + acf.at(x0 + 1, y0 + 1) * fx;
            let reference = top * (1.0 - fy) + bottom * fy;
            assert_eq!(
                acf.interpolated(dx, dy).to_bits(),
                reference.to_bits(),
                "{dx}, {dy}"
            );
        }
    }

    #[test]
    fn the_avx2_and_scalar_comb_scores_agree_bit_for_bit() {
        use crate::cpu::{portable_only, test_samples};
        for size in [64usize, 61] {
            let values: Vec<f32> = test_samples(size * size, 13)
                .iter()
                .map(|v| v / 128.0 - 1.0)
                .collect();
            let acf = Acf::new(values, size);
            // Sides from small to past reach, 8·k + 3 of them: full blocks, a tail, lanes whose
            // multiples leave the table's reach part-way through a block.
            let tiles: Vec<f32> = (0..43).map(|i| 4.0 + 0.77 * i as f32).collect();
            for degrees in [-12.0f32, -3.3, 0.0, 7.9, 12.0] {
                let turn = degrees.to_radians().sin_cos();
                let mut scalar = vec![0.0f32; tiles.len()];
                let mut vector = vec![0.0f32; tiles.len()];
                portable_only(|| acf.comb_scores(&tiles, turn, &mut scalar));
                acf.comb_scores(&tiles, turn, &mut vector);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&scalar), bits(&vector), "size {size}, {degrees}°");
                assert!(scalar.iter().any(|&v| v != 0.0));
            }
        }
    }

    #[test]
    fn the_scan_finds_a_cropped_and_rotated_lattice() {
        let candidates = candidates(&marked_noise(1.2, 4.0, 512, 512));
        assert!(found(&candidates, 1.2, 4.0), "{candidates:?}");
    }

    #[test]
    fn a_wide_image_is_read_in_several_windows() {
        let candidates = candidates(&marked_noise(0.9, -2.0, 1100, 512));
        assert!(found(&candidates, 0.9, -2.0), "{candidates:?}");
    }
}
