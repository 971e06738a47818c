//! The fingerprint of a caller key, which static-mode tokens and the configuration's key list
//! carry instead of the key, and the labelled SHA-256 it is made with. A leaf: the
//! configuration (`config`) and the tokens (`token`) both use it.

use sha2::{Digest, Sha256};

/// What a static-mode token is bound to: a SHA-256 of the caller key (see [`fingerprint`]).
pub type Fingerprint = [u8; 32];

/// The fingerprint of a caller key, as static-mode tokens carry it: SHA-256 of a label, a NUL
/// and the key.
pub fn fingerprint(caller_key: &str) -> Fingerprint {
    labelled(b"dialectgate token caller key", caller_key.as_bytes())
}

/// SHA-256 of `label`, a NUL, and `data`.
pub(crate) fn labelled(label: &[u8], data: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(label)
        .chain_update([0])
        .chain_update(data)
        .finalize()
        .into()
}
