//! The link password's hashing and checking (`core::access`), with the
//! PBKDF2 derivation done by the runtime's Web Crypto (`src/crypto.js`).

use crate::core::access::{Password, PasswordHash, HASH_LEN, PBKDF2_ITERATIONS, SALT_LEN};
use crate::core::error::{ApiError, ApiResult};
use crate::core::ids::fill_random;

async fn derive(password: &str, salt: &[u8], iterations: u32) -> ApiResult<Vec<u8>> {
    let salt = js_sys::Uint8Array::from(salt);
    let out = wasm_bindgen_futures::JsFuture::from(pbkdf2_sha256(password, &salt, iterations))
        .await
        .map_err(|e| ApiError::Internal(format!("pbkdf2: {e:?}")))?;
    let bytes = js_sys::Uint8Array::new(&out).to_vec();
    if bytes.len() != HASH_LEN {
        return Err(ApiError::Internal("pbkdf2: wrong output length".into()));
    }
    Ok(bytes)
}

/// A new salted hash of `password`.
pub async fn hash(password: &Password) -> ApiResult<PasswordHash> {
    let mut salt = vec![0u8; SALT_LEN];
    fill_random(&mut salt)?;
    let hash = derive(password.as_str(), &salt, PBKDF2_ITERATIONS).await?;
    Ok(PasswordHash {
        iterations: PBKDF2_ITERATIONS,
        salt,
        hash,
    })
}

/// Whether `attempt` is the password `stored` was made from.
pub async fn verify(stored: &PasswordHash, attempt: &str) -> ApiResult<bool> {
    let derived = derive(attempt, &stored.salt, stored.iterations).await?;
    Ok(stored.matches(&derived))
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/crypto.js")]
extern "C" {
    fn pbkdf2_sha256(password: &str, salt: &js_sys::Uint8Array, iterations: u32)
        -> js_sys::Promise;
}
