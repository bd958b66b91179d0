-- The password form's POST with the right password (bench section 1c).
--   BENCH_PASSWORD  the password, already form-urlencoded
-- The User-Agent and other headers come from wrk's -H options.
wrk.method = "POST"
wrk.body = "password=" .. (os.getenv("BENCH_PASSWORD") or "")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
