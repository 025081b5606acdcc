//! The visibility model: how much mark each part of an image hides, shared by the embedder
//! (which puts the energy there) and the detector (which listens there).
//!
//! Texture masking: the mark is a ±chip pattern, so what hides it is fine detail at the chip's
//! scale, not brightness slopes. Activity is therefore the local RMS of the *high-passed* luma at
//! the canonical scale: a sky gradient or a soft shadow has a large plain standard deviation but
//! no activity, and gets almost nothing (the old mask, on the plain deviation, put visible
//! blocks there). The mask grows with activity from a floor near zero to a ceiling.
//!
//! Luminance masking (after Chou & Li's background-luminance JND): steps in *texture* are harder
//! to see in deep shadows and easier on near-white, so the texture part of the mask is raised a
//! little in the darkest areas and lowered towards white. A *flat* near-black area is the
//! opposite case: on a bright display a ±1 step there shows as grain (seen at 200 % on the
//! flat-region panel), so the floor is lowered in the dark instead of raised.

use super::plane::Plane;

/// The window (canonical pixels, `2r + 1` square) over which activity and brightness are taken.
pub const RADIUS: usize = 4;
/// Activity (RMS of the high-passed luma, 0–255 steps) at which the texture mask reaches 1.
const ACTIVITY_REFERENCE: f32 = 5.0;
/// The mask in areas without texture: at the default strength a chip amplitude of about 0.54 grey
/// levels, which mostly rounds away in a flat 8-bit area (0.16, with the quality target measured
/// on the image itself, put ±1 mottling on a flat yellow render that showed at 200 %) and is
/// enough to keep the pattern for the detector where the image has any grain.
pub const FLOOR: f32 = 0.12;
/// The mask in busy texture: more would ring at edges.
const CEILING: f32 = 1.7;

/// The texture mask for a local activity.
#[inline(always)]
pub fn texture(activity: f32) -> f32 {
    (activity / ACTIVITY_REFERENCE).clamp(FLOOR, CEILING)
}

/// The floor's luminance factor: 1 in the mid-tones, down to 0.55 on black (flat shadows show a
/// step as grain) and to 0.75 on near-white.
fn floor_luminance(mean: f32) -> f32 {
    if mean < 48.0 {
        0.55 + 0.45 * mean / 48.0
    } else {
        luminance(mean)
    }
}

/// The luminance factor for a local mean brightness (0–255): 1.35 in the deepest shadows, 1 in
/// the mid-tones, 0.75 on near-white.
pub fn luminance(mean: f32) -> f32 {
    if mean < 48.0 {
        1.0 + 0.35 * (48.0 - mean) / 48.0
    } else if mean > 200.0 {
        1.0 - 0.25 * ((mean - 200.0) / 55.0).min(1.0)
    } else {
        1.0
    }
}

/// The local activity of a plane: RMS of its high-pass over the model's window.
pub fn activity(high: &Plane) -> Plane {
    let energy = Plane {
        width: high.width,
        height: high.height,
        data: high.data.iter().map(|v| v * v).collect(),
    }
    .box_mean(RADIUS);
    Plane {
        // Running sums can leave a tiny negative mean where the plane is flat.
        data: energy.data.iter().map(|e| e.max(0.0).sqrt()).collect(),
        ..energy
    }
}

/// The embedding mask of a canonical-scale luma plane, per sample: texture × luminance, and at
/// least the floor × its own luminance factor.
pub fn mask(luma: &Plane) -> Plane {
    let activity = activity(&luma.high_pass());
    let mean = luma.box_mean(RADIUS);
    let data = activity
        .data
        .iter()
        .zip(&mean.data)
        .map(|(&a, &m)| {
            let textured = (a / ACTIVITY_REFERENCE).min(CEILING) * luminance(m);
            textured.max(FLOOR * floor_luminance(m))
        })
        .collect();
    Plane {
        width: luma.width,
        height: luma.height,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_and_flat_areas_get_the_floor_texture_gets_more() {
        let (w, h) = (64, 64);
        let gradient = Plane {
            width: w,
            height: h,
            data: (0..w * h).map(|i| 60.0 + (i % w) as f32 * 2.0).collect(),
        };
        let m = mask(&gradient);
        // A 2-steps-per-pixel slope is not texture (away from the clamped borders).
        assert!(
            (m.data[32 * w + 32] - FLOOR).abs() < 1e-3,
            "{}",
            m.data[32 * w + 32]
        );
        let noisy = Plane {
            width: w,
            height: h,
            data: (0..w * h)
                .map(|i| 128.0 + if (i * 7919) % 13 < 6 { 12.0 } else { -12.0 })
                .collect(),
        };
        assert!(mask(&noisy).data[32 * w + 32] > 1.0);
        assert!(luminance(10.0) > 1.2 && luminance(250.0) < 0.8);
        // A flat near-black area gets less than the floor, not more.
        let black = Plane {
            width: w,
            height: h,
            data: vec![6.0; w * h],
        };
        let floor = mask(&black).data[32 * w + 32];
        assert!(floor < 0.7 * FLOOR && floor > 0.5 * FLOOR, "{floor}");
        assert_eq!(luminance(128.0), 1.0);
    }
}
