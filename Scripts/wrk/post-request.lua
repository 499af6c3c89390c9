-- wrk script: POSTs the request body in the file named by $KILN_REQUEST to the URL wrk was given.
-- A JSON body goes as application/json; when $KILN_HEADER_LENGTH is set the body uses the binary
-- tensor data extension and that value is sent as Inference-Header-Content-Length.
-- Used by Scripts/python/load_test.py and rolling_update.py.
local file = assert(io.open(os.getenv("KILN_REQUEST"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
local header_length = os.getenv("KILN_HEADER_LENGTH")
if header_length and header_length ~= "" then
    wrk.headers["Content-Type"] = "application/octet-stream"
    wrk.headers["Inference-Header-Content-Length"] = header_length
else
    wrk.headers["Content-Type"] = "application/json"
end
