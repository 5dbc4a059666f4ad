-- A Kong-style gateway for `make bench` (nginx + ngx_lua, as OpenResty runs it): an API key
-- from "Authorization: Bearer", looked up in Redis on a miss and cached in a shared dict
-- (Kong's key-auth with its cache), then a fixed-window limit counted in Redis with INCR and
-- EXPIRE on every request (Kong's rate-limiting plugin with policy "redis"). The request goes
-- upstream with the consumer named in a header. Debian packages no Lua Redis client, so the
-- few RESP exchanges needed are written out here.
local redis_port = tonumber(os.getenv("BENCH_REDIS_PORT") or ngx.var.bench_redis_port)
local limit = 100000000
local window = 3600

local function redis_connect()
  local sock = ngx.socket.tcp()
  sock:settimeouts(1000, 1000, 1000)
  local ok, err = sock:connect("127.0.0.1", redis_port)
  if not ok then return nil, err end
  return sock
end

local function command(...)
  local args = {...}
  local out = {"*", #args, "\r\n"}
  for _, a in ipairs(args) do
    a = tostring(a)
    out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
  end
  return table.concat(out)
end

-- Reads one RESP reply: integers and bulk strings are all this needs.
local function read_reply(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  local kind = line:sub(1, 1)
  if kind == ":" then return tonumber(line:sub(2)) end
  if kind == "$" then
    local n = tonumber(line:sub(2))
    if n < 0 then return ngx.null end
    local data = sock:receive(n + 2)
    return data and data:sub(1, n)
  end
  if kind == "+" then return line:sub(2) end
  return nil, line
end

local function deny(status, message)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say('{"message":"' .. message .. '"}')
  return ngx.exit(status)
end

local header = ngx.var.http_authorization
local key = header and header:match("^Bearer%s+(%S+)$")
if not key then return deny(401, "No API key found in request") end

local sock, err = redis_connect()
if not sock then return deny(500, "redis: " .. tostring(err)) end

local cache = ngx.shared.keys
local consumer = cache:get(key)
if not consumer then
  sock:send(command("GET", "peer:key:" .. key))
  consumer = read_reply(sock)
  if not consumer or consumer == ngx.null then
    sock:setkeepalive(10000, 256)
    return deny(401, "Invalid authentication credentials")
  end
  cache:set(key, consumer, 30)
end

local counter = "peer:rl:" .. key .. ":" .. math.floor(ngx.time() / window)
sock:send(command("INCR", counter) .. command("EXPIRE", counter, window))
local used = read_reply(sock)
read_reply(sock)
sock:setkeepalive(10000, 256)
if not used then return deny(500, "redis failed") end
if used > limit then
  ngx.header["Retry-After"] = window - ngx.time() % window
  return deny(429, "API rate limit exceeded")
end
ngx.header["X-RateLimit-Remaining-Hour"] = limit - used
ngx.req.set_header("X-Consumer-Username", consumer)
ngx.req.clear_header("Authorization")
