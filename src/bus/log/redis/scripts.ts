// Lua scripts of the Redis EventLog. Each runs atomically, so offset bump, write and publish can
// never be seen half done. Every script takes the same six keys of one tenant, all named with the
// tenant's hash tag so they share one Redis Cluster slot (a script may only touch one slot; the
// set of tenant ids, shared by all, is kept outside the scripts):
//   KEYS[1] meta (hash: epoch, top, ax)   KEYS[2] stream (XADD id = "<offset>-0")
//   KEYS[3] idempotency key -> offset   KEYS[4] event id -> offset
//   KEYS[5] agent index: a sorted set read by lex range, one member per (PBX, extension, offset)
//   KEYS[6] open legs: hash, leg field (support.ts openLegField) -> offset of the event that opened it
// ARGV[1] is always the tenant id and ARGV[2] a fresh epoch, used only if the stream is new.
// Meta field ax marks a stream whose agent index covers every event (new streams, or filled by BACKFILL_AGENTS).

/** A missing meta means a new stream, or one whose meta was lost: then old data cannot be trusted. */
const ENSURE_STREAM = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0, 'ax', 1)
end
`;

/**
 * An agent's index members: PBX and extension, byte lengths first (so no agent's prefix starts
 * another's), then the offset in 16 digits so lex order is offset order.
 */
const AGENT_MEMBER = `
local function agentPrefix(pbx, ext) return string.len(pbx) .. ':' .. pbx .. string.len(ext) .. ':' .. ext .. ':' end
local function agentMember(pbx, ext, offset) return agentPrefix(pbx, ext) .. string.format('%016d', offset) end
local function indexEvent(json, offset, add)
  local event = cjson.decode(json)
  for _, ext in ipairs(event.agents) do
    if add then redis.call('ZADD', KEYS[5], 0, agentMember(event.pbxId, ext, offset))
    else redis.call('ZREM', KEYS[5], agentMember(event.pbxId, ext, offset)) end
  end
end
`;

/** The firstRetained of READ and READ_AGENT: the stream's oldest offset, or top + 1 when it is empty. */
const FIRST_RETAINED = `
local top = tonumber(redis.call('HGET', KEYS[1], 'top'))
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local firstRetained = top + 1
if #first > 0 then firstRetained = tonumber(string.match(first[1][1], '^(%d+)')) end
`;

/**
 * ARGV: tenant, newEpoch, idempotencyKey, eventId, receivedAtMs, payload, channel, pbxId, then three
 * counted lists (a count, then its items): the event's distinct agent extensions, the open legs it
 * closes, the legs it opens (support.ts openLegChanges). Returns {offset, epoch, duplicate}. The
 * channel is the tenant's shard channel (same hash tag, same slot): only nodes serving the tenant's
 * agents subscribe to it.
 */
export const APPEND = `${ENSURE_STREAM}${AGENT_MEMBER}
local existing = redis.call('HGET', KEYS[3], ARGV[3])
if existing then return {tonumber(existing), epoch, 1} end
local offset = redis.call('HINCRBY', KEYS[1], 'top', 1)
redis.call('XADD', KEYS[2], offset .. '-0', 'k', ARGV[3], 'i', ARGV[4], 'r', ARGV[5], 'e', ARGV[6])
local at = 9
local function list(each)
  local n = tonumber(ARGV[at])
  for i = at + 1, at + n do each(ARGV[i]) end
  at = at + n + 1
end
list(function(ext) redis.call('ZADD', KEYS[5], 0, agentMember(ARGV[8], ext, offset)) end)
list(function(leg) redis.call('HDEL', KEYS[6], leg) end)
list(function(leg) redis.call('HSET', KEYS[6], leg, offset) end)
redis.call('HSET', KEYS[3], ARGV[3], offset)
redis.call('HSETNX', KEYS[4], ARGV[4], offset)
redis.call('SPUBLISH', ARGV[7], offset .. ' ' .. epoch .. ' ' .. ARGV[6])
return {offset, epoch, 0}
`;

/** ARGV: tenant, newEpoch, firstId, limit. Returns {epoch, top, firstRetained, entries}. */
export const READ = `${ENSURE_STREAM}${FIRST_RETAINED}
local entries = {}
if tonumber(ARGV[4]) > 0 then entries = redis.call('XRANGE', KEYS[2], ARGV[3], '+', 'COUNT', ARGV[4]) end
return {epoch, top, firstRetained, entries}
`;

/** ARGV: tenant, newEpoch, pbxId, extension, since, limit. Returns what READ returns, the agent's entries only. */
export const READ_AGENT = `${ENSURE_STREAM}${AGENT_MEMBER}${FIRST_RETAINED}
local entries = {}
if tonumber(ARGV[6]) > 0 then
  local from = math.max(tonumber(ARGV[5]) + 1, firstRetained)
  local members = redis.call('ZRANGEBYLEX', KEYS[5], '[' .. agentMember(ARGV[3], ARGV[4], from), '[' .. agentPrefix(ARGV[3], ARGV[4]) .. '~', 'LIMIT', 0, ARGV[6])
  for _, member in ipairs(members) do
    local id = tonumber(string.sub(member, -16)) .. '-0'
    local found = redis.call('XRANGE', KEYS[2], id, id)
    if found[1] then entries[#entries + 1] = found[1] end
  end
end
return {epoch, top, firstRetained, entries}
`;

/**
 * ARGV: tenant, from (offset, inclusive), batch. Indexes up to \`batch\` events of a stream written
 * before the agent index existed; returns the offset to go on from, or 0 when done (then ax is set).
 */
export const BACKFILL_AGENTS = `${AGENT_MEMBER}
local entries = redis.call('XRANGE', KEYS[2], ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])
for _, entry in ipairs(entries) do
  for j = 1, #entry[2], 2 do
    if entry[2][j] == 'e' then indexEvent(entry[2][j + 1], string.match(entry[1], '^(%d+)'), true) end
  end
end
if #entries < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'ax', 1)
  return 0
end
return tonumber(string.match(entries[#entries][1], '^(%d+)')) + 1
`;

/** ARGV: tenant, eventId. Returns the stream entry or nil. */
export const FIND = `
local offset = redis.call('HGET', KEYS[4], ARGV[2])
if not offset then return nil end
local found = redis.call('XRANGE', KEYS[2], offset .. '-0', offset .. '-0')
return found[1]
`;

/**
 * ARGV: tenant, cutoffMs, batch. Removes up to \`batch\` entries from the head of the stream that were
 * received before the cutoff, stopping at the first newer one so what stays is contiguous.
 */
export const TRIM = `${AGENT_MEMBER}
local entries = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', ARGV[3])
local removed = 0
for _, entry in ipairs(entries) do
  local f = {}
  for j = 1, #entry[2], 2 do f[entry[2][j]] = entry[2][j + 1] end
  if tonumber(f['r']) >= tonumber(ARGV[2]) then break end
  local offset = string.match(entry[1], '^(%d+)')
  redis.call('XDEL', KEYS[2], entry[1])
  redis.call('HDEL', KEYS[3], f['k'])
  if redis.call('HGET', KEYS[4], f['i']) == offset then redis.call('HDEL', KEYS[4], f['i']) end
  indexEvent(f['e'], offset, false)
  removed = removed + 1
end
-- Legs whose opening event is gone are no longer in progress.
if removed > 0 then
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  local keepFrom = math.huge
  if #first > 0 then keepFrom = tonumber(string.match(first[1][1], '^(%d+)')) end
  local open = redis.call('HGETALL', KEYS[6])
  for i = 1, #open, 2 do
    if tonumber(open[i + 1]) < keepFrom then redis.call('HDEL', KEYS[6], open[i]) end
  end
end
return removed
`;

/** ARGV: tenant, leg field prefix of one PBX. Returns {field, stream entry} pairs of its open legs. */
export const OPEN_LEGS = `
local out = {}
local prefix = ARGV[2]
local open = redis.call('HGETALL', KEYS[6])
for i = 1, #open, 2 do
  if string.sub(open[i], 1, #prefix) == prefix then
    local found = redis.call('XRANGE', KEYS[2], open[i + 1] .. '-0', open[i + 1] .. '-0')
    if found[1] then out[#out + 1] = {open[i], found[1]} end
  end
end
return out
`;

/** ARGV: tenant, then (leg field, offset) pairs. Drops each leg the event at that offset still holds open. */
export const DROP_OPEN_LEGS = `
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[6], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[6], ARGV[i]) end
end
return 0
`;
