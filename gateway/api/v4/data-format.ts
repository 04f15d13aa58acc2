import { asAppRecord, type AppRecord } from '../../../shared/api/apps.js';
import { asResourceRecord } from '../../../shared/api/resources.js';
import { resourcesOf, type RuleRecord } from '../../../shared/api/rules.js';
import { CODE } from '../../../shared/result-codes.js';
import { CONFIG_KINDS, configKind, type ConfigKind, type ConfigRecord } from '../../../shared/cluster/config-kinds.js';
import { formatDatetime } from '../../../shared/time-format.js';
import { VERSION } from '../../../shared/version.js';
import { hashSecret } from '../../auth.js';
import type { ApiContext } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { stored } from '../stored.js';
import { checkedConfig } from './resources.js';

/**
 * The data export file (EMQX's emqx_mgmt_data_backup): `version`, `date`, and one array
 * per exported config kind (shared/cluster/config-kinds.ts: every kind unless it says
 * `exported: false`, so a new kind is exported with no change here), under EMQX's name
 * and with EMQX's fields where EMQX has the kind: the banned table is `blacklist`, an app
 * is `{id, name, secret, desc, status, expired}`. Secrets are never stored in clear, so an
 * app carries `secret_hash`; an EMQX file's clear `secret` is hashed on import.
 */

/** How a kind's records are written to and read from a file, where it differs from the store's. */
interface Format<K extends ConfigKind> {
  as?: string;
  out?(r: ConfigRecord<K>): unknown;
  in?(v: unknown): ConfigRecord<K> | undefined;
}

const APPS: Format<'apps'> = {
  out: (a) => ({ id: a.appid, name: a.name, secret_hash: a.secretHash, desc: a.desc, status: a.status, expired: a.expired }),
  in: (v): AppRecord | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    const r = v as Record<string, unknown>;
    const secretHash = typeof r.secret_hash === 'string' ? r.secret_hash : typeof r.secret === 'string' && r.secret !== '' ? hashSecret(r.secret) : undefined;
    return asAppRecord({ appid: r.id, name: r.name, secretHash, desc: r.desc ?? '', status: r.status ?? true, expired: r.expired ?? 'undefined' });
  },
};

const FORMATS: { [K in ConfigKind]?: Format<K> } = { apps: APPS, banned: { as: 'blacklist' } };

const formatOf = <K extends ConfigKind>(kind: K): Format<K> => (FORMATS[kind] ?? {}) as Format<K>;

/** The kinds a file holds, with the name each goes under. */
export const EXPORTED: readonly { kind: ConfigKind; as: string }[] = CONFIG_KINDS.filter((k) => configKind(k).exported !== false).map((kind) => ({ kind, as: formatOf(kind).as ?? kind }));

/** The whole cluster config as an export file's object. */
export async function exportData(ctx: ApiContext, now: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { version: VERSION, date: formatDatetime(now) };
  for (const { kind, as } of EXPORTED) {
    const f = formatOf(kind);
    const records = await stored(kind, () => ctx.store.configList(kind));
    out[as] = f.out ? records.map((r) => f.out!(r as never)) : records;
  }
  return out;
}

/** A file's records, kind by kind, every one checked. */
export type Parsed = { kind: ConfigKind; records: object[] }[];

const bad = (why: string): ApiError => new ApiError(400, CODE.BAD_PARAM, `bad import file: ${why}`);

/**
 * Reads and checks a whole file before anything is written: each record with its kind's
 * validation, each resource's config against its type's schema (by a node), each rule's
 * resources present (in the file or the cluster). Throws the first fault, naming it.
 */
export async function parseImport(ctx: ApiContext, text: string): Promise<Parsed> {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) throw bad('not a JSON object');
  const f = file as Record<string, unknown>;
  if (typeof f.version !== 'string') throw bad('no version');
  const parsed: Parsed = [];
  for (const { kind, as } of EXPORTED) {
    const list = f[as];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw bad(`${as} is not an array`);
    const from = formatOf(kind).in ?? configKind(kind).from;
    const records: object[] = list.map((v, i) => {
      const r = from(v);
      if (r === undefined) throw bad(`${as}[${i}] is not a valid ${kind} record: ${JSON.stringify(v).slice(0, 200)}`);
      return r as object;
    });
    parsed.push({ kind, records });
  }
  const resources = parsed.find((p) => p.kind === 'resources')?.records ?? [];
  for (const [i, r] of resources.entries()) {
    const res = asResourceRecord(r)!;
    try {
      res.config = await checkedConfig(ctx, res.type, res.config);
    } catch (err) {
      throw err instanceof ApiError && err.code === CODE.BAD_PARAM ? bad(`resources[${i}] (${res.id}): ${err.message}`) : err;
    }
    resources[i] = res;
  }
  const known = new Set([...resources.map((r) => (r as { id: string }).id), ...(await stored('resources', () => ctx.store.configList('resources'))).map((r) => r.id)]);
  for (const rule of (parsed.find((p) => p.kind === 'rules')?.records ?? []) as RuleRecord[]) {
    const missing = resourcesOf(rule).filter((id) => !known.has(id));
    if (missing.length > 0) throw bad(`rule ${rule.id} uses resources that are neither in the file nor in the cluster: ${missing.join(', ')}`);
  }
  return parsed;
}

/**
 * Writes checked records (each replacing the one of its key; others stay, as EMQX merges an
 * import). Should the store fail midway, what was written is put back as it was, so an
 * import applies whole or not at all as far as the store lets it.
 */
export async function applyImport(ctx: ApiContext, parsed: Parsed): Promise<void> {
  const before = new Map<ConfigKind, Map<string, object>>();
  for (const { kind } of parsed) {
    const spec = configKind(kind);
    before.set(kind, new Map((await stored(kind, () => ctx.store.configList(kind))).map((r) => [spec.key(r as never), r as object])));
  }
  const written: { kind: ConfigKind; key: string }[] = [];
  try {
    for (const { kind, records } of parsed) {
      for (const r of records) {
        await ctx.store.configPut(kind, r as never, 'upsert');
        written.push({ kind, key: configKind(kind).key(r as never) });
      }
    }
  } catch (err) {
    for (const { kind, key } of written.reverse()) {
      const old = before.get(kind)!.get(key);
      await (old ? ctx.store.configPut(kind, old as never, 'upsert') : ctx.store.configDelete(kind, key)).catch(() => undefined);
    }
    throw new ApiError(200, CODE.RPC_ERROR, `import failed, nothing kept: cluster store unavailable (${(err as Error).message})`);
  }
}
