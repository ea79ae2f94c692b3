//! Image signatures as transports store them: a "simple signing" OpenPGP blob (stored bare,
//! as the first tools did) or a blob in the tagged form `\0FORMAT\nDATA` (sigstore). Copies
//! carry them through unchanged; what they sign is checked elsewhere.

/// The tag of simple-signing blobs in the tagged form.
pub const SIMPLE_SIGNING_FORMAT: &str = "simple-signing";
/// The tag of sigstore signatures.
pub const SIGSTORE_FORMAT: &str = "sigstore-json";

/// One signature of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// An OpenPGP-signed simple-signing payload.
    SimpleSigning(Vec<u8>),
    /// A sigstore signature: the JSON after the format line.
    Sigstore(Vec<u8>),
}

/// First bytes of the OpenPGP packets a bare simple-signing blob starts with: compressed
/// data, one-pass signature or signature, in the old and new packet formats.
const OPENPGP_STARTS: &[u8] = &[
    0xA0, 0xA1, 0xA2, 0xA3, 0xC8, 0x90, 0x91, 0x92, 0x3d, 0xC4, 0x88, 0x89, 0x8A, 0x8B, 0xC2,
];

impl Signature {
    /// Recognises a stored signature blob, with containers/image's complaints.
    pub fn from_blob(blob: &[u8]) -> Result<Signature, String> {
        let Some(&first) = blob.first() else {
            return Err("empty signature blob".into());
        };
        if OPENPGP_STARTS.contains(&first) {
            return Ok(Signature::SimpleSigning(blob.to_vec()));
        }
        if first != 0 {
            return Err(format!(
                "unrecognized signature format, starting with binary {first:#x}"
            ));
        }
        let rest = &blob[1..];
        let newline = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("invalid signature format, missing newline")?;
        let format = &rest[..newline];
        if let Some(b) = format.iter().find(|b| **b < 32 || **b >= 0x7f) {
            return Err(format!("invalid signature format, non-ASCII byte {b:#x}"));
        }
        let data = rest[newline + 1..].to_vec();
        match std::str::from_utf8(format).unwrap_or_default() {
            SIMPLE_SIGNING_FORMAT => Ok(Signature::SimpleSigning(data)),
            SIGSTORE_FORMAT => Ok(Signature::Sigstore(data)),
            other => Err(format!("unrecognized signature format {other:?}")),
        }
    }

    /// The blob to store: simple signing bare, anything else in the tagged form.
    pub fn to_blob(&self) -> Vec<u8> {
        match self {
            Signature::SimpleSigning(blob) => blob.clone(),
            Signature::Sigstore(data) => {
                let mut blob = Vec::with_capacity(data.len() + SIGSTORE_FORMAT.len() + 2);
                blob.push(0);
                blob.extend_from_slice(SIGSTORE_FORMAT.as_bytes());
                blob.push(b'\n');
                blob.extend_from_slice(data);
                blob
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_openpgp_and_tagged_blobs_are_recognised() {
        let pgp = [0xA3, 1, 2, 3];
        assert_eq!(Signature::from_blob(&pgp).unwrap().to_blob(), pgp);
        let tagged = b"\0simple-signing\n\xa3\x01";
        assert_eq!(
            Signature::from_blob(tagged).unwrap(),
            Signature::SimpleSigning(vec![0xa3, 1])
        );
        let sigstore = b"\0sigstore-json\n{}";
        assert_eq!(Signature::from_blob(sigstore).unwrap().to_blob(), sigstore);
    }

    #[test]
    fn anything_else_is_refused_as_containers_image_refuses_it() {
        assert_eq!(
            Signature::from_blob(b"sig").unwrap_err(),
            "unrecognized signature format, starting with binary 0x73"
        );
        assert_eq!(
            Signature::from_blob(b"").unwrap_err(),
            "empty signature blob"
        );
        assert_eq!(
            Signature::from_blob(b"\0cosign").unwrap_err(),
            "invalid signature format, missing newline"
        );
        assert_eq!(
            Signature::from_blob(b"\0other\nx").unwrap_err(),
            "unrecognized signature format \"other\""
        );
    }
}
