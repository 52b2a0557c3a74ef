-- POST /write with a distinct line each request (thread id + counter), as the chapter's curl -d does.
-- thread_id is a global: setup() sets it in each thread's own Lua state.
local counter = 0
thread_id = 0
local next_id = 0

setup = function(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

request = function()
  counter = counter + 1
  local body = string.format('{"data":"bench line t%d-%d"}', thread_id, counter)
  return wrk.format("POST", "/write", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

dofile(os.getenv("BENCH_REPORT_LUA"))
