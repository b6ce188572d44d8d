-- The wrk script of benchmarks/storm.py (wrk 4.1, LuaJIT).
--
-- Two uses, told apart by whether a thread finds a file of requests:
--
-- * Per-user requests, each sent exactly once (sign-ins, launches). storm.py
--   writes for each thread a file RUBICON_WRK_DIR/in-<thread>, one line per
--   user: "<user>\t<Authorization value or empty>\t<JSON body or empty>".
--   The method is RUBICON_WRK_METHOD, the path the URL's. Each answer becomes
--   one line of out-<thread>: "<user>\t<status>\t<sent>\t<answered>\t<body>",
--   times in microseconds of CLOCK_MONOTONIC. A thread that has sent its
--   share and had it answered writes done-<thread> and stops; storm.py then
--   interrupts wrk. Tokens and the password travel only in these files
--   (0600, in a 0700 folder), never on a command line.
-- * No file (the bare endpoint's limit): the thread sets no request() or
--   response(), so wrk sends its one fixed request, its cheapest way.
--
-- Either way done() writes wrk's totals to RUBICON_WRK_DIR/summary.
--
-- Which user an answer is for. wrk calls request() just before it writes a
-- request on a connection and response() once that connection's answer is
-- complete, and a connection has one request in flight (request() returns
-- one request, so no pipelining). Lua is not told which connection, though:
-- with several connections per thread a FIFO of sent users would pair
-- answers wrongly whenever a later request is answered first. So storm.py
-- runs one connection per thread, and an answer is for the user of its
-- thread's last request(). If a connection breaks, wrk reconnects and calls
-- request() again: the lost request's user then has no line, and storm.py
-- counts it as unanswered.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } rubicon_timespec;
int clock_gettime(int clock, rubicon_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("rubicon_timespec")

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
   return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local dir = os.getenv("RUBICON_WRK_DIR")

-- In wrk's main Lua state: number the threads (setup runs before each one's init).
local threads = 0

function setup(thread)
   thread:set("id", threads)
   threads = threads + 1
end

-- In each thread's own state.
local users, requests = {}, {}
local next_one = 1
local current, sent_at = nil, 0
local output, spare, finished
-- wrk calls thread 0's request() once before the thread runs, only to check
-- that it parses (script_verify_request in wrk.c); that request is never sent.
local checked

local function finish()
   if finished then
      return
   end
   finished = true
   output:close()
   assert(io.open(dir .. "/done-" .. id, "w")):close()
   wrk.thread:stop()
end

local function send()
   if not checked then
      checked = true
      return requests[1]
   end
   current = users[next_one]
   if current == nil then
      -- Asked again after the share: a request was lost and wrk reconnected.
      finish()
      return spare
   end
   next_one = next_one + 1
   sent_at = now_us()
   return requests[next_one - 1]
end

local function record(status, headers, body)
   if current == nil then
      return
   end
   local answered = now_us()
   -- JSON has no raw line breaks inside strings; any between tokens go.
   output:write(current, "\t", status, string.format("\t%.0f\t%.0f\t", sent_at, answered),
                (body:gsub("[\r\n]", " ")), "\n")
   current = nil
   if next_one > #requests then
      finish()
   end
end

function init(args)
   local file = io.open(dir .. "/in-" .. id)
   if file == nil then
      return
   end
   local method = os.getenv("RUBICON_WRK_METHOD")
   -- Built once here, so request() is a table lookup (wrk's SCRIPTING advice).
   for line in file:lines() do
      local user, authorization, body = line:match("^(%d+)\t([^\t]*)\t(.*)$")
      local headers = {}
      if authorization ~= "" then
         headers["Authorization"] = authorization
      end
      if body == "" then
         body = nil
      else
         headers["Content-Type"] = "application/json"
      end
      users[#users + 1] = user
      requests[#requests + 1] = wrk.format(method, nil, headers, body)
   end
   file:close()
   spare = wrk.format("GET", "/healthz", {})
   -- storm.py made it 0600 already; "w" keeps that mode.
   output = assert(io.open(dir .. "/out-" .. id, "w"))
   checked = id ~= 0
   request, response = send, record
end

function done(summary, latency, rates)
   local out = assert(io.open(dir .. "/summary", "w"))
   out:write(string.format("duration %.0f\nrequests %.0f\n", summary.duration, summary.requests))
   for _, name in ipairs({"connect", "read", "write", "status", "timeout"}) do
      out:write(string.format("%s %.0f\n", name, summary.errors[name]))
   end
   out:close()
end
