//! What every C2PA validation status code means for a verdict.
//!
//! The `c2pa` crate reports its validation as status codes (`claimSignature.mismatch`,
//! `signingCredential.untrusted`, `cawg.ica.did_unavailable`, …) sorted only into success,
//! informational and failure. A verdict needs one more cut through the failures: which say the
//! content or its credentials were altered (integrity: the file is `tampered`), which only say
//! the signer cannot be vouched for (trust: reported beside the verdict), and which concern a
//! CAWG identity assertion (who the creator is, checked against credentials that often cannot
//! be resolved offline) rather than the content.
//!
//! [`classify`] is that table, written against the crate's own constants
//! (`c2pa::validation_results::validation_codes`), so a renamed code breaks the build. A code
//! the table does not know falls back on the crate's own kind: an unknown failure counts as an
//! integrity failure (as it makes c2pa-rs call the manifest Invalid) and says it is unknown.

use c2pa::status_tracker::LogKind;
use c2pa::validation_results::validation_codes::{self as codes, *};

/// What a status code means for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// A check passed.
    Success,
    /// Worth knowing, never a failure (OCSP not asked, a timestamp the TSA list does not cover, …).
    Informational,
    /// The signing credential or the signature's time cannot be vouched for: untrusted, expired,
    /// revoked, an unacceptable certificate profile. Not tampering.
    Trust,
    /// A CAWG identity assertion could not be verified (its credential untrusted or expired, its
    /// DID not resolvable offline). About the named creator, not the content. c2pa-rs tolerates
    /// these too when it decides a manifest is Valid.
    Identity,
    /// A hash, signature or structural check failed: the content or the credentials were altered.
    Integrity,
}

/// A status code's class, and whether the table knows the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub class: StatusClass,
    /// False for a code this table does not list: its class comes from the `c2pa` crate's
    /// success/informational/failure kind.
    pub known: bool,
}

/// Classifies one status code.
pub fn classify(code: &str) -> Classified {
    if let Some(class) = table(code) {
        return Classified { class, known: true };
    }
    let class = if code.starts_with("cawg.") {
        match codes::log_kind(code) {
            LogKind::Success => StatusClass::Success,
            _ => StatusClass::Identity,
        }
    } else {
        match codes::log_kind(code) {
            LogKind::Success => StatusClass::Success,
            LogKind::Informational => StatusClass::Informational,
            LogKind::Failure => StatusClass::Integrity,
        }
    };
    Classified {
        class,
        known: false,
    }
}

fn table(code: &str) -> Option<StatusClass> {
    use StatusClass::*;
    Some(match code {
        CLAIM_SIGNATURE_VALIDATED
        | CLAIM_SIGNATURE_INSIDE_VALIDITY
        | SIGNING_CREDENTIAL_TRUSTED
        | SIGNING_CREDENTIAL_NOT_REVOKED
        | TIMESTAMP_VALIDATED
        | TIMESTAMP_TRUSTED
        | TIME_OF_SIGNING_INSIDE_VALIDITY
        | ASSERTION_HASHEDURI_MATCH
        | ASSERTION_DATAHASH_MATCH
        | ASSERTION_BMFFHASH_MATCH
        | ASSERTION_BOXHASH_MATCH
        | ASSERTION_COLLECTIONHASH_MATCH
        | ASSERTION_ACCESSIBLE
        | INGREDIENT_MANIFEST_VALIDATED
        | INGREDIENT_CLAIM_SIGNATURE_VALIDATED
        | CAWG_IDENTITY_WELL_FORMED
        | CAWG_ICA_CREDENTIAL_VALID
        | CAWG_ICA_TIME_STAMP_VALIDATED
        | CAWG_X509_CREDENTIAL_TRUSTED
        | CAWG_X509_SIGNATURE_VALIDATED => Success,

        SIGNING_CREDENTIAL_OCSP_SKIPPED
        | SIGNING_CREDENTIAL_OCSP_INACCESSIBLE
        | SIGNING_CREDENTIAL_OCSP_UNKNOWN
        | MANIFEST_UNKNOWN_PROVENANCE
        | INGREDIENT_PROVENANCE_UNKNOWN
        | ASSERTION_DATAHASH_ADDITIONAL_EXCLUSIONS
        | ASSERTION_BMFFHASH_ADDITIONAL_EXCLUSIONS
        | ASSERTION_BOXHASH_ADDITIONAL_EXCLUSIONS => Informational,

        SIGNING_CREDENTIAL_UNTRUSTED
        | SIGNING_CREDENTIAL_INVALID
        | SIGNING_CREDENTIAL_REVOKED
        | SIGNING_CREDENTIAL_EXPIRED
        | CLAIM_SIGNATURE_OUTSIDE_VALIDITY
        | TIMESTAMP_UNTRUSTED
        | TIMESTAMP_OUTSIDE_VALIDITY
        | TIMESTAMP_MISMATCH
        | TIMESTAMP_MALFORMED
        | ALGORITHM_DEPRECATED => Trust,

        CAWG_ICA_UNTRUSTED_ISSUER
        | CAWG_ICA_INVALID_COSE_SIGN1
        | CAWG_ICA_INVALID_ALG
        | CAWG_ICA_INVALID_CONTENT_TYPE
        | CAWG_ICA_INVALID_ISSUER
        | CAWG_ICA_DID_UNAVAILABLE
        | CAWG_ICA_INVALID_DID_DOCUMENT
        | CAWG_ICA_SIGNATURE_MISMATCH
        | CAWG_ICA_TIME_STAMP_INVALID
        | CAWG_ICA_VALID_FROM_MISSING
        | CAWG_ICA_VALID_FROM_INVALID
        | CAWG_ICA_VALID_UNTIL_INVALID
        | CAWG_ICA_SIGNER_PAYLOAD_MISMATCH
        | CAWG_IDENTITY_CBOR_INVALID
        | CAWG_IDENTITY_SIG_TYPE_UNKNOWN
        | CAWG_IDENTITY_PAD_INVALID
        | CAWG_IDENTITY_ASSERTION_MISMATCH
        | CAWG_IDENTITY_HARD_BINDING_MISSING
        | CAWG_IDENTITY_ASSERTION_DUPLICATE
        | CAWG_X509_CREDENTIAL_UNTRUSTED
        | CAWG_X509_CREDENTIAL_INVALID
        | CAWG_X509_SIGNATURE_MISMATCH
        | CAWG_X509_ALGORITHM_UNSUPPORTED
        | CAWG_X509_SIGNATURE_OUTSIDE_VALIDITY => Identity,

        CLAIM_MALFORMED
        | CLAIM_MISSING
        | CLAIM_MULTIPLE
        | HARD_BINDINGS_MISSING
        | HARD_BINDINGS_MULTIPLE
        | CLAIM_REQUIRED_MISSING
        | CLAIM_CBOR_INVALID
        | INGREDIENT_HASHEDURI_MISMATCH
        | CLAIM_SIGNATURE_MISSING
        | CLAIM_SIGNATURE_MISMATCH
        | MANIFEST_INACCESSIBLE
        | MANIFEST_MULTIPLE_PARENTS
        | MANIFEST_UPDATE_INVALID
        | MANIFEST_UPDATE_WRONG_PARENTS
        | MANIFEST_UNREFERENCED
        | MANIFEST_TIMESTAMP_INVALID
        | MANIFEST_TIMESTAMP_WRONG_PARENTS
        | MANIFEST_COMPRESSED_INVALID
        | ASSERTION_HASHEDURI_MISMATCH
        | ASSERTION_MISSING
        | ASSERTION_UNDECLARED
        | ASSERTION_INACCESSIBLE
        | ASSERTION_NOT_REDACTED
        | ASSERTION_SELF_REDACTED
        | ASSERTION_REQUIRED_MISSING
        | ASSERTION_JSON_INVALID
        | ASSERTION_CBOR_INVALID
        | ASSERTION_OUTSIDE_MANIFEST
        | ACTION_ASSERTION_INGREDIENT_MISMATCH
        | ACTION_ASSERTION_REDACTED
        | ACTION_ASSERTION_SOFTBINDING_MISSING
        | ASSERTION_ACTION_MALFORMED
        | ASSERTION_ACTION_REDACTION_MISMATCH
        | ASSERTION_DATAHASH_MISMATCH
        | ASSERTION_DATAHASH_MALFORMED
        | "assertion.dataHash.redacted" // before C2PA 2.3; the constant is deprecated
        | ASSERTION_HARDBINDING_REDACTED
        | ASSERTION_BMFFHASH_MISMATCH
        | ASSERTION_BMFFHASH_MALFORMED
        | ASSERTION_BOXHASH_MISMATCH
        | ASSERTION_BOXHASH_UNKNOWN_BOX
        | ASSERTION_BOXESHASH_MALFORMED
        | ASSERTION_COLLECTIONHASH_MISMATCH
        | ASSERTION_COLLECTIONHASH_INVALID_URI
        | ASSERTION_COLLECTIONHASH_MALFORMED
        | ASSERTION_CLOUD_DATA_HARD_BINDING
        | ASSERTION_CLOUD_DATA_ACTIONS
        | ASSERTION_CLOUD_DATA_MALFORMED
        | ASSERTION_INGREDIENT_MALFORMED
        | ASSERTION_METADATA_DISALLOWED
        | ASSERTION_TIMESTAMP_MALFORMED
        | INGREDIENT_MANIFEST_MISSING
        | INGREDIENT_MANIFEST_MISMATCH
        | INGREDIENT_CLAIM_SIGNATURE_MISSING
        | INGREDIENT_CLAIM_SIGNATURE_MISMATCH
        | HASHED_URI_MISSING
        | HASHED_URI_MISMATCH
        | ALGORITHM_UNSUPPORTED
        | GENERAL_ERROR => Integrity,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(code: &str) -> StatusClass {
        let c = classify(code);
        assert!(c.known, "{code} is not in the table");
        c.class
    }

    #[test]
    fn successes() {
        for code in [
            "claimSignature.validated",
            "assertion.dataHash.match",
            "signingCredential.trusted",
            "cawg.x509.credential.trusted",
        ] {
            assert_eq!(class(code), StatusClass::Success, "{code}");
        }
    }

    #[test]
    fn informational() {
        for code in [
            "signingCredential.ocsp.skipped",
            "assertion.bmffHash.additionalExclusionsPresent",
            "ingredient.unknownProvenance",
        ] {
            assert_eq!(classify(code).class, StatusClass::Informational, "{code}");
        }
    }

    #[test]
    fn trust() {
        for code in [
            "signingCredential.untrusted",
            "signingCredential.expired",
            "signingCredential.ocsp.revoked",
            "signingCredential.invalid",
            "claimSignature.outsideValidity",
            "timeStamp.untrusted",
        ] {
            assert_eq!(class(code), StatusClass::Trust, "{code}");
        }
    }

    #[test]
    fn identity_assertions_are_not_integrity() {
        for code in [
            "cawg.x509.credential.untrusted",
            "cawg.ica.did_unavailable",
            "cawg.ica.valid_until.invalid",
            "cawg.ica.untrusted_issuer",
            "cawg.identity.assertion.mismatch",
        ] {
            assert_eq!(class(code), StatusClass::Identity, "{code}");
        }
        // A CAWG failure code this table has not seen yet is still about identity.
        let future = classify("cawg.ica.some_future_failure");
        assert_eq!(future.class, StatusClass::Identity);
        assert!(!future.known);
    }

    #[test]
    fn integrity() {
        for code in [
            "claimSignature.mismatch",
            "assertion.dataHash.mismatch",
            "assertion.hashedURI.mismatch",
            "ingredient.manifest.mismatch",
            "ingredient.hashedURI.mismatch",
            "claim.malformed",
        ] {
            assert_eq!(class(code), StatusClass::Integrity, "{code}");
        }
    }

    #[test]
    fn an_unknown_failure_code_is_integrity_and_says_so() {
        let unknown = classify("assertion.someFutureCheck.mismatch");
        assert_eq!(unknown.class, StatusClass::Integrity);
        assert!(!unknown.known);
    }
}
