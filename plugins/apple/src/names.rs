//! On Apple `container` a container's name is its ID, and IDs follow a
//! rule: `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`, at most 63 characters (so at
//! least 2). `ManagedContainer.nameValid` in apple/container.

/// The longest ID Apple accepts.
pub const MAX_LEN: usize = 63;

/// Is `name` a valid Apple container ID?
pub fn is_valid(name: &str) -> bool {
    let bytes = name.as_bytes();
    (2..=MAX_LEN).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..].iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The ID alca's container gets on Apple, derived from the spec's name
/// deterministically: the name itself when Apple accepts it (alca's own
/// `alca-<12 hex>` always is); otherwise the name with every other
/// character replaced by `-`, the leading non-alphanumerics dropped, cut
/// to fit, and a short hash of the original appended so that two names
/// that sanitize alike stay distinct.
pub fn container_name(name: &str) -> String {
    if is_valid(name) {
        return name.to_string();
    }
    let mapped: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' }).collect();
    let trimmed = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let base = if trimmed.is_empty() { "alca" } else { trimmed };
    let hash = format!("{:016x}", fnv1a(name.as_bytes()));
    let suffix = &hash[..10];
    // base + '-' + suffix fits in MAX_LEN.
    let keep = MAX_LEN - 1 - suffix.len();
    let base: String = base.chars().take(keep).collect();
    format!("{base}-{suffix}")
}

/// FNV-1a, 64 bits: stable across builds and platforms, no dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
