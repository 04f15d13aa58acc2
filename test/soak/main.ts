/** `npm run soak`: runs the soak (options: see --help), prints its summary, exits 1 on a failed check. */
import { parseArgs, UsageError } from './options.js';
import { formatReport } from './report.js';
import { runSoak } from './run.js';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const help = process.argv.includes('--help') || process.argv.includes('-h');
    (help ? console.log : console.error)(err.message);
    process.exit(help ? 0 : 2);
  }
  const report = await runSoak({ ...opts, log: (l) => console.error(l) });
  console.log(formatReport(report));
  process.exit(report.ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
