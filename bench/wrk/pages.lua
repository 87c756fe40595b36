-- GET ACCORD_PATH with the bearer token and the session cookie; "{id}" cycles through ACCORD_IDS.
-- With ACCORD_LIMIT, each thread stops after its share of that many requests.
function init(args)
  ids, path = {}, os.getenv("ACCORD_PATH")
  for line in io.lines(os.getenv("ACCORD_IDS")) do ids[#ids + 1] = line end
  paths = {}
  for p in string.gmatch(path, "[^,]+") do paths[#paths + 1] = p end
  n, sent = 0, 0
  limit = tonumber(os.getenv("ACCORD_LIMIT") or "0") / tonumber(os.getenv("ACCORD_THREADS"))
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCORD_TOKEN")
  wrk.headers["User-Agent"] = "accord-bench"
  wrk.headers["Cookie"] = os.getenv("ACCORD_COOKIE")
end

function request()
  n = n + 1
  local p = paths[(n - 1) % #paths + 1]
  return wrk.format("GET", (string.gsub(p, "{id}", ids[(n * 7919) % #ids + 1])))
end

function response(status, headers, body)
  sent = sent + 1
  if limit > 0 and sent >= limit then wrk.thread:stop() end
end
