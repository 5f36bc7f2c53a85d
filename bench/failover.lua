-- wrk script for bench/run_failover_bench.sh: counts non-2xx responses and measures the longest
-- gap between consecutive 2xx responses (the "stall" a failover causes), on a monotonic clock.
--
-- Each wrk thread runs its own Lua state: response() updates that thread's globals; done() runs
-- in the main state and reads them through the thread objects setup() collected. The stall is
-- the longest gap within one thread (with -t1: across all connections). When no 2xx came for
-- the last 200 ms or more of the run (the proxy never recovered), that tail counts as a stall.
--
-- Prints one line:
--   FAILOVER requests=N ok=N non2xx=N connect=N read=N write=N timeout=N failed=N
--            stall_ms=X stall_at_ms=T tail_ms=Y
-- with failed = non2xx + socket errors, stall_at_ms the stall's start since the thread began.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } failover_timespec;
int clock_gettime(int clk_id, failover_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("failover_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  start_ms = now_ms()
  -- The run script passes when it kills the primary (ms after start): gaps that begin from
  -- 100 ms before it to 2 s after it are the failover's own ("kill_gap").
  kill_at_ms = tonumber(args[1] or "") or -1
  kill_gap_ms = 0
  ok = 0
  non2xx = 0
  last_ok_ms = -1   -- no 2xx yet
  stall_ms = 0
  stall_at_ms = 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    local t = now_ms()
    if last_ok_ms >= 0 and t - last_ok_ms > stall_ms then
      stall_ms = t - last_ok_ms
      stall_at_ms = last_ok_ms - start_ms
    end
    if last_ok_ms >= 0 and kill_at_ms >= 0 and t - last_ok_ms > kill_gap_ms then
      local at = last_ok_ms - start_ms
      if at >= kill_at_ms - 100 and at <= kill_at_ms + 2000 then kill_gap_ms = t - last_ok_ms end
    end
    last_ok_ms = t
    ok = ok + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local t = now_ms()
  local total_ok, total_non2xx, stall, stall_at, tail, kill_gap = 0, 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_non2xx = total_non2xx + thread:get("non2xx")
    local g = thread:get("kill_gap_ms")
    if g > kill_gap then kill_gap = g end
    local s = thread:get("stall_ms")
    if s > stall then
      stall = s
      stall_at = thread:get("stall_at_ms")
    end
    local last = thread:get("last_ok_ms")
    local start = thread:get("start_ms")
    local th_tail = (last >= 0) and (t - last) or (t - start)
    if th_tail > tail then tail = th_tail end
    if th_tail >= 200 and th_tail > stall then
      stall = th_tail
      stall_at = ((last >= 0) and last or start) - start
    end
  end
  local e = summary.errors
  local failed = total_non2xx + e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "FAILOVER requests=%d ok=%d non2xx=%d connect=%d read=%d write=%d timeout=%d failed=%d " ..
    "stall_ms=%.1f stall_at_ms=%.0f tail_ms=%.1f kill_gap_ms=%.1f\n",
    summary.requests, total_ok, total_non2xx, e.connect, e.read, e.write, e.timeout, failed,
    stall, stall_at, tail, kill_gap))
end
