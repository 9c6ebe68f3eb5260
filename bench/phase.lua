-- One phase of bench/run.py, driven by wrk:
--   wrk -s bench/phase.lua URL -- REQUESTS_PREFIX MODE EXPECTED_STATUS [BODY_MARKER]
-- Thread N reads its requests from REQUESTS_PREFIX..N, one a line: method, path, body, then
-- "Name: value" headers, tab-separated. MODE "rotate" sends them in turn, over and over; "once"
-- sends each exactly once (one-time tokens) and stops the thread when they run out. An answer
-- counts as expected only with EXPECTED_STATUS and, when given, BODY_MARKER in its body.
-- done() prints one line, "BENCH-RESULT {json}", for bench/wrk_phase.py.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function parse(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  local headers = {}
  for i = 4, #fields do
    local name, value = fields[i]:match("^([^:]+): (.*)$")
    headers[name] = value
  end
  local body = fields[3] ~= "" and fields[3] or nil
  return wrk.format(fields[1], fields[2], headers, body)
end

function init(args)
  mode, expected, marker = args[2], tonumber(args[3]), args[4]
  requests, sent = {}, 0
  statuses, unexpected, exhausted = {}, 0, 0
  for line in io.lines(args[1] .. id) do
    table.insert(requests, parse(line))
  end
  -- What a thread sends after its one-time requests ran out; the phase is then reported invalid.
  spare = wrk.format("GET", "/healthz")
end

function request()
  sent = sent + 1
  if sent <= #requests then
    return requests[sent]
  end
  if mode == "once" then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return spare
  end
  sent = 1
  return requests[1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= expected or (marker and not body:find(marker, 1, true)) then
    unexpected = unexpected + 1
  end
end

local function json_counts(counts)
  local parts = {}
  for key, count in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', key, count))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency)
  local statuses, unexpected, exhausted = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      statuses[status] = (statuses[status] or 0) + count
    end
    unexpected = unexpected + thread:get("unexpected")
    exhausted = exhausted + thread:get("exhausted")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"duration_us": %d, "requests": %d, "p50_us": %d, "p99_us": %d, '
      .. '"statuses": %s, "unexpected": %d, "exhausted": %d, "socket_errors": %s}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    json_counts(statuses), unexpected, exhausted,
    json_counts({connect = errors.connect, read = errors.read, write = errors.write,
                 timeout = errors.timeout})
  ))
end
