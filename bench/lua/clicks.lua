-- A visitor mix for generating recorded clicks: devices, sources, countries
-- and a few bots vary, so the funnel has breakdown rows to read back.
--   BENCH_PATH   short-link path, e.g. /bench/big
--   BENCH_LIMIT  stop after this many clicks in total (0 = run for -d)
-- Prints one line `BENCH_JSON {...}` with the status counts.
local path = os.getenv("BENCH_PATH") or "/"
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")

local uas = {
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
}
local sources = { "?utm_source=email", "?utm_source=social", "", "?utm_source=newsletter", "" }
local referers = { nil, nil, "https://www.google.com/", nil, "https://t.co/abc" }
local countries = { "US", "GB", "DE", "FR", "JP", "BR" }

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

local reqs = {}
local n_reqs = 0
local cursor, clicks_sent, got302, other, my_limit = 0, 0, 0, 0, 0
local filler

function init(args)
  local tid = tonumber(wrk.thread:get("tid")) or 1
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  if limit > 0 then
    my_limit = math.floor(limit / nthreads)
    if tid <= limit % nthreads then my_limit = my_limit + 1 end
  end
  -- 7 UAs x 5 sources x 6 countries: 210 distinct visitors, cycled.
  for i = 0, 209 do
    local s = (i % #sources) + 1
    local h = {
      ["User-Agent"] = uas[(i % #uas) + 1],
      ["MF-CF-Blob"] = '{"country":"' .. countries[(i % #countries) + 1] .. '"}',
    }
    if referers[s] then h["Referer"] = referers[s] end
    n_reqs = n_reqs + 1
    reqs[n_reqs] = wrk.format("GET", path .. sources[s], h)
  end
  cursor = tid * 37
  -- wrk calls request() once on the first thread's state before any
  -- connection exists (to check for pipelining); that call sends nothing.
  if tid == 1 then clicks_sent = -1 end
  -- After the limit, connections still in flight fetch this (not a click).
  filler = wrk.format("GET", "/healthz")
end

function request()
  if limit > 0 and clicks_sent >= my_limit then return filler end
  clicks_sent = clicks_sent + 1
  cursor = cursor + 1
  return reqs[(cursor % n_reqs) + 1]
end

local function publish()
  wrk.thread:set("got302", got302)
  wrk.thread:set("other", other)
end

function response(status, headers, body)
  if status == 302 then got302 = got302 + 1 elseif status ~= 200 then other = other + 1 end
  publish()
  if limit > 0 and got302 + other >= my_limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local g, o = 0, 0
  for _, t in ipairs(threads) do
    g = g + (tonumber(t:get("got302")) or 0)
    o = o + (tonumber(t:get("other")) or 0)
  end
  io.write(string.format('BENCH_JSON {"got302":%d,"other":%d}\n', g, o))
end
