//! Retry delays, shared by webhook deliveries and click replays.

/// Seconds to wait after failed try `attempt` (1-based): `base × 2^(attempt−1)`,
/// at most `cap`.
pub fn doubling_secs(attempt: u32, base: u32, cap: u32) -> u32 {
    base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_and_caps() {
        assert_eq!(doubling_secs(1, 60, u32::MAX), 60);
        assert_eq!(doubling_secs(3, 60, u32::MAX), 240);
        assert_eq!(doubling_secs(2, 0, 10), 0);
        assert_eq!(doubling_secs(7, 2, 60), 60);
        assert_eq!(doubling_secs(40, u32::MAX, u32::MAX), u32::MAX);
    }
}
