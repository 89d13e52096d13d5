import { mkdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../config/input-error.ts';
import { answerSheetCsv, languages, writeAnswerSheetCsv, writeAnswerSheetXlsx, type Language, type SheetFormat } from '../report/answer-sheet.ts';
import { loadReport } from '../report/read.ts';

/** `fedconf answers <run>`: the answer sheets of an existing run, written again (into the run folder by default). */
export function registerAnswers(program: Command): void {
  program.command('answers')
    .description('Write the requirement answer sheet (Ja/Nej/Delvis/Ej applicerbart/Ej testat with a comment, tests and evidence links) of a run as CSV and .xlsx, in Swedish and English.')
    .argument('<run>', 'run folder (reports/<product>/<run-id>/) or its report.json')
    .addOption(new Option('--lang <lang>', 'only this language (default: both)').choices([...languages]))
    .addOption(new Option('--format <format>', 'only this format (default: both)').choices(['csv', 'xlsx']))
    .option('--out <dir>', 'where to write (default: the run folder; evidence links stay relative to it); "-" prints the CSV to stdout')
    .action(async (run: string, options: { lang?: Language; format?: SheetFormat; out?: string }) => {
      const { report, dir } = loadReport(run);
      const langs = options.lang ? [options.lang] : languages;
      if (options.out === '-') {
        if (langs.length !== 1 || options.format === 'xlsx') throw new InputError('--out -', ['printing to stdout needs one --lang, and prints CSV only']);
        process.stdout.write(answerSheetCsv(report, langs[0]!));
        return;
      }
      const out = resolve(options.out ?? dir);
      mkdirSync(out, { recursive: true });
      const linkBase = relative(out, dir);
      const files = [
        ...(options.format !== 'xlsx' ? writeAnswerSheetCsv(out, report, linkBase, langs) : []),
        ...(options.format !== 'csv' ? await writeAnswerSheetXlsx(out, report, linkBase, langs) : []),
      ];
      for (const file of files) console.log(relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file));
    });
}
