//! How a stamp is configured: [`StamperConfig`] for what is fixed when a [`super::Stamper`] is
//! built, [`StampOptions`] for what each call does, and their one validation
//! ([`OptionsError`]). Front doors parse their flags, configuration or query into these types and
//! leave every range rule to them.

use crate::layers::c2pa::embed::{Involvement, SoftwareAgent};
use crate::layers::c2pa::timestamp::TsaOptions;
use crate::layers::visible_label::VisibleLabel;
use crate::layers::watermark;
use crate::limits::Limits;

/// How images are stamped.
#[derive(Debug, Clone)]
pub struct StampOptions {
    /// Whether the image was generated or an existing image was edited by AI.
    ///
    /// Default: [`Involvement::Generated`]
    pub involvement: Involvement,
    /// The generating model, recorded as the action's `softwareAgent`.
    ///
    /// Default: `None`
    pub generator: Option<SoftwareAgent>,
    /// Add a `cawg.training-mining` assertion reserving the image against AI training and mining.
    ///
    /// Default: `false`
    pub no_train: bool,
    /// Embed a JPEG thumbnail (512 px long edge) in the manifest. It costs a decode and an encode.
    ///
    /// Default: `false`
    pub thumbnail: bool,
    /// Embed the imperceptible watermark (pixels are decoded, marked and re-encoded in the same
    /// format with their metadata). `None` skips the layer.
    ///
    /// Default: `Some(WatermarkOptions::default())`
    pub watermark: Option<WatermarkOptions>,
    /// Burn a visible "AI" badge into the pixels (before the watermark and the signature; the
    /// manifest records it). Formats that cannot be re-encoded (GIF, AVIF, HEIC) are refused.
    ///
    /// Default: `None`
    pub visible_label: Option<VisibleLabel>,
    /// How lossy formats are re-encoded when the pixels change (watermark or visible label).
    ///
    /// Default: [`Reencoding::default`]
    pub reencoding: Reencoding,
}

/// How the watermark layer is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatermarkOptions {
    /// Chip amplitude in 0–255 luma steps where the texture mask is 1; more than 0, at most
    /// [`MAX_STRENGTH`].
    ///
    /// Default: [`watermark::DEFAULT_STRENGTH`]
    pub strength: f32,
}

/// The largest watermark strength accepted: beyond it the mark is visible on any image.
pub const MAX_STRENGTH: f32 = 20.0;

impl Default for WatermarkOptions {
    fn default() -> Self {
        WatermarkOptions {
            strength: watermark::DEFAULT_STRENGTH,
        }
    }
}

/// How images whose pixels changed are written again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reencoding {
    /// JPEG and lossy WebP quality. PNG, TIFF and lossless WebP stay lossless.
    ///
    /// Default: `None` (JPEG: the input's estimated quality; lossy WebP: 90)
    pub quality: Option<Quality>,
}

/// A JPEG or WebP quality, 1 to 100: checked when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quality(u8);

impl Quality {
    pub fn new(quality: u8) -> Result<Quality, OptionsError> {
        if (1..=100).contains(&quality) {
            Ok(Quality(quality))
        } else {
            Err(OptionsError::Quality(quality))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// Settings fixed when a [`Stamper`] is built: they shape its signer, its checks and how much
/// it decodes, so they hold for every image it stamps (per-call [`StampOptions`] cannot change
/// them).
#[derive(Debug, Clone)]
pub struct StamperConfig {
    /// Timestamp every signature at this RFC 3161 time-stamping authority, so the credentials
    /// stay valid after the signing certificate expires.
    ///
    /// Default: `None` (no timestamp)
    pub tsa: Option<TsaOptions>,
    /// Validate every manifest again right after signing it (about doubles the signing cost).
    ///
    /// Default: `true`
    pub verify_after_sign: bool,
    /// The largest image decoded for the pixel layers (and the thumbnail): larger images are
    /// refused, never decoded.
    ///
    /// Default: [`Limits::default`]
    pub limits: Limits,
}

impl Default for StamperConfig {
    fn default() -> Self {
        StamperConfig {
            tsa: None,
            verify_after_sign: true,
            limits: Limits::default(),
        }
    }
}

/// Why stamping options cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    #[error("quality {0} is out of range; use 1 to 100")]
    Quality(u8),
    #[error("watermark strength {0} is out of range; use more than 0 and at most {MAX_STRENGTH}")]
    Strength(f32),
}

impl StampOptions {
    /// Checks what the types cannot: the watermark strength.
    pub fn validate(&self) -> Result<(), OptionsError> {
        match self.watermark {
            Some(WatermarkOptions { strength })
                if !(strength > 0.0 && strength <= MAX_STRENGTH) =>
            {
                Err(OptionsError::Strength(strength))
            }
            _ => Ok(()),
        }
    }
}

impl Default for StampOptions {
    fn default() -> Self {
        StampOptions {
            involvement: Involvement::Generated,
            generator: None,
            no_train: false,
            thumbnail: false,
            watermark: Some(WatermarkOptions::default()),
            visible_label: None,
            reencoding: Reencoding::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quality_is_1_to_100() {
        assert_eq!(Quality::new(1).map(Quality::get), Ok(1));
        assert_eq!(Quality::new(100).map(Quality::get), Ok(100));
        assert_eq!(Quality::new(0), Err(OptionsError::Quality(0)));
        assert_eq!(Quality::new(101), Err(OptionsError::Quality(101)));
        assert_eq!(
            OptionsError::Quality(0).to_string(),
            "quality 0 is out of range; use 1 to 100"
        );
    }

    #[test]
    fn a_watermark_strength_must_be_positive_and_at_most_the_maximum() {
        let with = |strength: f32| StampOptions {
            watermark: Some(WatermarkOptions { strength }),
            ..StampOptions::default()
        };
        assert_eq!(StampOptions::default().validate(), Ok(()));
        assert_eq!(with(MAX_STRENGTH).validate(), Ok(()));
        assert!(with(0.0).validate().is_err());
        assert!(with(MAX_STRENGTH + 0.1).validate().is_err());
        assert!(with(f32::NAN).validate().is_err());
        let off = StampOptions {
            watermark: None,
            ..StampOptions::default()
        };
        assert_eq!(off.validate(), Ok(()));
    }
}
