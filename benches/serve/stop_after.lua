-- wrk script: POST one iris row; after N responses (env N) it prints them and exits the
-- process (wrk itself would wait out -d). Use one thread (-t1).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}'
local n = tonumber(os.getenv("N") or "1000")
local seen, bad = 0, 0
function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then bad = bad + 1 end
  if seen >= n then
    io.write(string.format("JSON {\"requests\":%d,\"errors_status\":%d}\n", seen, bad))
    io.flush()
    os.exit(0)
  end
end
