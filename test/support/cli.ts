/**
 * starling-ctl as an operator runs it: `node dist/cli/main.js ...` as a child process, with
 * nothing from the developer's shell that would point it elsewhere (no inherited
 * STARLING_API_*); resolves with its exit code and output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './broker.js';

export const CLI_MAIN = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args`; `env` is added to a copy of this process's environment without STARLING_API_*. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliRun> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('STARLING_API_')) base[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`starling-ctl ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Describes a run for assertion messages. */
export function shown(r: CliRun): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** A successful run: exit 0, nothing on stderr; its stdout. */
export function succeeded(r: CliRun): string {
  assert.equal(r.code, 0, shown(r));
  assert.equal(r.stderr, '', shown(r));
  return r.stdout;
}

/** A successful --json run's output, parsed. */
export function jsonOf(r: CliRun): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(succeeded(r));
}
