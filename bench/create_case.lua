-- create_case.lua - POST /api/v1/cases as a mediator, into committee
-- BENCH_COMMITTEE (of county BENCH_COUNTY): two parties with names, phones,
-- ID numbers and addresses, all sealed; a number taken; duplicates looked up.
dofile("bench/common.lua")

local committee = os.getenv("BENCH_COMMITTEE")
local county = os.getenv("BENCH_COUNTY")
local types = { "divorce", "property_division", "custody", "child_support", "in_law_conflict" }

request = function()
   local body = string.format(
      '{"committee_id": %s, "source": "walk_in", "dispute_type": "%s",' ..
      ' "summary": "双方因离婚后子女抚养和共同财产分割发生纠纷，申请人请求调解。",' ..
      ' "parties": [{"role": "applicant", "name": "%s", "phone": "%s", "id_number": "%s",' ..
      ' "address": "城中区人民路12号3栋2单元", "gender": "female", "birth_year": 1985},' ..
      ' {"role": "respondent", "name": "%s", "phone": "%s", "id_number": "%s",' ..
      ' "address": "城中区人民路12号3栋2单元", "gender": "male", "birth_year": 1983,' ..
      ' "relationship": "配偶"}]}',
      committee, types[math.random(#types)], person_name(), phone(), id_number(county),
      person_name(), phone(), id_number(county))
   return wrk.format("POST", "/api/v1/cases",
      auth_headers({ ["Content-Type"] = "application/json" }), body)
end
