-- wrk script for bench/api_load.sh: POST /v1/verify with the operator token from API_TOKEN.
wrk.method = "POST"
wrk.path = "/v1/verify"
wrk.body = '{"site":"hq","door":"d1","card":"04A1B2C3","dir":"in"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_TOKEN")
