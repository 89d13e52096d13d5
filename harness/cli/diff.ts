import type { Command } from 'commander';
import { diffReports, diffText } from '../report/diff.ts';
import { loadReport } from '../report/read.ts';

/** `fedconf diff <A> <B>`: what improved, regressed or changed from run A to run B; exit 1 on regression. */
export function registerDiff(program: Command): void {
  program.command('diff')
    .description('Compare two runs (A = baseline, B = new): requirements and tests that improved, regressed or changed. Exit 1 on a regression, 2 on bad input.')
    .argument('<runA>', 'baseline run folder or report.json')
    .argument('<runB>', 'new run folder or report.json')
    .option('--json', 'print the diff as JSON')
    .action((runA: string, runB: string, options: { json?: boolean }) => {
      const diff = diffReports(loadReport(runA).report, loadReport(runB).report);
      console.log(options.json ? JSON.stringify(diff, null, 2) : diffText(diff));
      process.exitCode = diff.regression ? 1 : 0;
    });
}
