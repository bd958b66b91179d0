//! A minimal workers-rs Worker: every request gets the same 302.
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let mut res = Response::empty()?.with_status(302);
    res.headers_mut()
        .set("location", "https://shop.example.com/desktop?utm_source=email&ctx=clk_aaaaaaaaaaaaaaaaaaaaaaaa")?;
    Ok(res)
}
