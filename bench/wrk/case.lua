-- One benchmark case for wrk, parameterised by the environment (set by bench/run.sh from
-- bench/cases.tsv), so every case sends exactly its dialect's method, headers and body:
--   WRK_METHOD   HTTP method (PUT, POST, PATCH)
--   WRK_BODY     path of the request body file (JSON)
--   WRK_HEADERS  extra headers, "Name: value" separated by "|", e.g. "Authorization: Bearer k"
--   WRK_REPORT   where done() writes the run's figures as key=value lines
-- The URL (with the path) is given on wrk's command line.

local function read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = os.getenv("WRK_METHOD") or "GET"
local body_path = os.getenv("WRK_BODY")
if body_path and body_path ~= "" then
  wrk.body = read_file(body_path)
  wrk.headers["Content-Type"] = "application/json"
end
wrk.headers["Accept"] = "application/json"
for h in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^|]+") do
  local k, v = h:match("^%s*([^:]+):%s*(.-)%s*$")
  if k then
    wrk.headers[k] = v
  end
end

function done(summary, latency, requests)
  local out = os.getenv("WRK_REPORT")
  if not out or out == "" then
    return
  end
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format("requests=%d\n", summary.requests))
  f:write(string.format("duration_us=%d\n", summary.duration))
  f:write(string.format("bytes=%d\n", summary.bytes))
  f:write(string.format("err_connect=%d\nerr_read=%d\nerr_write=%d\nerr_status=%d\nerr_timeout=%d\n",
    e.connect, e.read, e.write, e.status, e.timeout))
  f:write(string.format("lat_mean_us=%.1f\nlat_max_us=%d\n", latency.mean, latency.max))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    f:write(string.format("p%s_us=%d\n", tostring(p):gsub("%.", "_"), latency:percentile(p)))
  end
  f:close()
end
