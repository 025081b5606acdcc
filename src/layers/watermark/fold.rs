//! Folding: summing the listening plane onto one tile under a lattice hypothesis, so that every
//! sample whose lattice coordinates fall on the same tile position adds up. It is the hot loop of
//! detection (up to seven full folds per unmarked image, each reading the plane once); the
//! bilinear sampling along each row of lattice positions is [`super::sampler`]'s.

use super::lattice::Lattice;
use super::pattern::TILE;
use super::plane::Plane;
use super::sampler::Sampler;

/// Folds `high` onto one tile under `lattice`. The origin is the image centre. With `stride` 2
/// only every second tile row and column is sampled: one sample per 2×2 chip and tile, a quarter
/// of the work. `None` for a degenerate lattice.
pub(super) fn fold(high: &Plane, lattice: Lattice, stride: usize) -> Option<Vec<f32>> {
    let det = lattice.determinant();
    if det.abs() < 1.0 {
        return None;
    }
    let t = TILE as f32;
    // image = centre + M · (u, v), M = [a b] / TILE; (u, v) = M⁻¹ · (image − centre).
    let m = [
        [lattice.a[0] / t, lattice.b[0] / t],
        [lattice.a[1] / t, lattice.b[1] / t],
    ];
    let inv_det = 1.0 / (m[0][0] * m[1][1] - m[0][1] * m[1][0]);
    let inv = [
        [m[1][1] * inv_det, -m[0][1] * inv_det],
        [-m[1][0] * inv_det, m[0][0] * inv_det],
    ];
    let (cx, cy) = (high.width as f32 / 2.0, high.height as f32 / 2.0);
    let corners = [
        (0.0, 0.0),
        (high.width as f32, 0.0),
        (0.0, high.height as f32),
        (high.width as f32, high.height as f32),
    ];
    let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (x, y) in corners {
        let (dx, dy) = (x - cx, y - cy);
        let u = inv[0][0] * dx + inv[0][1] * dy;
        let v = inv[1][0] * dx + inv[1][1] * dy;
        umin = umin.min(u);
        umax = umax.max(u);
        vmin = vmin.min(v);
        vmax = vmax.max(v);
    }
    let mut tile = vec![0.0f32; TILE * TILE];
    let (u0, u1) = (umin.floor() as isize, umax.ceil() as isize);
    // Even tile coordinates only when striding, so every chip gets its sample.
    let even = |n: isize| if stride > 1 { n - n.rem_euclid(2) } else { n };
    let u0 = even(u0);
    let count = ((u1 - u0).max(0) as usize) / stride + 1;
    let step = [m[0][0] * stride as f32, m[1][0] * stride as f32];
    let sampler = Sampler::new(high);
    let mut samples = vec![0.0f32; count];
    const _: () = assert!(TILE.is_power_of_two());
    for v in (even(vmin.floor() as isize)..=vmax.ceil() as isize).step_by(stride) {
        let row = v.rem_euclid(TILE as isize) as usize * TILE;
        let tile_row = &mut tile[row..row + TILE];
        let (vf, uf0) = (v as f32, u0 as f32);
        let start = [
            cx + m[0][0] * uf0 + m[0][1] * vf,
            cy + m[1][0] * uf0 + m[1][1] * vf,
        ];
        let Some(inside) = sampler.inside(start, step, count) else {
            continue;
        };
        let out = &mut samples[inside.clone()];
        sampler.row(start, step, inside.start, out);
        let mut column = (u0 + (inside.start * stride) as isize).rem_euclid(TILE as isize) as usize;
        if stride == 1 {
            // Runs of consecutive columns up to the tile's edge (vectorised additions).
            let mut rest: &[f32] = out;
            while !rest.is_empty() {
                let run = rest.len().min(TILE - column);
                for (cell, &sample) in tile_row[column..column + run].iter_mut().zip(rest) {
                    *cell += sample;
                }
                rest = &rest[run..];
                column = 0;
            }
        } else {
            for &sample in out.iter() {
                tile_row[column] += sample;
                column = (column + stride) & (TILE - 1);
            }
        }
    }
    Some(tile)
}

#[cfg(test)]
mod tests {
    use super::super::sampler::tests::textured;
    use super::*;

    #[test]
    fn the_untouched_fold_adds_every_pixel_to_its_tile_position() {
        // Integer lattice positions: bilinear sampling reads pixels as they are. The origin is
        // the image centre, and a pixel needs its right and lower neighbours to be sampled.
        let (width, height) = (3 * TILE + 10, 2 * TILE + 6);
        let plane = textured(width, height);
        let folded = fold(&plane, Lattice::zoomed(1.0), 1).unwrap();
        let (cx, cy) = (width as isize / 2, height as isize / 2);
        let mut expected = vec![0.0f32; TILE * TILE];
        for y in 0..height - 1 {
            for x in 0..width - 1 {
                let (u, v) = (x as isize - cx, y as isize - cy);
                let at = v.rem_euclid(TILE as isize) as usize * TILE
                    + u.rem_euclid(TILE as isize) as usize;
                expected[at] += plane.data[y * width + x];
            }
        }
        for (got, want) in folded.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
        // A quarter fold takes every second position of both axes.
        let quarter = fold(&plane, Lattice::zoomed(1.0), 2).unwrap();
        assert!(quarter.iter().any(|&v| v != 0.0));
        assert!(quarter.chunks(TILE).enumerate().all(|(v, row)| row
            .iter()
            .enumerate()
            .all(|(u, &s)| (u % 2 == 0 && v % 2 == 0) || s == 0.0)));
    }
}
