import { DATA_FILE_MAX_BYTES, DATA_FILES_MAX, validDataFilename, type DataFileRecord } from '../../../shared/api/data-files.js';
import { CODE } from '../../../shared/result-codes.js';
import type { ApiContext, ApiReply, Resource } from '../endpoint.js';
import { ApiError, badParam, notFound } from '../errors.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';
import { applyImport, exportData, parseImport } from './data-format.js';

/**
 * GET/POST /data/export, POST /data/import, GET/POST/DELETE /data/file[/{filename}], EMQX's
 * emqx_mgmt_api_data. Export files live in the cluster store (config kind 'data_files'),
 * so every gateway lists and serves the same ones; names are checked (letters, digits,
 * `.`, `_`, `-`: no path, no `..`), sizes and counts bounded. An import checks the whole
 * file before writing anything (data-format.ts): a bad file changes nothing.
 */

/** EMQX's times in export names and listings: unpadded, "2020-5-18 17:17:44". */
function emqxTime(ms: number): { name: string; shown: string } {
  const d = new Date(ms);
  const [y, mo, da, h, mi, s] = [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return { name: `${y}-${mo}-${da}-${h}-${mi}-${s}`, shown: `${y}-${mo}-${da} ${h}:${mi}:${s}` };
}

const info = (f: DataFileRecord) => ({ filename: f.filename, size: Buffer.byteLength(f.content), created_at: emqxTime(f.created_at).shown });

function filename(name: unknown): string {
  if (typeof name !== 'string' || !validDataFilename(name)) throw badParam('filename', `${JSON.stringify(name)} is not a file name (letters, digits, ".", "_", "-"; no path)`);
  return name;
}

const files = (ctx: ApiContext): Promise<DataFileRecord[]> => stored('data files', () => ctx.store.configList('data_files'));

async function file(ctx: ApiContext, name: string): Promise<DataFileRecord> {
  const f = (await files(ctx)).find((x) => x.filename === name);
  if (!f) throw notFound(`data file ${name}`);
  return f;
}

/** Stores a file within the bounds: 'create' refuses an existing name. */
async function keep(ctx: ApiContext, f: DataFileRecord, mode: 'create' | 'upsert'): Promise<boolean> {
  if (Buffer.byteLength(f.content) > DATA_FILE_MAX_BYTES) throw new ApiError(400, CODE.BAD_PARAM, `bad parameter file: larger than ${DATA_FILE_MAX_BYTES} bytes`);
  const all = await files(ctx);
  if (all.length >= DATA_FILES_MAX && !all.some((x) => x.filename === f.filename)) throw new ApiError(200, CODE.UNKNOWN, `at most ${DATA_FILES_MAX} data files are kept: delete some first`);
  return stored('data files', () => ctx.store.configPut('data_files', f, mode));
}

const importBody = bodySchema<{ filename: string }>({ type: 'object', required: ['filename'], properties: { filename: { type: 'string' } } });
const uploadBody = bodySchema<{ filename: string; file: string }>({
  type: 'object',
  required: ['filename', 'file'],
  properties: { filename: { type: 'string' }, file: { type: 'string' } },
});

export const data: Resource = [
  {
    method: 'GET',
    path: '/data/export',
    name: 'list_exported',
    descr: 'List exported files',
    handle: async (ctx) => ({ data: (await files(ctx)).map(info) }),
  },
  {
    method: 'POST',
    path: '/data/export',
    name: 'export',
    descr: 'Export data',
    handle: async (ctx) => {
      const now = Date.now();
      const content = JSON.stringify(await exportData(ctx, now));
      const base = `emqx-export-${emqxTime(now).name}`;
      // two exports within a second get distinct names
      for (let n = 0; n < 100; n++) {
        const f: DataFileRecord = { filename: n === 0 ? `${base}.json` : `${base}-${n}.json`, created_at: now, content };
        if (await keep(ctx, f, 'create')) return { data: info(f) };
      }
      throw new ApiError(200, CODE.UNKNOWN, 'could not name the export file');
    },
  },
  {
    method: 'POST',
    path: '/data/import',
    name: 'import',
    descr: 'Import data',
    handle: async (ctx) => {
      const f = await file(ctx, filename(importBody(ctx.body).filename));
      await applyImport(ctx, await parseImport(ctx, f.content));
      return {};
    },
  },
  {
    method: 'GET',
    path: '/data/file/:filename',
    name: 'download',
    descr: 'Download data file',
    handle: async (ctx) => {
      const f = await file(ctx, filename(ctx.params.filename));
      // the spec's shape: filename and file beside code, not under data
      return { filename: f.filename, file: f.content } as ApiReply;
    },
  },
  {
    method: 'POST',
    path: '/data/file',
    name: 'upload',
    descr: 'Upload data file',
    handle: async (ctx) => {
      const b = uploadBody(ctx.body);
      const name = filename(b.filename);
      try {
        JSON.parse(b.file);
      } catch {
        throw badParam('file', 'is not JSON');
      }
      await keep(ctx, { filename: name, created_at: Date.now(), content: b.file }, 'upsert');
      return {};
    },
  },
  {
    method: 'DELETE',
    path: '/data/file/:filename',
    name: 'delete',
    descr: 'Delete data file',
    handle: async (ctx) => {
      const name = filename(ctx.params.filename);
      if (!(await stored('data files', () => ctx.store.configDelete('data_files', name)))) throw notFound(`data file ${name}`);
      return {};
    },
  },
];
