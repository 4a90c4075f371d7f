-- get.lua - GET BENCH_PATH with the bearer token (coverage, dashboards, lists).
dofile("bench/common.lua")

local path = os.getenv("BENCH_PATH")

request = function()
   return wrk.format("GET", path, auth_headers())
end
