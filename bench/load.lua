-- wrk script: GET the paths listed in the file $BENCH_PATHS in turn, each thread from its own
-- starting line, then print the run's figures as one JSON line for bench/run.py. Each request
-- comes from the next of CLIENTS clients of its thread, as a load balancer in front would say
-- (X-Forwarded-For): more clients than connections, so none meets the bound of requests at
-- once per client (cryptopredict/api/haproxy.cfg).
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

local paths = {}
local next_index = 1
local CLIENTS = 250
local client = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    paths[#paths + 1] = line
  end
  next_index = ((offset or 0) * 97) % #paths + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  client = client % CLIENTS + 1
  local address = string.format("10.0.%d.%d", offset or 0, client)
  return wrk.format("GET", path, { ["X-Forwarded-For"] = address })
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(99)))
end
