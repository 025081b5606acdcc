//! The watermark's tile: a 64×64-pixel pattern (at the canonical scale) made of a 32×32 grid of
//! 2×2-pixel chips. Every chip carries a share of a fixed pilot (for synchronisation) plus one
//! scrambled coded bit; chips of the same coded bit are spread over the whole tile, so damage to
//! one region costs every bit a little instead of some bits everything.

use super::payload::CODED_BITS;

/// Tile side in canonical pixels.
pub const TILE: usize = 64;
/// Chip side in canonical pixels.
pub const CHIP: usize = 2;
/// Chips per tile side.
pub const GRID: usize = TILE / CHIP;
/// Chips per tile.
pub const CHIPS: usize = GRID * GRID;
/// Pilot amplitude relative to the data (the pilot gets PILOT_WEIGHT² / (1 + PILOT_WEIGHT²) of
/// the energy, 26 %).
const PILOT_WEIGHT: f32 = 0.6;
/// Fixed seed: the pattern is part of the algorithm's definition, not a secret.
const SEED: u64 = 0x5379_6e74_684d_6b31; // "SyntMk1"

/// The fixed pseudo-random sequences that define the tile.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// ±1 per chip.
    pub pilot: Vec<f32>,
    /// ±1 per chip, multiplied into the data so the tile looks random whatever the payload.
    pub scrambler: Vec<f32>,
    /// The coded bit each chip carries.
    pub bit_of_chip: Vec<u16>,
}

impl Pattern {
    pub fn new() -> Self {
        let mut rng = SplitMix64(SEED);
        let pilot = (0..CHIPS).map(|_| rng.sign()).collect();
        let scrambler = (0..CHIPS).map(|_| rng.sign()).collect();
        // A random permutation of the chips, dealt round-robin to the coded bits.
        let mut order: Vec<usize> = (0..CHIPS).collect();
        for i in (1..CHIPS).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut bit_of_chip = vec![0u16; CHIPS];
        for (rank, &chip) in order.iter().enumerate() {
            bit_of_chip[chip] = (rank % CODED_BITS) as u16;
        }
        Pattern {
            pilot,
            scrambler,
            bit_of_chip,
        }
    }

    /// Chip values (unit variance) for a coded word.
    pub fn chips(&self, coded: &[bool; CODED_BITS]) -> Vec<f32> {
        let norm = 1.0 / (1.0 + PILOT_WEIGHT * PILOT_WEIGHT).sqrt();
        (0..CHIPS)
            .map(|k| {
                let data = if coded[self.bit_of_chip[k] as usize] {
                    1.0
                } else {
                    -1.0
                };
                norm * (PILOT_WEIGHT * self.pilot[k] + self.scrambler[k] * data)
            })
            .collect()
    }

    /// The pilot expanded to a TILE×TILE pixel pattern (for correlation).
    pub fn pilot_tile(&self) -> Vec<f32> {
        expand(&self.pilot)
    }

    /// Soft coded bits from the 32×32 chip sums of an aligned tile. The pilot's share is fitted
    /// and removed first; the result is normalised to unit noise.
    pub fn soft_bits(&self, chips: &[f32]) -> [f32; CODED_BITS] {
        let pilot_gain = chips
            .iter()
            .zip(&self.pilot)
            .map(|(c, p)| c * p)
            .sum::<f32>()
            / CHIPS as f32;
        let mut soft = [0.0f32; CODED_BITS];
        let mut residual = 0.0f32;
        for k in 0..CHIPS {
            let value = (chips[k] - pilot_gain * self.pilot[k]) * self.scrambler[k];
            soft[self.bit_of_chip[k] as usize] += value;
            residual += value * value;
        }
        let scale = (residual / CHIPS as f32).sqrt().max(1e-6);
        for s in &mut soft {
            *s /= scale;
        }
        soft
    }
}

impl Default for Pattern {
    fn default() -> Self {
        Pattern::new()
    }
}

/// Expands 32×32 chip values to a 64×64 pixel tile.
pub fn expand(chips: &[f32]) -> Vec<f32> {
    let mut tile = vec![0.0; TILE * TILE];
    for y in 0..TILE {
        for x in 0..TILE {
            tile[y * TILE + x] = chips[(y / CHIP) * GRID + x / CHIP];
        }
    }
    tile
}

/// Sums a TILE×TILE pixel tile into 32×32 chips.
pub fn collapse(tile: &[f32]) -> Vec<f32> {
    let mut chips = vec![0.0; CHIPS];
    for y in 0..TILE {
        for x in 0..TILE {
            chips[(y / CHIP) * GRID + x / CHIP] += tile[y * TILE + x];
        }
    }
    chips
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed generator for fixed patterns.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn sign(&mut self) -> f32 {
        if self.next() >> 63 == 1 {
            1.0
        } else {
            -1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::payload::{encode, pack, AssetId};
    use super::*;

    #[test]
    fn every_coded_bit_gets_seven_or_eight_chips() {
        let pattern = Pattern::new();
        let mut counts = [0usize; CODED_BITS];
        for &b in &pattern.bit_of_chip {
            counts[b as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 7 || c == 8), "{counts:?}");
    }

    #[test]
    fn clean_chips_give_the_coded_bits_back() {
        let pattern = Pattern::new();
        let coded = encode(pack(AssetId::new(77).unwrap()));
        let chips = pattern.chips(&coded);
        let variance = chips.iter().map(|c| c * c).sum::<f32>() / CHIPS as f32;
        assert!((variance - 1.0).abs() < 0.05, "{variance}");
        let soft = pattern.soft_bits(&chips);
        for (s, &c) in soft.iter().zip(&coded) {
            assert_eq!(*s > 0.0, c);
        }
        assert_eq!(collapse(&expand(&chips))[5], 4.0 * chips[5]);
    }
}
