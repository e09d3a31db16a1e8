-- wrk script for benches/web.sh: the similar_to page of a random document each time, from the
-- identifiers listed (one per line) in $HAMLET_BENCH_IDS, so most requests miss the page cache.
local ids = {}
for line in io.lines(os.getenv("HAMLET_BENCH_IDS")) do
  table.insert(ids, line)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 1000)
end

function request()
  return wrk.format("GET", "/similar_to/" .. ids[math.random(1, #ids)] .. "/")
end
