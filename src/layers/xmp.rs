//! PLACEHOLDER until the XMP module lands (being written now); not to be committed.
use crate::format::Format;
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XmpError {
    #[error("writing XMP into {0} files is not supported")]
    Unsupported(Format),
    #[error("cannot add XMP: {0}")]
    Malformed(String),
}
pub fn embed_digital_source_type(
    format: Format,
    _image: &[u8],
    _source_type: &str,
) -> Result<Vec<u8>, XmpError> {
    Err(XmpError::Unsupported(format))
}
pub fn read_digital_source_type(_format: Format, _image: &[u8]) -> Option<String> {
    None
}
