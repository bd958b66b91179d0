//! Identifiers that can only be constructed valid ("parse, don't validate").
//! Handlers receive these already parsed; storage reads trust their own rows.

use crate::core::error::ApiError;
use std::fmt;

/// Handles that would collide with the service's own top-level paths.
pub const RESERVED_HANDLES: &[&str] = &[
    "v2",
    "app",
    "mcp",
    "assets",
    "static",
    "healthz",
    "favicon.ico",
    "robots.txt",
];

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `^[first][rest]{min,max}$` over ASCII, with `first` lower-alnum.
fn matches(s: &str, rest_ok: fn(u8) -> bool, min_rest: usize, max_rest: usize) -> bool {
    let b = s.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            is_lower_alnum(*first)
                && rest.len() >= min_rest
                && rest.len() <= max_rest
                && rest.iter().all(|c| rest_ok(*c))
        }
        None => false,
    }
}

fn id_char(b: u8) -> bool {
    is_lower_alnum(b) || b == b'_' || b == b'-'
}

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);
        impl $name {
            pub fn as_str(&self) -> &str { &self.0 }
            pub fn into_string(self) -> String { self.0 }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str { &self.0 }
        }
    };
}

string_id!(
    /// A tenant: `^[a-z0-9][a-z0-9-]{1,38}$`, never a reserved word.
    Handle
);
string_id!(
    /// A link's slug within a handle: `^[a-z0-9][a-z0-9_-]{0,63}$`.
    Slug
);
string_id!(
    /// `^[a-z0-9][a-z0-9_-]{2,63}$`, or generated `cmp_` + 16 hex.
    CampaignId
);
string_id!(
    /// A personalization rule id, same shape as a campaign id.
    RuleId
);
string_id!(
    /// `clk_` + 24 lower-case base32 characters (120 random bits).
    ClickId
);
string_id!(
    /// An experiment id, same shape as a campaign id.
    ExperimentId
);
string_id!(
    /// A variant of an experiment: `^[a-z0-9][a-z0-9_-]{0,31}$`.
    VariantId
);

impl ExperimentId {
    pub fn parse(s: &str) -> Result<ExperimentId, ApiError> {
        if matches(s, id_char, 2, 63) {
            Ok(ExperimentId(s.to_string()))
        } else {
            Err(ApiError::field(
                "experimentId",
                "must match ^[a-z0-9][a-z0-9_-]{2,63}$",
            ))
        }
    }
}

impl VariantId {
    pub fn parse(s: &str) -> Option<VariantId> {
        matches(s, id_char, 0, 31).then(|| VariantId(s.to_string()))
    }
}

impl Handle {
    pub fn parse(s: &str) -> Option<Handle> {
        let ok =
            matches(s, |b| is_lower_alnum(b) || b == b'-', 1, 38) && !RESERVED_HANDLES.contains(&s);
        ok.then(|| Handle(s.to_string()))
    }
}

impl Slug {
    pub fn parse(s: &str) -> Option<Slug> {
        matches(s, id_char, 0, 63).then(|| Slug(s.to_string()))
    }
    /// Parse a slug that came from a request body, naming the field on failure.
    pub fn parse_field(s: &str, field: &str) -> Result<Slug, ApiError> {
        Slug::parse(s)
            .ok_or_else(|| ApiError::field(field, "must match ^[a-z0-9][a-z0-9_-]{0,63}$"))
    }
}

impl CampaignId {
    pub fn parse(s: &str) -> Result<CampaignId, ApiError> {
        if matches(s, id_char, 2, 63) {
            Ok(CampaignId(s.to_string()))
        } else {
            Err(ApiError::InvalidCampaignId(s.to_string()))
        }
    }
    /// `cmp_` + 16 lower-case hex characters.
    pub fn generate() -> Result<CampaignId, ApiError> {
        let mut b = [0u8; 8];
        fill_random(&mut b)?;
        Ok(CampaignId(format!("cmp_{}", hex(&b))))
    }
}

impl RuleId {
    pub fn parse(s: &str) -> Result<RuleId, ApiError> {
        // "explain" names the POST …/rules/explain route, so it cannot be a rule.
        if matches(s, id_char, 2, 63) && s != "explain" {
            Ok(RuleId(s.to_string()))
        } else {
            Err(ApiError::field(
                "ruleId",
                "must match ^[a-z0-9][a-z0-9_-]{2,63}$",
            ))
        }
    }
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

impl ClickId {
    /// A fresh click id from 15 random bytes (120 bits: collisions are not a concern).
    /// Drawn from a per-thread pool refilled 32 ids at a time: the redirect
    /// makes one call into Web Crypto per 32 clicks instead of one per click.
    pub fn generate() -> Result<ClickId, ApiError> {
        const ID: usize = 15;
        const POOL: usize = ID * 32;
        thread_local! {
            static POOL_BYTES: std::cell::RefCell<([u8; POOL], usize)> =
                const { std::cell::RefCell::new(([0u8; POOL], POOL)) };
        }
        POOL_BYTES.with(|p| {
            let mut p = p.borrow_mut();
            let (bytes, used) = &mut *p;
            if *used + ID > POOL {
                fill_random(bytes)?;
                *used = 0;
            }
            let mut b = [0u8; ID];
            b.copy_from_slice(&bytes[*used..*used + ID]);
            // Never hand out the same bytes twice.
            bytes[*used..*used + ID].fill(0);
            *used += ID;
            Ok(ClickId::from_bytes(&b))
        })
    }
    pub fn from_bytes(b: &[u8; 15]) -> ClickId {
        let mut s = String::with_capacity(28);
        s.push_str("clk_");
        // 15 bytes = 120 bits = 24 groups of 5 bits.
        for chunk in b.chunks(5) {
            let mut v: u64 = 0;
            for byte in chunk {
                v = (v << 8) | u64::from(*byte);
            }
            for i in (0..8).rev() {
                s.push(BASE32[((v >> (i * 5)) & 31) as usize] as char);
            }
        }
        ClickId(s)
    }
    pub fn parse(s: &str) -> Option<ClickId> {
        let ok = s.len() == 28
            && s.starts_with("clk_")
            && s.as_bytes()[4..].iter().all(|b| BASE32.contains(b));
        ok.then(|| ClickId(s.to_string()))
    }
}

/// Cryptographically random bytes (Web Crypto in the Worker, the OS natively).
pub fn fill_random(buf: &mut [u8]) -> Result<(), ApiError> {
    getrandom::fill(buf).map_err(|e| ApiError::Internal(format!("random source failed: {e}")))
}

/// A random token of `n` bytes, lower-case hex.
pub fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut b = vec![0u8; n];
    fill_random(&mut b)?;
    Ok(hex(&b))
}

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// ISO 4217-shaped currency code: three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);
impl Currency {
    pub fn parse(s: &str, field: &str) -> Result<Currency, ApiError> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(s.to_string()))
        } else {
            Err(ApiError::field(
                field,
                "must be an ISO 4217 code such as USD",
            ))
        }
    }
    pub fn usd() -> Currency {
        Currency("USD".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 3166-1 alpha-2 shaped country code (two upper-case letters).
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn campaign_ids() {
        let good = ["spring-launch", "abc", "a_b-c", "0ab", &"a".repeat(64)];
        for id in good {
            assert!(CampaignId::parse(id).is_ok(), "{id} should be valid");
        }
        let bad = [
            "",
            "ab",
            "Spring",
            "-abc",
            "_abc",
            "spring launch",
            "spring.launch",
            &"a".repeat(65),
            "ünï",
            "abc/def",
        ];
        for id in bad {
            assert_eq!(
                CampaignId::parse(id),
                Err(ApiError::InvalidCampaignId(id.to_string())),
                "{id:?} should be invalid"
            );
        }
    }

    #[test]
    fn handles() {
        for h in ["demo", "a1", "my-brand", &"a".repeat(39)] {
            assert!(Handle::parse(h).is_some(), "{h}");
        }
        for h in [
            "a",
            "",
            "-ab",
            "Demo",
            "a_b",
            &"a".repeat(40),
            "v2",
            "app",
            "mcp",
            "healthz",
            "static",
            "assets",
        ] {
            assert!(Handle::parse(h).is_none(), "{h}");
        }
    }

    #[test]
    fn slugs() {
        for s in ["a", "spring-promo", "x_1", &"a".repeat(64)] {
            assert!(Slug::parse(s).is_some(), "{s}");
        }
        for s in ["", "-a", "A", "a b", &"a".repeat(65), "a/b", "a.b"] {
            assert!(Slug::parse(s).is_none(), "{s}");
        }
    }

    #[test]
    fn generated_ids_have_their_final_shape() {
        let c = CampaignId::generate().unwrap();
        assert!(c.as_str().starts_with("cmp_") && c.as_str().len() == 20);
        assert!(CampaignId::parse(c.as_str()).is_ok());
        let k = ClickId::generate().unwrap();
        assert_eq!(k.as_str().len(), 28);
        assert_eq!(ClickId::parse(k.as_str()), Some(k.clone()));
        assert_ne!(ClickId::generate().unwrap(), k);
        // across several refills of the pool: all distinct, all valid
        let many: std::collections::BTreeSet<String> = (0..200)
            .map(|_| ClickId::generate().unwrap().into_string())
            .collect();
        assert_eq!(many.len(), 200);
        assert!(many.iter().all(|s| ClickId::parse(s).is_some()));
        assert_eq!(
            ClickId::from_bytes(&[0; 15]).as_str(),
            "clk_aaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(
            ClickId::from_bytes(&[255; 15]).as_str(),
            "clk_777777777777777777777777"
        );
    }

    proptest! {
        #[test]
        fn campaign_id_parse_agrees_with_the_pattern(s in "\\PC{0,70}") {
            let expected = {
                let b = s.as_bytes();
                !b.is_empty() && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
                    && b.len() >= 3 && b.len() <= 64
                    && b[1..].iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
            };
            prop_assert_eq!(CampaignId::parse(&s).is_ok(), expected);
        }

        #[test]
        fn click_id_round_trips(bytes in proptest::array::uniform15(any::<u8>())) {
            let id = ClickId::from_bytes(&bytes);
            prop_assert_eq!(ClickId::parse(id.as_str()), Some(id.clone()));
        }
    }
}
