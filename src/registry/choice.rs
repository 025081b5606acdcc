//! Which registry entry an image is, if any: the rule that decides between the entries a
//! lookup found, so that recovery never hands back another image's credentials.
//!
//! Asset ids are 40 random bits, so at scale some are shared: about n²/2⁴¹ pairs among n
//! outputs (45 at 10 million, 4,500 at 100 million). The rule, in order:
//!
//! 1. an entry whose SHA-256 is the image's wins outright: it is the very file;
//! 2. if exactly one entry carries the watermark's asset id, it is the image's; the PDQ
//!    fingerprint is reported beside it as a cross-check (it does not survive crops, the
//!    watermark does, so it does not overrule it);
//! 3. if several entries carry it, the fingerprint decides: the nearest must be within
//!    [`MATCH_DISTANCE`] bits of the image and [`MARGIN`] bits nearer than every other sharer;
//!    otherwise the match is ambiguous and nothing is recovered. More than [`MAX_SHARING`]
//!    sharers are not weighed at all (a flood of one id must not make checks slow);
//! 4. with no entry carrying the asset id, the nearest fingerprint within [`MATCH_DISTANCE`]
//!    wins; a tie between entries, or a nearest entry whose own asset id contradicts the
//!    watermark's, is ambiguous.
//!
//! Pure: it reads the matches [`super::Registry::find`] returned and touches no database.

use super::{Match, MatchedBy, Query};
use crate::layers::fingerprint::MATCH_DISTANCE;

/// At most this many entries sharing one asset id are weighed; with more, the asset id cannot
/// single one out and nothing is recovered through it.
pub const MAX_SHARING: usize = 64;

/// Among entries sharing an asset id, the nearest fingerprint must be at least this many bits
/// nearer to the image than every other sharer's.
pub const MARGIN: u32 = 8;

/// What the rule decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice<'a> {
    /// No entry matches the image.
    NotFound,
    /// This entry is the image's: its credentials may be handed back.
    Recovered(Chosen<'a>),
    /// The image is in the registry, but the rule cannot tell which entry it is: nothing is
    /// recovered. `reason` says why, in one line ending "credentials not recovered".
    Ambiguous { reason: String },
}

/// The entry the rule chose, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen<'a> {
    pub found: &'a Match,
    /// What decided: the file's hash, the asset id or the fingerprint.
    pub matched_by: MatchedBy,
    /// The fingerprint cross-check or the reason the fingerprint decided, for the report.
    pub note: Option<String>,
    /// How many other entries carry the chosen entry's asset id (among those found).
    pub others_sharing_asset_id: usize,
}

/// Decides which of `matches` (as [`super::Registry::find`] returned them for `query`) is the
/// image's entry.
pub fn choose<'a>(query: &Query, matches: &'a [Match]) -> Choice<'a> {
    if matches.is_empty() {
        return Choice::NotFound;
    }
    if let Some(sha256) = &query.sha256 {
        if let Some(exact) = matches.iter().find(|m| &m.stored.entry.sha256 == sha256) {
            let others = others_sharing(matches, exact);
            return Choice::Recovered(Chosen {
                found: exact,
                matched_by: MatchedBy::Sha256,
                note: (others > 0).then(|| {
                    let noun = if others == 1 {
                        "entry shares"
                    } else {
                        "entries share"
                    };
                    format!("{others} other registry {noun} its asset id; the hash decides")
                }),
                others_sharing_asset_id: others,
            });
        }
    }
    if let Some(id) = query.asset_id.as_deref() {
        let sharing: Vec<&Match> = matches
            .iter()
            .filter(|m| m.stored.entry.asset_id.as_deref() == Some(id))
            .collect();
        match sharing.as_slice() {
            [] => {}
            [only] => {
                return Choice::Recovered(Chosen {
                    found: only,
                    matched_by: MatchedBy::AssetId,
                    note: Some(cross_check(only.fingerprint_distance)),
                    others_sharing_asset_id: 0,
                })
            }
            _ => return among_sharers(id, &sharing),
        }
    }
    by_fingerprint(query.asset_id.as_deref(), matches)
}

/// Several entries carry the asset id: the fingerprint must single one out.
fn among_sharers<'a>(id: &str, sharing: &[&'a Match]) -> Choice<'a> {
    if sharing.len() > MAX_SHARING {
        return Choice::Ambiguous {
            reason: format!(
                "asset id {id} is shared by more than {MAX_SHARING} registry entries; credentials not recovered"
            ),
        };
    }
    let undecided = || {
        Choice::Ambiguous {
        reason: format!(
            "asset id {id} is shared by {} registry entries and the fingerprint does not single one out; credentials not recovered",
            sharing.len()
        ),
    }
    };
    let Some(nearest) = sharing
        .iter()
        .copied()
        .filter(|m| m.fingerprint_distance.is_some())
        .min_by_key(|m| m.fingerprint_distance)
    else {
        return undecided();
    };
    let Some(best) = nearest
        .fingerprint_distance
        .filter(|&d| d <= MATCH_DISTANCE)
    else {
        return undecided();
    };
    // Every other sharer must be known to be farther by the margin: one without a usable
    // fingerprint cannot be ruled out.
    let mut runner_up = u32::MAX;
    for other in sharing.iter().filter(|m| m.stored.id != nearest.stored.id) {
        match other.fingerprint_distance {
            Some(d) if d >= best + MARGIN => runner_up = runner_up.min(d),
            _ => return undecided(),
        }
    }
    Choice::Recovered(Chosen {
        found: nearest,
        matched_by: MatchedBy::AssetId,
        note: Some(format!(
            "asset id {id} is shared by {} registry entries; the fingerprint singles this one out, {best}/256 bits apart (the next is {runner_up})",
            sharing.len()
        )),
        others_sharing_asset_id: sharing.len() - 1,
    })
}

/// No entry carries the asset id (or the image has none): the nearest fingerprint decides.
fn by_fingerprint<'a>(asset_id: Option<&str>, matches: &'a [Match]) -> Choice<'a> {
    let near = || {
        matches
            .iter()
            .filter(|m| m.fingerprint_distance.is_some_and(|d| d <= MATCH_DISTANCE))
    };
    let Some(best) = near().filter_map(|m| m.fingerprint_distance).min() else {
        return Choice::NotFound;
    };
    let nearest: Vec<&Match> = near()
        .filter(|m| m.fingerprint_distance == Some(best))
        .collect();
    if nearest.len() > 1 {
        return Choice::Ambiguous {
            reason: format!(
                "{} registry entries are equally near by fingerprint ({best}/256 bits apart) and nothing else tells them apart; credentials not recovered",
                nearest.len()
            ),
        };
    }
    let chosen = nearest[0];
    if let (Some(image), Some(entry)) = (asset_id, chosen.stored.entry.asset_id.as_deref()) {
        // The watermark names another output than the one the fingerprint found (a look-alike,
        // or the same picture stamped again): its credentials are not this image's.
        return Choice::Ambiguous {
            reason: format!(
                "the nearest registry entry by fingerprint ({best}/256 bits apart) has asset id {entry}, but the watermark carries {image}, which the registry does not hold; credentials not recovered"
            ),
        };
    }
    Choice::Recovered(Chosen {
        found: chosen,
        matched_by: MatchedBy::Fingerprint { distance: best },
        note: None,
        others_sharing_asset_id: others_sharing(matches, chosen),
    })
}

/// The fingerprint cross-check for an entry found by a unique asset id.
fn cross_check(distance: Option<u32>) -> String {
    match distance {
        Some(d) if d <= MATCH_DISTANCE => {
            format!("the fingerprint agrees, {d}/256 bits apart")
        }
        Some(d) => format!(
            "the fingerprint does not agree, {d}/256 bits apart (a crop or heavy edit changes it; the asset id decides)"
        ),
        None => "no fingerprint to cross-check".to_string(),
    }
}

/// Entries other than `chosen` that carry its asset id, among `matches`.
fn others_sharing(matches: &[Match], chosen: &Match) -> usize {
    let Some(id) = chosen.stored.entry.asset_id.as_deref() else {
        return 0;
    };
    matches
        .iter()
        .filter(|m| m.stored.id != chosen.stored.id)
        .filter(|m| m.stored.entry.asset_id.as_deref() == Some(id))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Entry, Stored};

    const ID: &str = "0123456789";

    fn entry(id: i64, asset_id: Option<&str>, distance: Option<u32>, by: MatchedBy) -> Match {
        let mut sha256 = [0u8; 32];
        sha256[..8].copy_from_slice(&id.to_be_bytes());
        Match {
            stored: Stored {
                id,
                entry: Entry {
                    asset_id: asset_id.map(str::to_string),
                    sha256,
                    fingerprint: None,
                    format: "image/png".into(),
                    generator: None,
                    manifest_store: vec![id as u8],
                    created_at: 0,
                },
            },
            matched_by: by,
            fingerprint_distance: distance,
        }
    }

    fn sharer(id: i64, distance: Option<u32>) -> Match {
        entry(id, Some(ID), distance, MatchedBy::AssetId)
    }

    fn look_alike(id: i64, asset_id: Option<&str>, distance: u32) -> Match {
        entry(
            id,
            asset_id,
            Some(distance),
            MatchedBy::Fingerprint { distance },
        )
    }

    fn query(asset_id: Option<&str>, sha_of: Option<i64>) -> Query {
        Query {
            asset_id: asset_id.map(str::to_string),
            sha256: sha_of.map(|id| entry(id, None, None, MatchedBy::Sha256).stored.entry.sha256),
            fingerprint: None,
        }
    }

    fn recovered(choice: Choice<'_>) -> (i64, MatchedBy, Option<String>, usize) {
        match choice {
            Choice::Recovered(c) => (
                c.found.stored.id,
                c.matched_by,
                c.note,
                c.others_sharing_asset_id,
            ),
            other => panic!("expected a recovery, got {other:?}"),
        }
    }

    fn ambiguous(choice: Choice<'_>) -> String {
        match choice {
            Choice::Ambiguous { reason } => {
                assert!(reason.ends_with("credentials not recovered"), "{reason}");
                reason
            }
            other => panic!("expected an ambiguous match, got {other:?}"),
        }
    }

    #[test]
    fn nothing_found_is_not_found() {
        assert_eq!(choose(&query(Some(ID), Some(1)), &[]), Choice::NotFound);
    }

    #[test]
    fn the_exact_file_wins_outright_even_among_sharers() {
        // Three entries share the id and the fingerprint is useless; the hash names entry 2.
        let matches = [sharer(1, None), sharer(2, None), sharer(3, Some(200))];
        let (id, by, note, others) = recovered(choose(&query(Some(ID), Some(2)), &matches));
        assert_eq!((id, by, others), (2, MatchedBy::Sha256, 2));
        assert_eq!(
            note.unwrap(),
            "2 other registry entries share its asset id; the hash decides"
        );
        // Also when it was found by hash alone, beside a nearer look-alike.
        let matches = [
            look_alike(7, None, 2),
            entry(8, None, Some(9), MatchedBy::Sha256),
        ];
        let (id, by, _, others) = recovered(choose(&query(None, Some(8)), &matches));
        assert_eq!((id, by, others), (8, MatchedBy::Sha256, 0));
    }

    #[test]
    fn a_unique_asset_id_is_recovered_with_the_fingerprint_as_a_cross_check() {
        let q = query(Some(ID), Some(99));
        let agrees = [sharer(1, Some(12)), look_alike(2, None, 3)];
        let (id, by, note, others) = recovered(choose(&q, &agrees));
        assert_eq!((id, by, others), (1, MatchedBy::AssetId, 0));
        assert_eq!(note.unwrap(), "the fingerprint agrees, 12/256 bits apart");

        let cropped = [sharer(1, Some(97))];
        let note = recovered(choose(&q, &cropped)).2.unwrap();
        assert!(
            note.starts_with("the fingerprint does not agree, 97/256 bits apart"),
            "{note}"
        );

        let unknown = [sharer(1, None)];
        let note = recovered(choose(&q, &unknown)).2.unwrap();
        assert_eq!(note, "no fingerprint to cross-check");
    }

    #[test]
    fn among_sharers_the_fingerprint_decides_by_a_margin() {
        let q = query(Some(ID), None);
        let decided = [
            sharer(1, Some(120)),
            sharer(2, Some(6)),
            sharer(3, Some(14)),
        ];
        let (id, by, note, others) = recovered(choose(&q, &decided));
        assert_eq!((id, by, others), (2, MatchedBy::AssetId, 2));
        let note = note.unwrap();
        assert!(
            note.contains("shared by 3 registry entries") && note.contains("6/256 bits apart"),
            "{note}"
        );
    }

    #[test]
    fn sharers_the_fingerprint_does_not_separate_are_ambiguous() {
        let q = query(Some(ID), None);
        let expected = format!(
            "asset id {ID} is shared by 3 registry entries and the fingerprint does not single one out; credentials not recovered"
        );
        // Too close to each other (7 bits < the margin of 8).
        let close = [
            sharer(1, Some(10)),
            sharer(2, Some(17)),
            sharer(3, Some(90)),
        ];
        assert_eq!(ambiguous(choose(&q, &close)), expected);
        // Nearest beyond the match distance.
        let far = [
            sharer(1, Some(32)),
            sharer(2, Some(100)),
            sharer(3, Some(110)),
        ];
        assert_eq!(ambiguous(choose(&q, &far)), expected);
        // Another sharer has no usable fingerprint: it cannot be ruled out.
        let unknown = [sharer(1, Some(2)), sharer(2, None), sharer(3, Some(100))];
        assert_eq!(ambiguous(choose(&q, &unknown)), expected);
        // The image has no usable fingerprint.
        let blind = [sharer(1, None), sharer(2, None), sharer(3, None)];
        assert_eq!(ambiguous(choose(&q, &blind)), expected);
        // The margin itself is enough.
        let exactly = [sharer(1, Some(10)), sharer(2, Some(18))];
        assert_eq!(recovered(choose(&q, &exactly)).0, 1);
    }

    #[test]
    fn more_sharers_than_the_cap_are_not_weighed() {
        let q = query(Some(ID), None);
        let mut flood: Vec<Match> = (1..=MAX_SHARING as i64 + 1)
            .map(|id| sharer(id, Some(200)))
            .collect();
        flood[0].fingerprint_distance = Some(0);
        let reason = ambiguous(choose(&q, &flood));
        assert!(
            reason.contains(&format!("shared by more than {MAX_SHARING}")),
            "{reason}"
        );
        // At the cap, the fingerprint still decides.
        flood.pop();
        assert_eq!(recovered(choose(&q, &flood)).0, 1);
    }

    #[test]
    fn without_an_asset_id_match_the_nearest_fingerprint_wins() {
        let matches = [
            look_alike(1, Some("aaaaaaaaaa"), 20),
            look_alike(2, None, 5),
            look_alike(3, Some("bbbbbbbbbb"), 9),
        ];
        for q in [query(None, Some(99)), query(Some(ID), None)] {
            let (id, by, note, others) = recovered(choose(&q, &matches));
            assert_eq!(
                (id, by, note, others),
                (2, MatchedBy::Fingerprint { distance: 5 }, None, 0)
            );
        }
        // Matches beyond the match distance do not count.
        let far = [look_alike(1, None, MATCH_DISTANCE + 1)];
        assert_eq!(choose(&query(None, None), &far), Choice::NotFound);
    }

    #[test]
    fn equally_near_fingerprints_are_ambiguous() {
        let tie = [
            look_alike(1, Some("aaaaaaaaaa"), 7),
            look_alike(2, None, 7),
            look_alike(3, None, 12),
        ];
        let reason = ambiguous(choose(&query(None, None), &tie));
        assert!(
            reason.starts_with("2 registry entries are equally near by fingerprint (7/256"),
            "{reason}"
        );
    }

    #[test]
    fn a_fingerprint_match_whose_asset_id_contradicts_the_watermark_is_ambiguous() {
        let matches = [
            look_alike(1, Some("aaaaaaaaaa"), 4),
            look_alike(2, None, 20),
        ];
        let reason = ambiguous(choose(&query(Some(ID), None), &matches));
        assert!(
            reason.contains("asset id aaaaaaaaaa") && reason.contains(ID),
            "{reason}"
        );
        // Without a watermark there is nothing to contradict.
        let (id, _, _, _) = recovered(choose(&query(None, None), &matches));
        assert_eq!(id, 1);
    }
}
