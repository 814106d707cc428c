-- wrk script: POST one iris row; the (single) thread stops after N responses (env N).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}'
local n = tonumber(os.getenv("N") or "1000")
local seen, bad = 0, 0
function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then bad = bad + 1 end
  if seen >= n then wrk.thread:stop() end
end
function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\":%d,\"errors_status\":%d}\n", summary.requests, summary.errors.status))
end
