import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerSheetFile, answerSheetXlsx, writeAnswerSheetCsv, writeAnswerSheetXlsx } from '../../harness/report/answer-sheet.ts';
import { loadReport } from '../../harness/report/read.ts';
import { fedconf } from '../e2e/cli.ts';

// The candidate fixture run (tests/fixtures/reports/make.ts): Yes, Partial, No, Not applicable and the
// three kinds of Not tested (no scenario, not run here, ERROR).
const fixture = join(import.meta.dirname, '..', 'fixtures', 'reports', 'synapse-1.163.2');
const { report } = loadReport(fixture);

/** The sheet's rows as objects keyed by header, read back by exceljs (CSV or xlsx alike). */
async function rowsOf(file: string): Promise<Array<Record<string, string>>> {
  const workbook = new ExcelJS.Workbook();
  const sheet = file.endsWith('.csv') ? await workbook.csv.readFile(file, { map: (value: unknown) => value }) : (await workbook.xlsx.readFile(file), workbook.worksheets[0]!);
  const text = (v: ExcelJS.CellValue) => (v && typeof v === 'object' && 'text' in v ? String(v.text) : String(v ?? ''));
  const header = (sheet.getRow(1).values as ExcelJS.CellValue[]).slice(1).map(text);
  const rows: Array<Record<string, string>> = [];
  sheet.eachRow((row, n) => {
    if (n > 1) rows.push(Object.fromEntries(header.map((h, i) => [h, text(row.getCell(i + 1).value)])));
  });
  return rows;
}

describe('the answer sheet of a run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedconf-answers-'));
  beforeAll(async () => {
    writeAnswerSheetCsv(dir, report);
    await writeAnswerSheetXlsx(dir, report);
  });

  it('has one Swedish row per catalogue requirement with its KS rows, SKA/BÖR and Ja/Nej/Delvis/Ej applicerbart', async () => {
    for (const file of [answerSheetFile('sv', 'csv'), answerSheetFile('sv', 'xlsx')]) {
      const rows = await rowsOf(join(dir, file));
      expect(rows.map((r) => r['Krav-id'])).toEqual(report.requirements.map((r) => r.id));
      const row = (id: string) => rows.find((r) => r['Krav-id'] === id)!;
      expect(row('FED-DM')).toMatchObject({ 'KS-rad(er)': 'KS 1.6.8; KS 1.6.9', 'Övriga källor': 'B3 §2', Nivå: 'SKA', Svar: 'Ja', Kommentar: '1 test godkänt', Tester: 'PASSED alice writes to bob', Bevis: 'evidence/fed-dm--alice-writes-to-bob.txt', Rapport: 'report.html#req-FED-DM' });
      expect(row('FED-OFFLINE')).toMatchObject({ Svar: 'Delvis', Kommentar: '1 test godkänt, 1 test underkänt' });
      expect(row('FED-OFFLINE').Tester!.split('\n')).toEqual(['PASSED recipient logged out', 'FAILED recipient server down']);
      expect(row('FED-DELETE')).toMatchObject({ Nivå: 'SKA', Svar: 'Nej' });
      expect(row('FED-EDIT')).toMatchObject({ Nivå: 'BÖR', Svar: 'Ja' });
      expect(row('FED-FILE')).toMatchObject({ Svar: 'Ej applicerbart', Kommentar: 'Deklarerat ej applicerbart: file transfer is offered by a separate product' });
    }
  });

  it('says "Ej testat" / "Not tested" with the reason, never Ja', async () => {
    const sv = await rowsOf(join(dir, answerSheetFile('sv', 'xlsx')));
    const row = (id: string) => sv.find((r) => r['Krav-id'] === id)!;
    expect(row('FED-THREAD')).toMatchObject({ Svar: 'Ej testat', Kommentar: 'Obestämt: 1 test slutade i ERROR (testsviten kunde inte avgöra)' });
    expect(row('FED-RESILIENCE')).toMatchObject({ Svar: 'Ej testat', Kommentar: 'Kunde inte köras här: the lab offers no restart control' });
    expect(row('FED-TLS')).toMatchObject({ Svar: 'Ej testat', Kommentar: 'Inget scenario i denna version av testsviten visar det ännu' });
    expect(row('GST-JOIN')).toMatchObject({ 'Ingår i körd profil': 'Nej', Svar: 'Ej testat', Kommentar: 'Ingår inte i körningen av profilen federation' });
    const notTested = report.requirements.filter((r) => r.answer === 'Not tested').map((r) => r.id);
    expect(sv.filter((r) => r.Svar === 'Ej testat').map((r) => r['Krav-id'])).toEqual(notTested);

    const en = await rowsOf(join(dir, answerSheetFile('en', 'csv')));
    expect(en.find((r) => r.Requirement === 'FED-THREAD')).toMatchObject({ Level: 'SHOULD', Answer: 'Not tested', Comment: 'undecided: 1 test(s) ended in ERROR, so the harness could not decide' });
    expect(en.find((r) => r.Requirement === 'FED-DELETE')).toMatchObject({ Level: 'MUST', Answer: 'No', 'KS row(s)': 'KS 6.4.6' });
  });

  it('links to the evidence and the report row by paths that exist relative to the sheet', async () => {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(join(dir, answerSheetFile('en', 'xlsx')));
    const sheet = workbook.getWorksheet('Answers')!;
    const dm = sheet.getRow(report.requirements.findIndex((r) => r.id === 'FED-DM') + 2);
    expect(dm.getCell(11).value).toMatchObject({ hyperlink: 'report.html#req-FED-DM' });
    expect(dm.getCell(10).value).toMatchObject({ hyperlink: 'evidence/fed-dm--alice-writes-to-bob.txt' });
    for (const row of await rowsOf(join(dir, answerSheetFile('en', 'csv')))) {
      for (const evidence of row.Evidence ? row.Evidence.split('\n') : []) expect(existsSync(join(fixture, evidence)), evidence).toBe(true);
    }
    expect(workbook.getWorksheet('About the run')!.getRow(1).getCell(2).value).toBe('Element (element-hq) — Synapse 1.163.2 (matrix)');
  });

  it('keeps the links working when written elsewhere (`fedconf answers <run> --out <dir>`)', async () => {
    const run = mkdtempSync(join(tmpdir(), 'fedconf-run-'));
    cpSync(fixture, run, { recursive: true });
    const out = join(run, 'sheets');
    const { code, stdout, stderr } = await fedconf(['answers', join(run, 'report.json'), '--out', out, '--lang', 'sv'], run);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(2);
    const rows = await rowsOf(join(out, answerSheetFile('sv', 'csv')));
    expect(rows.find((r) => r['Krav-id'] === 'FED-DM')).toMatchObject({ Bevis: '../evidence/fed-dm--alice-writes-to-bob.txt', Rapport: '../report.html#req-FED-DM' });
    expect(existsSync(join(out, answerSheetFile('en', 'csv')))).toBe(false);
  });

  it('gives the same workbook content for the same report', async () => {
    const [first, second] = [await answerSheetXlsx(report, 'sv'), await answerSheetXlsx(report, 'sv')];
    const load = async (b: Buffer) => { const w = new ExcelJS.Workbook(); await w.xlsx.load(b as unknown as ArrayBuffer); return w; };
    const [a, b] = [await load(first), await load(second)];
    expect(a.created).toEqual(new Date(report.run.startedAt));
    expect(a.worksheets.map((s) => s.getSheetValues())).toEqual(b.worksheets.map((s) => s.getSheetValues()));
    expect(readFileSync(join(dir, answerSheetFile('sv', 'csv')), 'utf8').startsWith('\uFEFF')).toBe(false);
  });
});
