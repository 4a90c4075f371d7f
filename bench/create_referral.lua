-- create_referral.lua - POST /api/v1/referrals as the hotline, to county
-- BENCH_COUNTY: routed to its least-loaded committee; exactly once by an
-- Idempotency-Key unique to each request.
dofile("bench/common.lua")

local county = os.getenv("BENCH_COUNTY")
local n = 0
local run = tostring(os.time())

request = function()
   n = n + 1
   local body = string.format(
      '{"source": "hotline_12338", "caller_name": "%s", "caller_phone": "%s",' ..
      ' "county_code": "%s", "dispute_type": "domestic_violence", "urgency": "normal",' ..
      ' "summary": "来电人反映配偶多次酒后实施家暴，请求调解并了解人身安全保护令。"}',
      person_name(), phone(), county)
   return wrk.format("POST", "/api/v1/referrals", auth_headers({
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = string.format("bench-%s-%d-%d-%d", run, thread_no, n,
         math.random(0, 999999999)) }), body)
end
