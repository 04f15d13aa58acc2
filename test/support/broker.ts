import { fileURLToPath } from 'node:url';
import { spawnProcess, type ManagedProcess } from './processes.js';

/** Repository root: this file runs as <root>/dist/test/support/broker.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NODE_MAIN = fileURLToPath(new URL('../../../dist/node/main.js', import.meta.url));

export type LogEntry = Record<string, unknown>;

export interface NodeStarted {
  nodeName: string;
  /** protocol name ("mqtt:tcp", "mqtt:ws", "mqtt:ssl", ...) -> bound port */
  listeners: Record<string, number>;
}

export interface NodeProcess {
  readonly nodeName: string;
  readonly mqttPort: number;
  readonly wsPort: number;
  readonly mqttsPort?: number;
  readonly listeners: Record<string, number>;
  readonly proc: ManagedProcess;
  /** Raw output lines so far (stdout + stderr). */
  logs(): string[];
  /** Output lines that parsed as JSON log entries. */
  logEntries(): LogEntry[];
  /** First log entry (already seen or future) matching pred. */
  waitForLog(pred: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** SIGTERM (graceful shutdown), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** Crash it: SIGKILL, no shutdown logic runs. */
  kill9(): Promise<void>;
}

export interface StartNodeOptions {
  /** Extra environment, over the test defaults; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Process label in error messages. */
  name?: string;
  /** Node arguments replacing [dist/node/main.js] (tests of this harness use a fake). */
  args?: string[];
  /** How long to wait for "node started" (default 20 s). */
  timeoutMs?: number;
}

/** Parse one output line as a JSON log entry, or undefined. */
export function parseLogLine(line: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** The "node started" log line's node name and listener ports, or undefined for any other line. */
export function parseNodeStarted(line: string): NodeStarted | undefined {
  const e = parseLogLine(line);
  if (!e || e.msg !== 'node started') return undefined;
  const raw = e.listeners;
  if (!raw || typeof raw !== 'object') return undefined;
  const listeners: Record<string, number> = {};
  for (const [proto, port] of Object.entries(raw)) {
    if (typeof port === 'number' && Number.isInteger(port) && port > 0) listeners[proto] = port;
  }
  return { nodeName: typeof e.node === 'string' ? e.node : '', listeners };
}

// Inherited settings from the developer's shell must not leak into a test node.
const HERMETIC = /^(STARLING_|NATS_URL$|REDIS_URL$)/;

/** Start `node dist/node/main.js` as operators do, on free 127.0.0.1 ports; resolves once it logs "node started". */
export async function startNode(opts: StartNodeOptions = {}): Promise<NodeProcess> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (HERMETIC.test(k)) env[k] = undefined;
  Object.assign(
    env,
    { STARLING_BIND: '127.0.0.1', STARLING_MQTT_PORT: '0', STARLING_WS_PORT: '0',
      STARLING_API_PORT: '0', STARLING_LOG_LEVEL: 'info' },
    opts.env,
  );

  let started: NodeStarted | undefined;
  const proc = await spawnProcess({
    name: opts.name ?? opts.env?.STARLING_NODE_NAME ?? 'node',
    cmd: process.execPath,
    args: opts.args ?? [NODE_MAIN],
    env,
    cwd: REPO_ROOT,
    readyLine: (line) => (started = parseNodeStarted(line)) !== undefined,
    timeoutMs: opts.timeoutMs ?? 20_000,
  });
  const ready = started!;

  const port = (proto: string): number => {
    const p = ready.listeners[proto];
    if (p === undefined) {
      throw new Error(`node ${ready.nodeName} reported no ${proto} listener: ${JSON.stringify(ready.listeners)}`);
    }
    return p;
  };
  const entries = () => proc.lines.map(parseLogLine).filter((e): e is LogEntry => e !== undefined);

  return {
    nodeName: ready.nodeName || (env.STARLING_NODE_NAME ?? 'starling@127.0.0.1'),
    listeners: ready.listeners,
    get mqttPort() {
      return port('mqtt:tcp');
    },
    get wsPort() {
      return port('mqtt:ws');
    },
    mqttsPort: ready.listeners['mqtt:ssl'],
    proc,
    logs: () => [...proc.lines],
    logEntries: entries,
    async waitForLog(pred, timeoutMs = 10_000) {
      const line = await proc.waitForLine((l) => {
        const e = parseLogLine(l);
        return e !== undefined && pred(e);
      }, timeoutMs);
      return parseLogLine(line)!;
    },
    stop: (graceMs = 10_000) => proc.kill('SIGTERM', graceMs),
    kill9: () => proc.kill('SIGKILL'),
  };
}
