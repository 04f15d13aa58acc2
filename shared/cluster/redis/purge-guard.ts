/**
 * The guard of a purge's scripts (membership.ts purgeNode with the record it judged dead):
 * a Lua function, defined at the start of each script, telling whether the dead node's
 * record in the hash `nodes_key` is still the one judged dead (`heartbeat_at`, its
 * heartbeatAt as a string; '' for an unconditional purge). A record written since, by the
 * node alive after all or restarted under the same name, stops the purge before it deletes
 * what that node wrote after its heartbeat; an absent record does not stop it.
 */
export const STILL_DEAD = `
local function still_dead(nodes_key, node, heartbeat_at)
  if heartbeat_at == '' then return true end
  local r = redis.call('HGET', nodes_key, node)
  if not r then return true end
  local ok, v = pcall(cjson.decode, r)
  return ok and type(v) == 'table' and v.heartbeatAt == tonumber(heartbeat_at)
end
`;
