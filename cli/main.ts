#!/usr/bin/env node
/**
 * starling-ctl: the operator's command line over a gateway's management API, modelled on
 * emqx_ctl. main.ts assembles the commands (one module per group under commands/) and turns
 * every failure into one line on stderr and its exit code (errors.ts).
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../shared/version.js';
import { globalOptions } from './context.js';
import { CliError, EXIT, EXIT_HELP } from './errors.js';
import { bannedCommands } from './commands/banned.js';
import { clientCommands } from './commands/clients.js';
import { statusCommands } from './commands/cluster.js';
import { moduleCommands, pluginCommands } from './commands/features.js';
import { observeCommands } from './commands/observe.js';
import { routeCommands } from './commands/routes.js';
import { subscriptionCommands } from './commands/subscriptions.js';

/** Exit code of a failure that is a bug in starling-ctl itself (sysexits' EX_SOFTWARE). */
const EXIT_BUG = 70;

const FOOTER = `
Environment:
  STARLING_API_URL    the gateway (default http://127.0.0.1:8081); --url wins
  STARLING_API_USER   API user, AppID (default admin); --user wins
  STARLING_API_PASS   API password, AppSecret (default public); --pass wins

Exit codes:
${EXIT_HELP.map(([code, what]) => `  ${code}  ${what}`).join('\n')}

Every command takes --help. Lists fetch every page up to --max rows, or one with --page.
\`rules\` (list, show, create, delete) comes with the rule engine.

Examples:
  starling-ctl cluster
  starling-ctl clients kick sensor-1          # wherever it is connected
  starling-ctl --url http://lb:8081 banned add --as clientid --who sensor-1 --until 2h --reason flooding
  starling-ctl clients list --json | jq -r '.[].clientid'`;

function program(): Command {
  const p = new Command('starling-ctl')
    .description('Operate a Starling cluster through its management API (as emqx_ctl does EMQX).')
    .version(VERSION)
    // settings first: subcommands copy them when created
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`starling-ctl: ${text}`) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', FOOTER);
  for (const o of globalOptions()) p.addOption(o);
  statusCommands(p);
  clientCommands(p);
  subscriptionCommands(p);
  routeCommands(p);
  bannedCommands(p);
  pluginCommands(p);
  moduleCommands(p);
  observeCommands(p);
  return p;
}

async function main(): Promise<number> {
  try {
    await program().parseAsync(process.argv);
    return EXIT.OK;
  } catch (err) {
    // commander has printed its message (and the hint) already; --help and --version exit 0
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof CliError) {
      process.stderr.write(`starling-ctl: error: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`starling-ctl: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT_BUG;
  }
}

// exitCode, not exit(): stdout is flushed first even when it is a pipe
// `starling-ctl clients list | head`: a reader that stops early is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await main();
