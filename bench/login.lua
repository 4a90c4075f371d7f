-- login.lua - POST /api/v1/sessions: a password checked (Argon2id, 64 MiB,
-- TIAOJIE_HASH_CONCURRENCY at once), a session token made and audited.
dofile("bench/common.lua")

local body = string.format('{"username": "%s", "password": "%s"}',
   os.getenv("BENCH_USERNAME"), os.getenv("BENCH_PASSWORD"))

request = function()
   return wrk.format("POST", "/api/v1/sessions", { ["Content-Type"] = "application/json" }, body)
end
