//! The server's randomness: the operating system's generator.

use getrandom::SysRng;
use rand_core::{Rng as _, UnwrapErr};
use uuid::Uuid;

/// The generator handed to the core. It panics only if the operating system cannot supply
/// randomness at all, in which case no key could be made safely anyway.
pub(crate) fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// A random (version 4) UUID for applications, clients, folders and rotations.
pub(crate) fn uuid() -> Uuid {
    let mut bytes = [0u8; 16];
    rng().fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A uniformly random index below `bound` (which must be non-zero), by rejection sampling.
pub(crate) fn below(bound: usize) -> usize {
    let bound = u64::try_from(bound).unwrap_or(u64::MAX).max(1);
    // Values at or above the largest multiple of `bound` would favour small indices.
    let zone = u64::MAX - u64::MAX % bound;
    let mut rng = rng();
    loop {
        let value = rng.next_u64();
        if value < zone {
            return usize::try_from(value % bound).unwrap_or(0);
        }
    }
}
