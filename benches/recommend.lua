-- wrk script: POST the JSON body in $HAMLET_BENCH_BODY to the URL (benches/web.sh sets it).
local f = assert(io.open(os.getenv("HAMLET_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
