-- Approve distinct cases. Each department head approves their own department's submitted cases:
-- thread k acts as head k % ACCORD_APPROVERS (token ACCORD_TOKEN_<h>, ids in the file ACCORD_IDS_<h>)
-- and takes that head's ids j, j+s, j+2s... where j = floor(k / heads) and s = floor(threads / heads).
local counter = 0
function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end

function init(args)
  local heads = tonumber(os.getenv("ACCORD_APPROVERS"))
  local threads = tonumber(os.getenv("ACCORD_THREADS"))
  local head = first % heads
  ids, step = {}, math.max(1, math.floor(threads / heads))
  for line in io.lines(os.getenv("ACCORD_IDS_" .. head)) do ids[#ids + 1] = line end
  nxt = math.floor(first / heads) + 1
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCORD_TOKEN_" .. head)
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
