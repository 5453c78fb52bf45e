-- wrk script: GET the paths listed in the file $BENCH_PATHS in turn, each thread from its own
-- starting line, then print the run's figures as one JSON line for bench/run.py.
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

local paths = {}
local next_index = 1

function init(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    paths[#paths + 1] = line
  end
  next_index = ((offset or 0) * 97) % #paths + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
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
