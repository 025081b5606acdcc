//! `check --report FILE`: a self-contained HTML page summarising a batch (counts per verdict, a row
//! per file with a thumbnail, the verdict, its one-sentence explanation and the evidence), for a
//! compliance officer to open and archive. No external resources: styles inline, thumbnails as
//! data URIs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;
use rayon::prelude::*;
use synthmark::{Format, Limits, Report, Verdict};

/// Long edge of the thumbnails, in pixels.
const THUMBNAIL: u32 = 96;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}table{border-collapse:collapse;width:100%}\
td,th{border-bottom:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}\
.v{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;white-space:nowrap}\
.labelled-ai{background:#d7f0dc}.unlabelled-ai{background:#ffe3b3}.tampered{background:#f8c9c9}\
.no-signal{background:#e8e8e8}.error{background:#f3d0f0}\
.thumb{width:96px;height:96px;object-fit:contain;background:#f4f4f4}\
.ev{margin:0;padding-left:1.2em;font-size:12px;color:#444}.unsigned{color:#a25b00}\
.path{font-family:ui-monospace,monospace;word-break:break-all}";

/// Renders the page for `reports`; `title` names the batch. Thumbnails are decoded within
/// `limits`, like the check itself.
pub fn render(reports: &[Report], title: &str, limits: &Limits) -> String {
    let thumbnails: Vec<Option<String>> = reports
        .par_iter()
        .map(|r| {
            let format = r.format?;
            thumbnail(Path::new(r.path.as_deref()?), format, limits)
        })
        .collect();
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for report in reports {
        *counts.entry(report.verdict).or_default() += 1;
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>synthmark report: {title}</title><style>{STYLE}</style></head><body>\
         <h1>synthmark report: {title}</h1>\
         <p>{} files checked on {} with synthmark {}. Verdicts:",
        reports.len(),
        now_utc(),
        env!("CARGO_PKG_VERSION"),
        title = escape(title),
    );
    for (verdict, count) in &counts {
        let _ = write!(
            html,
            " <span class=\"v {verdict}\">{verdict}: {count}</span>"
        );
    }
    html.push_str(
        "</p><table><thead><tr><th></th><th>File</th><th>Verdict</th><th>Trust</th>\
         <th>Why, and the evidence</th></tr></thead><tbody>\n",
    );
    for (report, thumb) in reports.iter().zip(&thumbnails) {
        let image = match thumb {
            Some(data) => {
                format!("<img class=\"thumb\" alt=\"\" src=\"data:image/jpeg;base64,{data}\">")
            }
            None => "<div class=\"thumb\"></div>".to_string(),
        };
        let trust = report.trust.map(|t| t.as_str()).unwrap_or("-");
        let mut evidence = String::new();
        for item in &report.evidence {
            let class = if item.signed {
                ""
            } else {
                " class=\"unsigned\""
            };
            let signed = if item.signed { "signed" } else { "unsigned" };
            let _ = write!(
                evidence,
                "<li{class}>{} ({signed}): {}</li>",
                item.layer.as_str(),
                escape(&item.detail)
            );
        }
        let _ = writeln!(
            html,
            "<tr><td>{image}</td><td class=\"path\">{}</td><td><span class=\"v {v}\">{v}</span></td>\
             <td>{trust}</td><td>{}<ul class=\"ev\">{evidence}</ul></td></tr>",
            escape(report.path.as_deref().unwrap_or("-")),
            escape(&report.explanation),
            v = report.verdict,
        );
    }
    html.push_str("</tbody></table></body></html>\n");
    html
}

/// A small JPEG of the image, base64-encoded; `None` for what cannot be decoded within `limits`.
fn thumbnail(path: &Path, format: Format, limits: &Limits) -> Option<String> {
    let bytes = synthmark::read_image_file(path).ok()?;
    let decoded = synthmark::decode_image(format, &bytes, limits).ok()?;
    let small = decoded.thumbnail(THUMBNAIL, THUMBNAIL).into_rgb8();
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70)
        .encode_image(&small)
        .ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(jpeg.into_inner()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
