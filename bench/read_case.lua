-- read_case.lua - GET /api/v1/cases/{id} as a mediator: the case decrypted,
-- the read audited. Ids from BENCH_IDS, a file of one id a line (cases of
-- the mediator's committee).
dofile("bench/common.lua")

local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end

request = function()
   return wrk.format("GET", "/api/v1/cases/" .. ids[math.random(#ids)], auth_headers())
end
