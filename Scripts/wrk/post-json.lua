-- wrk script: POSTs the JSON request in the file named by $KILN_REQUEST to the URL wrk was given.
-- Used by Scripts/python/load_test.py and rolling_update.py.
local file = assert(io.open(os.getenv("KILN_REQUEST"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
