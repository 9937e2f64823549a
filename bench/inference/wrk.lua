-- wrk script for the inference benchmark: POSTs one fixed body and prints one machine-readable result line.
--
-- Environment:
--   BODY_FILE     file holding the request body, e.g. one.json or batch.json from make_bodies.py
--   BODIES_FILE   instead of BODY_FILE: a file holding several bodies, one a line, sent in turn (each request built
--                 once, when the thread starts, so sending the next costs as little as sending one fixed body)
--   CONTENT_TYPE  Content-Type header (default application/json)
--   API_KEY       optional; sent as Authorization: Bearer <key>
--   DELAY_MS      optional; each connection waits this many milliseconds between requests, so the offered rate
--                 is about connections * 1000 / DELAY_MS requests/s (closed loop: a slow response delays the next)
--
-- Usage:
--   BODY_FILE=one.json wrk -t1 -c16 -d10s -s bench/inference/wrk.lua http://127.0.0.1:18000/models/fair/predict
--
-- Output (from done(), besides wrk's own report):
--   RESULT {"requests":N,"duration_s":S,"rps":R,"errors":E,"non2xx":X,"p50_ms":..,"p90_ms":..,"p99_ms":..,"max_ms":..}
-- errors = connect + read + write + timeout + status errors; non2xx = wrk's status errors (HTTP status > 399).
--
-- wrk runs this chunk in every Lua state (the main one, which calls setup/done, and one per thread), so the
-- global scope below executes in each of them; done() only uses its arguments.

-- wrk only prints errors raised while loading a script and then runs anyway (sending GETs), so exit instead.
local function fail(message)
  io.stderr:write("wrk.lua: ", message, "\n")
  os.exit(2)
end

local function read_body(path)
  if path == nil or path == "" then
    fail("set BODY_FILE to the file holding the request body")
  end
  local file, err = io.open(path, "rb")
  if file == nil then
    fail("cannot open BODY_FILE: " .. tostring(err))
  end
  local body = file:read("*a")
  file:close()
  return body
end

local function read_bodies(path)
  local bodies = {}
  for line in io.lines(path) do
    if line ~= "" then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    fail("BODIES_FILE holds no body")
  end
  return bodies
end

wrk.method = "POST"
local bodies_file = os.getenv("BODIES_FILE")
local bodies = nil
if bodies_file ~= nil and bodies_file ~= "" then
  bodies = read_bodies(bodies_file)
else
  wrk.body = read_body(os.getenv("BODY_FILE"))
end
local content_type = os.getenv("CONTENT_TYPE")
if content_type == nil or content_type == "" then
  content_type = "application/json"
end
wrk.headers["Content-Type"] = content_type
local api_key = os.getenv("API_KEY")
if api_key ~= nil and api_key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. api_key
end

if bodies ~= nil then
  -- Defined only for BODIES_FILE: without a request() hook wrk sends its one prepared request over and over.
  local requests, sent = {}, 0
  function init(args)
    -- wrk has set the Host header and the path by now; wrk.format adds Content-Length for each body.
    for i, body in ipairs(bodies) do
      requests[i] = wrk.format(nil, nil, nil, body)
    end
  end

  function request()
    sent = sent % #requests + 1
    return requests[sent]
  end
end

local delay_ms = tonumber(os.getenv("DELAY_MS") or "")
if delay_ms ~= nil and delay_ms > 0 then
  -- Defined only when DELAY_MS is set: without a delay() hook wrk sends back-to-back.
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  local duration_s = summary.duration / 1e6
  local rps = 0
  if duration_s > 0 then
    rps = summary.requests / duration_s
  end
  local function ms(us)
    return string.format("%.3f", us / 1000)
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.2f,"errors":%d,"non2xx":%d,' ..
    '"p50_ms":%s,"p90_ms":%s,"p99_ms":%s,"max_ms":%s}\n',
    summary.requests, duration_s, rps, errors, e.status,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max)))
end
