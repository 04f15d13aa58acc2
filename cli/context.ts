/**
 * What every command's action gets: the API client built from the global options, and one
 * way to print (a table for people, or the API's data as JSON with --json), so that no
 * command decides on its own what goes to stdout and stderr.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, type ListResult, type Paging } from './client.js';

export const DEFAULT_URL = 'http://127.0.0.1:8081';
export const DEFAULT_USER = 'admin';
export const DEFAULT_PASS = 'public';
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Rows a list fetches over all its pages unless --max says otherwise. */
export const DEFAULT_MAX_ROWS = 10_000;

export interface GlobalOptions {
  url: string;
  user: string;
  pass: string;
  timeout: number;
  json?: boolean;
}

export interface Ctx {
  readonly api: ApiClient;
  readonly json: boolean;
  /** `data` as JSON with --json, else the text `human()` renders */
  print(data: unknown, human: () => string): void;
  /** a note for people on stderr (never mixed into the output a script parses) */
  note(text: string): void;
}

// --- argument parsers: a bad value is commander's usage error (exit 2)

export function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('must be a positive integer.');
  return Number(v);
}

export function qos(v: string): 0 | 1 | 2 {
  if (v !== '0' && v !== '1' && v !== '2') throw new InvalidArgumentError('must be 0, 1 or 2.');
  return Number(v) as 0 | 1 | 2;
}

export function httpUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:8081.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('must be an http:// or https:// URL.');
  return v;
}

/** The options every command takes (commander recognises them before or after the command). */
export function globalOptions(): Option[] {
  return [
    new Option('--url <url>', "the gateway's management API").env('STARLING_API_URL').default(DEFAULT_URL).argParser(httpUrl),
    new Option('--user <appid>', 'API user (AppID)').env('STARLING_API_USER').default(DEFAULT_USER),
    new Option('--pass <secret>', 'API password (AppSecret)').env('STARLING_API_PASS').default(DEFAULT_PASS),
    new Option('--timeout <ms>', 'timeout of each request').default(DEFAULT_TIMEOUT_MS).argParser(positiveInt),
    new Option('--json', "print the API's data as JSON (for scripts)"),
  ];
}

/** --page, --limit and --max on a list command. */
export function pagingOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--page <n>', 'fetch only this page (from 1)').argParser(positiveInt))
    .addOption(new Option('--limit <n>', 'rows per page').argParser(positiveInt))
    .addOption(new Option('--max <n>', 'without --page: fetch every page, up to this many rows').default(DEFAULT_MAX_ROWS).argParser(positiveInt));
}

export function pagingOf(opts: Record<string, unknown>): Paging {
  return { page: opts.page as number | undefined, limit: opts.limit as number | undefined, max: opts.max as number };
}

export function contextOf(o: GlobalOptions): Ctx {
  return {
    api: new ApiClient({ url: o.url, user: o.user, pass: o.pass, timeoutMs: o.timeout }),
    json: o.json === true,
    print(data, human) {
      process.stdout.write(`${o.json ? JSON.stringify(data, null, 2) : human()}\n`);
    },
    note(text) {
      process.stderr.write(`starling-ctl: ${text}\n`);
    },
  };
}

/** Prints a list, and says on stderr when there is more than was shown. */
export function printList<T>(ctx: Ctx, r: ListResult<T>, paging: Paging, human: (rows: T[]) => string): void {
  ctx.print(r.rows, () => human(r.rows));
  if (!r.more) return;
  const of = r.total === undefined ? '' : ` of ${r.total}`;
  if (paging.page !== undefined) ctx.note(`page ${paging.page}: ${r.rows.length} row(s)${of}; more on page ${paging.page + 1}`);
  else ctx.note(`showing the first ${r.rows.length} row(s)${of} (--max ${paging.max}); use --max, or --page and --limit, for the rest`);
}

/**
 * A commander action with the context: `fn` gets it, the command's own options (the global
 * ones merged in) and its declared arguments, in order.
 */
export function action<A extends string[]>(fn: (ctx: Ctx, opts: Record<string, unknown>, ...args: A) => Promise<void>): (...params: unknown[]) => Promise<void> {
  return async (...params) => {
    const cmd = params[params.length - 1] as Command;
    const args = params.slice(0, cmd.registeredArguments.length) as A;
    const opts = cmd.optsWithGlobals();
    // an empty name would change the path itself (`/clients/` is the client list)
    cmd.registeredArguments.forEach((a, i) => {
      if (args[i] === '') cmd.error(`error: argument '${a.name()}' must not be empty`);
    });
    if (opts.node === '') cmd.error("error: option '--node <node>' must not be empty");
    await fn(contextOf(opts as unknown as GlobalOptions), opts, ...args);
  };
}
