"""The Lua scripts of the Redis store: each is one atomic step of the pool's interface.

Names: `P` is REDIS_PREFIX. `P:key:<id>` hash per key (fields below), `P:ids` sorted set
of ids by insertion, `P:ring:<model>` list of ids in rotation order, `P:last:<model>` id
served last, `P:ident` hash identity digest → id (duplicates), `P:version` counter
bumped by every admin change, `P:seeded` present once LLM_KEYS has been merged in (its
absence means a flushed or new Redis), holding the epoch of that merge (Redis's TIME).
A process's cached key list is "counter/epoch": the counter starts again after a flush,
the epoch does not, so a process that missed the flush still sees a new version.

Key hash fields: provider model base_url upstream_model api_version rpm quota_group
enabled source generation secret ident seq invalid cooldown_until failure_streak requests
successes failures prompt_tokens completion_tokens last_used last_error, and fk:<kind>
for failures by kind ('' stands for a routing field that is not set).
"""

# Shared by the scripts that take a key out of a ring: the turn passes to the key after
# it, as in the in-process store (pool/rotation.py).
_UNRING = """
local function unring(p, model, id)
  local ring_key = p .. ':ring:' .. model
  local last_key = p .. ':last:' .. model
  local ring = redis.call('LRANGE', ring_key, 0, -1)
  local last = redis.call('GET', last_key)
  if last == id then
    local before = nil
    for i, member in ipairs(ring) do
      if member == id then
        before = ring[((i - 2) % #ring) + 1]
        break
      end
    end
    if before == nil or before == id then
      redis.call('DEL', last_key)
    else
      redis.call('SET', last_key, before)
    end
  end
  redis.call('LREM', ring_key, 0, id)
  if redis.call('LLEN', ring_key) == 0 then
    redis.call('DEL', ring_key, last_key)
  end
end
"""

# KEYS: ring, last, seeded, version. ARGV: prefix, now, excluded ids...
# version is "counter/epoch". Each key of the ring passed over (not excluded) adds a
# skip triple: id, reason ('cooling', 'invalid', 'disabled', 'over_rpm'), until ('' unless
# waiting brings it back). `P:rpm:<id>` is the sorted set of a key with an rpm: its
# attempts of the last 60 s, scored by start time, trimmed here.
# → {1, version, id, provider, model, base_url, generation, secret, upstream_model,
#    api_version, skip triples...}
# | {2, version, skip triples...} | {0, version} no such model
# | {3} not seeded (a flushed Redis).
ACQUIRE = """
local epoch = redis.call('GET', KEYS[3])
if not epoch then return {3} end
local version = (redis.call('GET', KEYS[4]) or '0') .. '/' .. epoch
local ring = redis.call('LRANGE', KEYS[1], 0, -1)
if #ring == 0 then return {0, version} end
local p, now = ARGV[1], tonumber(ARGV[2])
local excluded = {}
for i = 3, #ARGV do excluded[ARGV[i]] = true end
local last = redis.call('GET', KEYS[2])
local start = 1
if last then
  for i, id in ipairs(ring) do
    if id == last then start = (i % #ring) + 1 break end
  end
end
local skips = nil
for step = 0, #ring - 1 do
  local id = ring[((start - 1 + step) % #ring) + 1]
  if not excluded[id] then
    local h = p .. ':key:' .. id
    local f = redis.call('HMGET', h, 'enabled', 'invalid', 'cooldown_until', 'rpm',
                         'quota_group', 'provider')
    local reason, until_ = nil, ''
    local rpm = tonumber(f[4] or '')
    local window = p .. ':rpm:' .. id
    local group_until = 0
    if f[5] and f[5] ~= '' then
      group_until = tonumber(redis.call('GET', p .. ':qg:' .. f[6] .. ':' .. f[5]) or '0')
    end
    if f[1] ~= '1' then
      reason = 'disabled'
    elseif f[2] == '1' then
      reason = 'invalid'
    elseif tonumber(f[3] or '0') > now then
      reason, until_ = 'cooling', f[3]
    elseif group_until > now then
      reason, until_ = 'quota_group', string.format('%.6f', group_until)
    elseif rpm then
      redis.call('ZREMRANGEBYSCORE', window, '-inf', now - 60)
      local n = redis.call('ZCARD', window)
      if n >= rpm then
        local first = redis.call('ZRANGE', window, n - rpm, n - rpm, 'WITHSCORES')
        reason, until_ = 'over_rpm', string.format('%.6f', tonumber(first[2]) + 60)
      end
    end
    if reason == nil then
      redis.call('SET', KEYS[2], id)
      local served = redis.call('HINCRBY', h, 'requests', 1)
      if rpm then
        redis.call('ZADD', window, now, ARGV[2] .. '-' .. served)
        redis.call('EXPIRE', window, 61)
      end
      redis.call('HSET', h, 'last_used', ARGV[2])
      local k = redis.call('HMGET', h, 'provider', 'model', 'base_url', 'generation', 'secret',
                           'upstream_model', 'api_version')
      local reply = {1, version, id, k[1], k[2], k[3], k[4], k[5], k[6] or '', k[7] or ''}
      if skips then
        for _, value in ipairs(skips) do table.insert(reply, value) end
      end
      return reply
    end
    if not skips then skips = {} end
    table.insert(skips, id)
    table.insert(skips, reason)
    table.insert(skips, until_)
  end
end
local reply = {2, version}
if skips then
  for _, value in ipairs(skips) do table.insert(reply, value) end
end
return reply
"""

# KEYS: the key's hash. ARGV: generation, now, clear, invalidate, cool_until, backoff,
# reset_streak, backoff base, backoff max, last_error ('' keeps it), group ('1': a 429
# that cools the key's quota group, `P:qg:<provider>:<quota_group>` holding until when),
# prefix, then counter pairs.
# → {} when the key is gone, else {old invalid, old cooldown_until, new invalid, new cooldown_until}
REPORT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
for i = 13, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'last_error', ARGV[10]) end
local h = redis.call('HMGET', KEYS[1], 'generation', 'invalid', 'cooldown_until', 'failure_streak')
local invalid, until_, streak = h[2] or '0', tonumber(h[3] or '0'), tonumber(h[4] or '0')
local old = {invalid, h[3] or '0'}
if h[1] ~= ARGV[1] then return {old[1], old[2], old[1], old[2]} end
local now = tonumber(ARGV[2])
if ARGV[11] == '1' then
  local g = redis.call('HMGET', KEYS[1], 'provider', 'quota_group')
  if g[2] and g[2] ~= '' then
    local group = ARGV[12] .. ':qg:' .. g[1] .. ':' .. g[2]
    local cool = tonumber(ARGV[5])
    if cool > tonumber(redis.call('GET', group) or '0') then
      redis.call('SET', group, ARGV[5], 'EX', math.max(1, math.ceil(cool - now) + 1))
    end
  end
end
if ARGV[3] == '1' then
  invalid, until_, streak = '0', 0, 0
else
  if ARGV[4] == '1' then invalid = '1' end
  local cool = tonumber(ARGV[5])
  if cool > until_ then until_ = cool end
  if ARGV[6] == '1' then
    streak = streak + 1
    local wait = math.min(tonumber(ARGV[8]) * 2 ^ (streak - 1), tonumber(ARGV[9]))
    if now + wait > until_ then until_ = now + wait end
  end
  if ARGV[7] == '1' then streak = 0 end
end
local until_text = string.format('%.6f', until_)
redis.call('HSET', KEYS[1], 'invalid', invalid, 'cooldown_until', until_text,
           'failure_streak', streak)
return {old[1], old[2], invalid, until_text}
"""

# KEYS: ident, ids, version, seeded. ARGV: prefix, merge ('1': LLM_KEYS at start), then
# per entry 12 values: id, ident, provider, model, base_url, enabled, source, secret,
# upstream_model, api_version, rpm, quota_group.
# Adding (merge '0') is all or nothing: → {-1, index} when entry `index` is a duplicate.
# Merging keeps a key that exists (its state, statistics and enabled flag) and takes the
# environment's secret, base_url and routing fields. → {1, created ids...}
ADD = """
local p, merge = ARGV[1], ARGV[2] == '1'
local n = (#ARGV - 2) / 12
if not merge then
  for i = 0, n - 1 do
    local ident = ARGV[3 + i * 12 + 1]
    if redis.call('HEXISTS', KEYS[1], ident) == 1 then return {-1, i} end
  end
end
local created = {1}
for i = 0, n - 1 do
  local b = 3 + i * 12
  local id, ident, provider, model = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local h = p .. ':key:' .. id
  if merge and redis.call('EXISTS', h) == 1 then
    redis.call('HSET', h, 'secret', ARGV[b + 7], 'base_url', ARGV[b + 4],
               'upstream_model', ARGV[b + 8], 'api_version', ARGV[b + 9], 'rpm', ARGV[b + 10],
               'quota_group', ARGV[b + 11])
  elseif not (merge and redis.call('HEXISTS', KEYS[1], ident) == 1) then
    local seq = redis.call('INCR', p .. ':seq')
    redis.call('HSET', h, 'provider', provider, 'model', model, 'base_url', ARGV[b + 4],
               'enabled', ARGV[b + 5], 'source', ARGV[b + 6], 'secret', ARGV[b + 7],
               'upstream_model', ARGV[b + 8], 'api_version', ARGV[b + 9], 'rpm', ARGV[b + 10],
               'quota_group', ARGV[b + 11],
               'ident', ident, 'seq', seq, 'generation', 0, 'invalid', '0',
               'cooldown_until', '0', 'failure_streak', 0, 'requests', 0, 'successes', 0,
               'failures', 0, 'prompt_tokens', 0, 'completion_tokens', 0)
    redis.call('HSET', KEYS[1], ident, id)
    redis.call('ZADD', KEYS[2], seq, id)
    redis.call('RPUSH', p .. ':ring:' .. model, id)
    table.insert(created, id)
  end
end
if merge and redis.call('EXISTS', KEYS[4]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[4], t[1] .. '.' .. t[2])
end
redis.call('INCR', KEYS[3])
return created
"""

# KEYS: ident, version. ARGV: prefix, id, then name/value pairs of the fields to set
# (model, base_url, upstream_model, api_version, rpm, quota_group, enabled, secret, ident,
# source), then '--', edited ('1' bumps the
# generation and clears health), clear ('1' clears health).
# → 1 | 0 no such key | -1 duplicate identity
UPDATE = _UNRING + """
local p, id = ARGV[1], ARGV[2]
local h = p .. ':key:' .. id
if redis.call('EXISTS', h) == 0 then return 0 end
local fields, i = {}, 3
while ARGV[i] ~= '--' do fields[ARGV[i]] = ARGV[i + 1]; i = i + 2 end
local edited, clear = ARGV[i + 1] == '1', ARGV[i + 2] == '1'
local old_ident = redis.call('HGET', h, 'ident')
if fields.ident and fields.ident ~= old_ident then
  local holder = redis.call('HGET', KEYS[1], fields.ident)
  if holder and holder ~= id then return -1 end
  redis.call('HDEL', KEYS[1], old_ident)
  redis.call('HSET', KEYS[1], fields.ident, id)
end
local old_model = redis.call('HGET', h, 'model')
if fields.model and fields.model ~= old_model then
  unring(p, old_model, id)
  redis.call('RPUSH', p .. ':ring:' .. fields.model, id)
end
for name, value in pairs(fields) do redis.call('HSET', h, name, value) end
if edited then redis.call('HINCRBY', h, 'generation', 1) end
if edited or clear then
  redis.call('HSET', h, 'invalid', '0', 'cooldown_until', '0', 'failure_streak', 0)
end
redis.call('INCR', KEYS[2])
return 1
"""

# KEYS: ident, ids, version. ARGV: prefix, ids... → how many were deleted
DELETE = _UNRING + """
local p, deleted = ARGV[1], 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local h = p .. ':key:' .. id
  local f = redis.call('HMGET', h, 'model', 'ident')
  if f[1] then
    unring(p, f[1], id)
    if f[2] then redis.call('HDEL', KEYS[1], f[2]) end
    redis.call('ZREM', KEYS[2], id)
    redis.call('DEL', h, p .. ':rpm:' .. id)
    deleted = deleted + 1
  end
end
if deleted > 0 then redis.call('INCR', KEYS[3]) end
return deleted
"""

# KEYS: the key's hash, version. → {} when gone, else {old invalid, old cooldown_until}
RESET = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local old = redis.call('HMGET', KEYS[1], 'invalid', 'cooldown_until')
redis.call('HSET', KEYS[1], 'invalid', '0', 'cooldown_until', '0', 'failure_streak', 0)
redis.call('INCR', KEYS[2])
return {old[1] or '0', old[2] or '0'}
"""
