-- Approve distinct cases: thread k of n takes ids k, k+n, k+2n... of the file ACCORD_IDS.
local counter = 0
function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end

function init(args)
  ids, step = {}, tonumber(os.getenv("ACCORD_THREADS"))
  for line in io.lines(os.getenv("ACCORD_IDS")) do ids[#ids + 1] = line end
  nxt = first + 1
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCORD_TOKEN")
  wrk.headers["User-Agent"] = "accord-bench"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local id = ids[nxt]
  if id == nil then
    wrk.thread:stop()
    id = ids[1]
  end
  nxt = nxt + step
  return wrk.format(nil, "/api/v1/cases/" .. id .. "/transitions", nil, '{"trigger": "approve", "version": 2}')
end
