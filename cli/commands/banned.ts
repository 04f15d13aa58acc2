/** `banned list|add|del`: the cluster's banned table (clients refused at CONNECT on every node). */
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { BANNED_AS, type BannedEntry } from '../../shared/api/banned.js';
import { action, pagingOf, pagingOptions, printList } from '../context.js';
import { epochSeconds, table } from '../format.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * `--until`: epoch seconds (as the API takes it), a duration from now (`90s`, `10m`, `2h`,
 * `7d`) or a date (`2027-01-31`, `2027-01-31T18:00:00Z`); as epoch seconds, in the future.
 */
export function untilSeconds(v: string, nowMs = Date.now()): number {
  let sec: number;
  const duration = /^(\d+)([smhd])$/.exec(v);
  if (/^\d+$/.test(v)) sec = Number(v);
  else if (duration) sec = Math.floor(nowMs / 1000) + Number(duration[1]) * UNIT_SECONDS[duration[2]!]!;
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v))) sec = Math.floor(Date.parse(v) / 1000);
  else throw new InvalidArgumentError('must be epoch seconds, a duration (90s, 10m, 2h, 7d) or a date (2027-01-31, 2027-01-31T18:00:00Z).');
  if (!Number.isSafeInteger(sec)) throw new InvalidArgumentError('is out of range.');
  if (sec * 1000 <= nowMs) throw new InvalidArgumentError('is in the past.');
  return sec;
}

const COLUMNS = [
  { header: 'AS', value: (e: BannedEntry) => e.as },
  { header: 'WHO', value: (e: BannedEntry) => e.who },
  { header: 'REASON', value: (e: BannedEntry) => e.reason },
  { header: 'BY', value: (e: BannedEntry) => e.by },
  { header: 'AT', value: (e: BannedEntry) => epochSeconds(e.at) },
  { header: 'UNTIL', value: (e: BannedEntry) => epochSeconds(e.until) },
];

export function bannedCommands(program: Command): void {
  const banned = program.command('banned').description('clients refused at CONNECT, by clientid, username or peerhost');

  pagingOptions(banned.command('list').description('list the bans in force')).action(
    action(async (ctx, opts) => {
      const paging = pagingOf(opts);
      const r = await ctx.api.list<BannedEntry>('/banned', {}, paging);
      printList(ctx, r, paging, (rows) => table(rows, COLUMNS));
    }),
  );

  banned
    .command('add')
    .description('ban a clientid, username or peerhost; a connected client is refused from its next CONNECT on')
    .addOption(new Option('--as <kind>', 'what --who is').choices(BANNED_AS).makeOptionMandatory())
    .requiredOption('--who <value>', 'the clientid, username or IP address')
    .option('--reason <text>', 'why (shown in the list)')
    .addOption(new Option('--until <when>', 'end of the ban: epoch seconds, a duration from now (90s, 10m, 2h, 7d) or a date (default: in 5 minutes)').argParser((v) => untilSeconds(v)))
    .action(
      action(async (ctx, opts) => {
        const body = { as: opts.as, who: opts.who, reason: opts.reason, until: opts.until };
        const answer = await ctx.api.call('POST', '/banned', { body });
        ctx.print(answer.data, () => `banned ${String(opts.as)} ${String(opts.who)}${opts.until === undefined ? '' : ` until ${String(epochSeconds(opts.until))}`}`);
      }),
    );

  banned
    .command('del')
    .description('lift a ban')
    .addArgument(new Argument('<as>', 'clientid, username or peerhost').choices(BANNED_AS))
    .argument('<who>')
    .action(
      action(async (ctx, _opts, as, who) => {
        const answer = await ctx.api.call('DELETE', `/banned/${encodeURIComponent(as)}/${encodeURIComponent(who)}`);
        ctx.print(answer, () => `ban on ${as} ${who} lifted`);
      }),
    );
}
