-- wrk script for bench/run.py. Its configuration is a Lua file named by BENCH_WRK_CONFIG:
--   return {
--     requests = { {method = "GET", path = "/api/v1/tasks", headers = {...}}, ... },
--     comment = nil | "run-id",  -- POST a unique comment body per request
--     delay_ms = 0,              -- pause before each request (a paced writer)
--   }
-- Requests rotate through `requests` (per thread). With `comment`, each request's body is
-- {"body": "<run-id> t<thread> n<counter> …"}, unique across threads, so the run can check
-- afterwards that every acknowledged write is stored exactly once. `done` prints one line,
-- "BENCH {json}", that bench/loadgen.py reads.

local config = dofile(os.getenv("BENCH_WRK_CONFIG"))
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

local prepared = {}
local position = 0
local counter = 0
ok_count = 0
other_count = 0

function init(args)
  for i, r in ipairs(config.requests) do
    prepared[i] = wrk.format(r.method, r.path, r.headers, r.body)
  end
end

local function comment_request(r)
  counter = counter + 1
  local body = string.format(
    '{"body": "%s t%d n%d: Đơn vị đã cập nhật số liệu, đề nghị Sở xem xét."}',
    config.comment, thread_id, counter)
  return wrk.format(r.method, r.path, r.headers, body)
end

if #config.requests > 1 or config.comment then
  function request()
    position = position % #config.requests + 1
    if config.comment then
      return comment_request(config.requests[position])
    end
    return prepared[position]
  end
else
  -- One request: wrk sends the same bytes each time, without calling Lua per request.
  local r = config.requests[1]
  wrk.method = r.method
  wrk.path = r.path
  for name, value in pairs(r.headers) do
    wrk.headers[name] = value
  end
end

if config.comment then
  -- Exact 2xx count for writes (reads use wrk's own count of statuses >= 400).
  function response(status, headers, body)
    if status >= 200 and status < 300 then
      ok_count = ok_count + 1
    else
      other_count = other_count + 1
    end
  end
end

if (config.delay_ms or 0) > 0 then
  function delay()
    return config.delay_ms
  end
end

function done(summary, latency, requests)
  local ok, other = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("ok_count") or 0)
    other = other + (thread:get("other_count") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"ok_counted": %d, "other_counted": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, ok, other, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
