//! One retry loop for writes whose retry is safe (a D1 batch is one
//! transaction; rollup events carry their ids): a few tries, a short linear
//! pause between them. Runs after the response, so the pauses cost no
//! visitor anything.

use crate::core::error::ApiResult;
use std::future::Future;
use std::time::Duration;

/// Tries per write, the first included.
pub const TRIES: u64 = 3;

/// Run `op` until it succeeds, at most `TRIES` times, pausing 50 ms, 100 ms, …
/// between tries; the last error when every try failed.
pub async fn retrying<T, F, Fut>(mut op: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let mut attempt = 0u64;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt + 1 >= TRIES => return Err(e),
            Err(_) => {
                attempt += 1;
                worker::Delay::from(Duration::from_millis(50 * attempt)).await;
            }
        }
    }
}
