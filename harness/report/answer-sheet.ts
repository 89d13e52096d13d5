import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import type { Level } from '../catalogue/catalogue.ts';
import type { Answer, TestResult } from '../verdict/model.ts';
import type { Report } from './model.ts';

/**
 * The answer sheet: the rows of the requirement specification answered the way it asks vendors to
 * ("Ja / Nej / Delvis / Ej applicerbart" with a comment), one row per catalogue requirement, with the
 * tests behind each answer and links to the evidence. Built from report.json alone, so it can be made
 * again from any run folder (`fedconf answers <run>`). "Not tested" stays "Ej testat" with its reason:
 * the specification has no such answer, and fedconf never turns a missing proof into "Ja".
 */
export type Language = 'sv' | 'en';
export const languages: readonly Language[] = ['sv', 'en'];
export type SheetFormat = 'csv' | 'xlsx';

/** answers.sv.csv, answers.en.xlsx, … next to report.json. */
export const answerSheetFile = (lang: Language, format: SheetFormat) => `answers.${lang}.${format}`;

export interface AnswerRow {
  id: string;
  /** The rows of "Bilaga 2 – Kravspecifikation" (KS x.y.z) the requirement answers. */
  ks: string[];
  /** B3 §n, R25 §n, … */
  otherSources: string[];
  level: string;
  title: string;
  inProfile: boolean;
  answer: string;
  comment: string;
  /** "STATUS test name", one per test behind the answer. */
  tests: string[];
  /** Evidence files, relative to where the sheet is written. */
  evidence: string[];
  /** The requirement's row in report.html, relative to where the sheet is written. */
  report: string;
}

const answerWords: Record<Language, Record<Answer, string>> = {
  en: { Yes: 'Yes', No: 'No', Partial: 'Partial', 'Not applicable': 'Not applicable', 'Not tested': 'Not tested' },
  sv: { Yes: 'Ja', No: 'Nej', Partial: 'Delvis', 'Not applicable': 'Ej applicerbart', 'Not tested': 'Ej testat' },
};
const levelWords: Record<Language, Record<Level, string>> = {
  en: { MUST: 'MUST', SHOULD: 'SHOULD', MAY: 'MAY' },
  sv: { MUST: 'SKA', SHOULD: 'BÖR', MAY: 'KAN' },
};
const yesNo: Record<Language, [string, string]> = { en: ['Yes', 'No'], sv: ['Ja', 'Nej'] };

const headers: Record<Language, Record<keyof AnswerRow, string>> = {
  en: {
    id: 'Requirement', ks: 'KS row(s)', otherSources: 'Other sources', level: 'Level', title: 'Requirement text',
    inProfile: 'In the profile run', answer: 'Answer', comment: 'Comment', tests: 'Tests', evidence: 'Evidence', report: 'Report',
  },
  sv: {
    id: 'Krav-id', ks: 'KS-rad(er)', otherSources: 'Övriga källor', level: 'Nivå', title: 'Kravtext (katalogens, på engelska)',
    inProfile: 'Ingår i körd profil', answer: 'Svar', comment: 'Kommentar', tests: 'Tester', evidence: 'Bevis', report: 'Rapport',
  },
};
const columns = Object.keys(headers.en) as Array<keyof AnswerRow>;

/**
 * The Swedish comment, said from the same facts verdict.ts decided on (the statuses of the tests behind
 * the row). Free text from outside fedconf (a declaration's justification, a test's message) is quoted
 * as it is.
 */
function swedishComment(row: Report['requirements'][number], report: Report, behind: TestResult[]): string {
  const reason = row.reason;
  if (row.answer === 'Not applicable') {
    const declared = /^declared not applicable: (.*)$/s.exec(reason);
    if (declared) return `Deklarerat ej applicerbart: ${declared[1]}`;
    const protocol = /^applies to (.+) only; (.+) speaks (\w+)$/.exec(reason);
    if (protocol) return `Gäller endast ${protocol[1]!.replaceAll(' and ', ' och ')}; ${protocol[2]} använder ${protocol[3]}`;
  }
  if (row.answer === 'No' && reason === 'declared unsupported by the product declaration') return 'Enligt produktdeklarationen stöds det inte';
  if (!row.inProfile) return `Ingår inte i körningen av profilen ${report.profile.id}`;
  if (behind.length === 0) return 'Inget scenario i denna version av testsviten visar det ännu';
  const count = (status: TestResult['status']) => behind.filter((t) => t.status === status).length;
  const notRun = behind.filter((t) => t.status === 'NOT-RUN');
  if (notRun.length === behind.length) {
    return `Kunde inte köras här: ${[...new Set(notRun.map((t) => t.message ?? 'inget skäl angivet'))].join('; ')}`;
  }
  const parts = ([
    [count('PASSED'), 'test godkänt', 'test godkända'],
    [count('FAILED'), 'test underkänt', 'test underkända'],
    [count('ERROR'), 'test slutade i ERROR (testsviten kunde inte avgöra)', 'test slutade i ERROR (testsviten kunde inte avgöra)'],
    [count('SKIPPED-NA'), 'funktion deklarerad som ej erbjuden', 'funktioner deklarerade som ej erbjudna'],
    [count('REVIEW'), 'test behöver granskas av en person', 'test behöver granskas av en person'],
    [notRun.length, 'test kunde inte köras här', 'test kunde inte köras här'],
  ] as const).filter(([n]) => n > 0).map(([n, one, many]) => `${n} ${n === 1 ? one : many}`);
  const undecided = row.answer === 'Not tested' ? 'Obestämt: ' : '';
  return `${undecided}${parts.join(', ')}`;
}

/** One row per catalogue requirement, in catalogue order. `linkBase` is the run folder seen from the sheet. */
export function answerRows(report: Report, lang: Language, linkBase = ''): AnswerRow[] {
  const tests = new Map(report.tests.map((t) => [t.id, t]));
  const link = (relative: string) => (linkBase ? `${linkBase.replace(/\/$/, '')}/${relative}` : relative);
  return report.requirements.map((row) => {
    const behind = row.tests.map((id) => tests.get(id)).filter((t): t is TestResult => t !== undefined);
    return {
      id: row.id,
      ks: row.sources.filter((s) => s.startsWith('KS ')),
      otherSources: row.sources.filter((s) => !s.startsWith('KS ')),
      level: levelWords[lang][row.level],
      title: row.title,
      inProfile: row.inProfile,
      answer: answerWords[lang][row.answer],
      comment: lang === 'en' ? row.reason : swedishComment(row, report, behind),
      tests: behind.map((t) => `${t.status} ${t.name}`),
      evidence: [...new Set(behind.flatMap((t) => t.evidence))].map(link),
      report: link(`report.html#req-${row.id}`),
    };
  });
}

/** A row as flat cells: lists joined by "; " (sources) or one per line (tests, evidence). */
function cells(row: AnswerRow, lang: Language): Record<keyof AnswerRow, string> {
  return {
    ...row,
    ks: row.ks.join('; '),
    otherSources: row.otherSources.join('; '),
    inProfile: yesNo[lang][row.inProfile ? 0 : 1],
    tests: row.tests.join('\n'),
    evidence: row.evidence.join('\n'),
  };
}

/** RFC 4180 CSV, comma-separated, UTF-8 without BOM (the .xlsx is the file for spreadsheet programs). */
export function answerSheetCsv(report: Report, lang: Language, linkBase = ''): string {
  return stringify(answerRows(report, lang, linkBase).map((row) => cells(row, lang)), {
    header: true,
    columns: columns.map((key) => ({ key, header: headers[lang][key] })),
  });
}

const fills: Record<Answer, string> = { Yes: 'FFE3F6E5', No: 'FFFDE7E7', Partial: 'FFFFF4D6', 'Not applicable': 'FFEEEEEE', 'Not tested': 'FFEEEEEE' };
const about: Record<Language, { sheet: string; answers: string; rows: Array<[string, (r: Report) => string]>; legend: string[] }> = {
  en: {
    sheet: 'About the run', answers: 'Answers',
    rows: [
      ['Product', (r) => `${r.product.vendor} — ${r.product.name} ${r.product.version} (${r.product.protocol})`],
      ['Declaration', (r) => r.product.declaration + (r.product.variantOf ? ` (variant of ${r.product.variantOf}: ${r.product.purpose ?? ''})` : '')],
      ['Profile', (r) => `${r.profile.title} (${r.profile.id})`],
      ['Verdict', (r) => r.profiles.map((p) => `${p.id}: ${p.verdict} (MUST ${p.must.yes}/${p.must.total} Yes)`).join('; ')],
      ['Tested against', (r) => r.peers.map((p) => `${p.organisation}: ${p.implementation} ${p.version}`).join('; ') || 'no peer reached'],
      ['Run', (r) => `${r.run.id}, ${r.run.startedAt} – ${r.run.endedAt ?? '…'}, fedconf ${r.suite.version}`],
      ['Run status', (r) => r.run.status === 'complete' ? 'complete' : `INCOMPLETE: ${r.run.note ?? ''} (the answers are those it had)`],
    ],
    legend: [
      'Yes: every test behind the requirement passed. No: tests failed, or the declaration says it is not supported. Partial: some passed, some failed.',
      'Not applicable: the requirement does not apply to the product\'s protocol, or the declaration justifies it.',
      'Not tested: fedconf has no evidence either way (no scenario yet, not run here, or the harness could not decide); the comment says which. It is never Yes.',
      'Evidence and Report are paths relative to this file; report.html holds the full transcripts.',
    ],
  },
  sv: {
    sheet: 'Om körningen', answers: 'Svar',
    rows: [
      ['Produkt', (r) => `${r.product.vendor} — ${r.product.name} ${r.product.version} (${r.product.protocol})`],
      ['Deklaration', (r) => r.product.declaration + (r.product.variantOf ? ` (variant av ${r.product.variantOf}: ${r.product.purpose ?? ''})` : '')],
      ['Profil', (r) => `${r.profile.title} (${r.profile.id})`],
      ['Utfall', (r) => r.profiles.map((p) => `${p.id}: ${p.verdict === 'CONFORMANT' ? 'UPPFYLLER' : 'UPPFYLLER INTE'} (SKA-krav ${p.must.yes} av ${p.must.total} Ja)`).join('; ')],
      ['Testad mot', (r) => r.peers.map((p) => `${p.organisation}: ${p.implementation} ${p.version}`).join('; ') || 'ingen motpart nåddes'],
      ['Körning', (r) => `${r.run.id}, ${r.run.startedAt} – ${r.run.endedAt ?? '…'}, fedconf ${r.suite.version}`],
      ['Körningens status', (r) => r.run.status === 'complete' ? 'fullständig' : `OFULLSTÄNDIG: ${r.run.note ?? ''} (svaren är de den hann ge)`],
    ],
    legend: [
      'Ja: alla test bakom kravet godkändes. Nej: test underkändes, eller deklarationen säger att det inte stöds. Delvis: vissa godkändes, andra underkändes.',
      'Ej applicerbart: kravet gäller inte produktens protokoll, eller deklarationen motiverar det.',
      'Ej testat: fedconf har inget bevis åt något håll (inget scenario ännu, kunde inte köras här, eller testsviten kunde inte avgöra); kommentaren säger vilket. Det är aldrig Ja.',
      'Bevis och Rapport är sökvägar relativt den här filen; report.html innehåller hela transkripten.',
    ],
  },
};

/** The same rows as a workbook: the answers sheet (filterable, colour per answer) and a sheet about the run. */
export async function answerSheetXlsx(report: Report, lang: Language, linkBase = ''): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = `fedconf ${report.suite.version}`;
  // The run's own times, so the same report gives the same workbook content.
  workbook.created = new Date(report.run.startedAt);
  workbook.modified = new Date(report.run.endedAt ?? report.run.startedAt);
  const words = about[lang];

  const sheet = workbook.addWorksheet(words.answers, { views: [{ state: 'frozen', ySplit: 1 }] });
  const widths: Record<keyof AnswerRow, number> = { id: 18, ks: 14, otherSources: 14, level: 8, title: 50, inProfile: 10, answer: 14, comment: 50, tests: 60, evidence: 50, report: 32 };
  sheet.columns = columns.map((key) => ({ key, header: headers[lang][key], width: widths[key] }));
  sheet.getRow(1).font = { bold: true };
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
  const rows = answerRows(report, lang, linkBase);
  for (const [index, row] of rows.entries()) {
    const added = sheet.addRow(cells(row, lang));
    added.alignment = { vertical: 'top', wrapText: true };
    added.getCell('answer').fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: fills[report.requirements[index]!.answer] } };
    added.getCell('report').value = { text: row.report, hyperlink: row.report };
    if (row.evidence.length === 1) added.getCell('evidence').value = { text: row.evidence[0]!, hyperlink: row.evidence[0]! };
  }

  const info = workbook.addWorksheet(words.sheet);
  info.columns = [{ width: 22 }, { width: 110 }];
  for (const [label, value] of words.rows) info.addRow([label, value(report)]).getCell(1).font = { bold: true };
  info.addRow([]);
  for (const line of words.legend) info.addRow(['', line]).alignment = { wrapText: true, vertical: 'top' };

  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** Both languages as CSV into `dir` (cheap and synchronous: written with report.json after every test). */
export function writeAnswerSheetCsv(dir: string, report: Report, linkBase = '', langs: readonly Language[] = languages): string[] {
  return langs.map((lang) => {
    const file = join(dir, answerSheetFile(lang, 'csv'));
    writeFileSync(file, answerSheetCsv(report, lang, linkBase));
    return file;
  });
}

/** Both languages as .xlsx into `dir` (written once the run ends, and by `fedconf answers`). */
export async function writeAnswerSheetXlsx(dir: string, report: Report, linkBase = '', langs: readonly Language[] = languages): Promise<string[]> {
  const files: string[] = [];
  for (const lang of langs) {
    const file = join(dir, answerSheetFile(lang, 'xlsx'));
    writeFileSync(file, await answerSheetXlsx(report, lang, linkBase));
    files.push(file);
  }
  return files;
}
