//! What to do next, in terms of this command line's flags. The library's errors say what went
//! wrong and nothing about switches (they also reach HTTP clients and library users); the
//! command line adds the switch that changes the outcome, from the error's variant.

use synthmark::registry::RegistryError;
use synthmark::{IdentityError, StampError};

/// The advice for a failed stamp, if a flag changes the outcome.
pub fn for_stamp(err: &StampError) -> Option<&'static str> {
    match err {
        StampError::OutputExists { .. } => Some("pass --force to replace it"),
        StampError::Timestamp { .. } => {
            Some("check the TSA, or pass --tsa-optional to sign without one")
        }
        StampError::Registry(err) => Some(for_registry(err)),
        _ => None,
    }
}

/// A stamp error with its advice, on one line (a batch prints one line per file).
pub fn stamp_error(err: &StampError) -> String {
    match for_stamp(err) {
        Some(advice) => format!("{err}; {advice}"),
        None => err.to_string(),
    }
}

/// The advice for a registry that cannot be used while stamping.
pub fn for_registry(err: &RegistryError) -> &'static str {
    match err {
        RegistryError::NotARegistry { .. } => {
            "move the file aside or point --registry elsewhere, or pass --no-registry to stamp without logging"
        }
        _ => "fix the registry, or pass --no-registry to stamp without logging",
    }
}

/// The advice for a signing identity that cannot be written.
pub fn for_identity(err: &IdentityError) -> Option<&'static str> {
    match err {
        IdentityError::Exists { .. } => Some("pass --force to replace the identity"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_advice_names_the_flag_that_changes_the_outcome() {
        let exists = StampError::OutputExists {
            path: PathBuf::from("out/a.jpg"),
        };
        assert_eq!(
            stamp_error(&exists),
            "out/a.jpg already exists; pass --force to replace it"
        );
        let tsa = StampError::Timestamp {
            url: "http://tsa".into(),
            reason: "timed out".into(),
        };
        assert!(stamp_error(&tsa).ends_with("pass --tsa-optional to sign without one"));
        let corrupt = RegistryError::NotARegistry {
            location: "r.sqlite".into(),
            reason: "file is not a database".into(),
        };
        assert!(for_registry(&corrupt).contains("--registry elsewhere"));
        let written = IdentityError::Exists {
            path: PathBuf::from("id"),
        };
        assert_eq!(
            for_identity(&written),
            Some("pass --force to replace the identity")
        );
    }
}
