-- wrk script for benches/soak.sh: a mix of the routes readers use, with document identifiers
-- drawn at random from the collection's (the file $SOAK_IDS, one per line, which benches/soak.sh
-- writes), so every request has an answer; counting answers by class.
local ids = {}
local function id()
  return ids[math.random(1, #ids)]
end
local paths = {
  function() return "/" end,
  function() return "/similar_to/" .. id() .. "/" end,
  function() return "/api/documents/" .. id() .. "/similar?limit=10" end,
  function() return "/autocomplete/thesis/?q=" .. ({"quic", "tcp", "http", "dns", "mail", "tls"})[math.random(1, 6)] end,
  function() return "/api/search?q=" .. ({"transport", "routing", "security", "ipv6"})[math.random(1, 4)] end,
  function() return "/about/" end,
  function() return "/health/ready" end,
  function() return "/static/style.css" end,
}
-- Globals: wrk's thread:get reads a thread's globals.
counts = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 1000)
  counts = { c2 = 0, c3 = 0, c4 = 0, c5 = 0 }
  for line in io.lines(os.getenv("SOAK_IDS")) do
    table.insert(ids, line)
  end
end

function request()
  return wrk.format("GET", paths[math.random(1, #paths)]())
end

function response(status, headers, body)
  local class = "c" .. math.floor(status / 100)
  counts[class] = (counts[class] or 0) + 1
end

function done(summary, latency, requests)
  local total = { c2 = 0, c3 = 0, c4 = 0, c5 = 0 }
  for _, t in ipairs(threads) do
    for _, k in ipairs({ "c2", "c3", "c4", "c5" }) do
      total[k] = total[k] + (t:get("counts")[k] or 0)
    end
  end
  io.write(string.format("answers: 2xx %d, 3xx %d, 4xx %d, 5xx %d\n", total.c2, total.c3, total.c4, total.c5))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
