-- common.lua - what every load script of tools/bench.sh shares: the
-- bearer token (BENCH_TOKEN), a seed per thread, and one line of results
-- for the script to read (requests, duration, latency percentiles, errors).

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_no", threads)
end

function init(args)
   math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919)
   token = os.getenv("BENCH_TOKEN")
end

function auth_headers(extra)
   local h = { ["Authorization"] = "Bearer " .. token }
   for k, v in pairs(extra or {}) do h[k] = v end
   return h
end

-- A made-up mobile number and a resident ID number with its check digit (GB 11643).
function phone()
   return string.format("13%d%08d", math.random(0, 9), math.random(0, 99999999))
end

function id_number(area)
   local w = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
   local s = string.format("%s%04d%02d%02d%03d", area, math.random(1950, 2000),
      math.random(1, 12), math.random(1, 28), math.random(0, 999))
   local sum = 0
   for i = 1, 17 do sum = sum + tonumber(s:sub(i, i)) * w[i] end
   local c = ("10X98765432"):sub(sum % 11 + 1, sum % 11 + 1)
   return s .. c
end

local surnames = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "覃", "韦" }
local given = { "秀英", "建国", "丽", "伟", "芳", "强", "敏", "军", "静", "磊", "桂兰", "志明" }

function person_name()
   return surnames[math.random(#surnames)] .. given[math.random(#given)]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p75_us=%d p90_us=%d p99_us=%d " ..
      "status_errors=%d socket_errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(75),
      latency:percentile(90), latency:percentile(99), e.status,
      e.connect + e.read + e.write + e.timeout))
end
