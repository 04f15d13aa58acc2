/**
 * The export files of EMQX's /api/v4/data/export and /data/file: kept in the cluster store
 * (config kind 'data_files'), not on a gateway's disk, so every gateway lists and serves the
 * same files. Bounded: a file at most DATA_FILE_MAX_BYTES (the API's body limit), at most
 * DATA_FILES_MAX of them.
 */

export const DATA_FILE_MAX_BYTES = 1024 * 1024;
export const DATA_FILES_MAX = 64;

export interface DataFileRecord {
  filename: string;
  /** epoch ms */
  created_at: number;
  /** the file's text (an export: JSON) */
  content: string;
}

/**
 * A file name refused unless made of letters, digits, `.`, `_`, `-` (no `/`, `\`, NUL, no
 * `..`, not starting with a dot), at most 128 characters: whatever a caller sends can never
 * name anything but an entry of this table, now or if files ever move to a disk.
 */
export function validDataFilename(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(name) && !name.includes('..');
}

/** The DataFileRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asDataFileRecord(v: unknown): DataFileRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.filename !== 'string' || !validDataFilename(r.filename) || typeof r.content !== 'string') return undefined;
  if (typeof r.created_at !== 'number' || !Number.isFinite(r.created_at)) return undefined;
  return { filename: r.filename, created_at: r.created_at, content: r.content };
}
