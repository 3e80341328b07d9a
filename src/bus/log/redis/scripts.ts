// Lua scripts of the Redis EventLog. Each runs atomically, so offset bump, write and publish can
// never be seen half done. Every script takes the same five per-tenant keys:
//   KEYS[1] meta (hash: epoch, top)   KEYS[2] stream (XADD id = "<offset>-0")
//   KEYS[3] idempotency key -> offset   KEYS[4] event id -> offset   KEYS[5] set of tenant ids
// ARGV[1] is always the tenant id and ARGV[2] a fresh epoch, used only if the stream is new.

/** A missing meta means a new stream, or one whose meta was lost: then old data cannot be trusted. */
const ENSURE_STREAM = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
  redis.call('SADD', KEYS[5], ARGV[1])
end
`;

/** ARGV: tenant, newEpoch, idempotencyKey, eventId, receivedAtMs, payload, channel. Returns {offset, epoch, duplicate}. */
export const APPEND = `${ENSURE_STREAM}
local existing = redis.call('HGET', KEYS[3], ARGV[3])
if existing then return {tonumber(existing), epoch, 1} end
local offset = redis.call('HINCRBY', KEYS[1], 'top', 1)
redis.call('XADD', KEYS[2], offset .. '-0', 'k', ARGV[3], 'i', ARGV[4], 'r', ARGV[5], 'e', ARGV[6])
redis.call('HSET', KEYS[3], ARGV[3], offset)
redis.call('HSETNX', KEYS[4], ARGV[4], offset)
redis.call('PUBLISH', ARGV[7], offset .. ' ' .. epoch .. ' ' .. string.len(ARGV[1]) .. ' ' .. ARGV[1] .. ARGV[6])
return {offset, epoch, 0}
`;

/** ARGV: tenant, newEpoch, firstId, limit. Returns {epoch, top, firstRetained, entries}. */
export const READ = `${ENSURE_STREAM}
local top = tonumber(redis.call('HGET', KEYS[1], 'top'))
local entries = {}
if tonumber(ARGV[4]) > 0 then entries = redis.call('XRANGE', KEYS[2], ARGV[3], '+', 'COUNT', ARGV[4]) end
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local firstRetained = top + 1
if #first > 0 then firstRetained = tonumber(string.match(first[1][1], '^(%d+)')) end
return {epoch, top, firstRetained, entries}
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
export const TRIM = `
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
  removed = removed + 1
end
return removed
`;
