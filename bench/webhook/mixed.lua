-- mixed.lua - wrk script: 9 valid AdmissionReviews ($BODY) then 1 malformed one
-- ($BAD_BODY, a truncated JSON document), round robin per connection, over
-- keep-alive. The pod webhook answers both with HTTP 200 (allowed, the malformed
-- one with a warning), so any non-2xx shows up in wrk's error counts. Prints the
-- same "WRKJSON {...}" line as post.lua.
local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local valid = slurp(os.getenv("BODY") or "fixtures/admission-review.json")
local bad = slurp(os.getenv("BAD_BODY") or "fixtures/malformed.json")
local hdr = { ["Content-Type"] = "application/json" }
local reqs = {}
local n = 0

function init(args)
  local good = wrk.format("POST", nil, hdr, valid)
  for i = 1, 9 do reqs[i] = good end
  reqs[10] = wrk.format("POST", nil, hdr, bad)
end

function request()
  n = n % 10 + 1
  return reqs[n]
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_ms":{"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}}\n',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
