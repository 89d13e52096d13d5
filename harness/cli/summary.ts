import type { Report } from '../report/model.ts';

const pad = (text: string, width: number) => (text.length >= width ? `${text.slice(0, width - 1)} ` : text + ' '.repeat(width - text.length));

/**
 * The one-screen summary: one column per product, per profile CONFORMANT / NOT CONFORMANT,
 * per requirement of the profile its answer.
 */
export function summaryTable(reports: Array<{ report: Report; dir: string }>): string {
  if (reports.length === 0) return 'No reports.';
  const first = reports[0]!.report;
  const col = 24;
  const lines: string[] = [];
  lines.push(`fedconf ${first.suite.version} — profile ${first.profile.id}`);
  lines.push('');
  lines.push(pad('', 22) + reports.map(({ report }) => pad(`${report.product.id} ${report.product.version}`, col)).join(''));
  for (const profile of first.profiles) {
    lines.push(pad(`profile ${profile.id}`, 22) + reports.map(({ report }) => {
      const p = report.profiles.find((x) => x.id === profile.id);
      return pad(p ? p.verdict : '-', col);
    }).join(''));
  }
  lines.push('');
  for (const requirement of first.requirements.filter((r) => r.inProfile)) {
    lines.push(pad(requirement.id, 16) + pad(requirement.level, 8) + reports.map(({ report }) =>
      pad(report.requirements.find((r) => r.id === requirement.id)?.answer ?? '-', col)).join(''));
  }
  lines.push('');
  for (const { report, dir } of reports) {
    const t = report.totals;
    const d = report.declarationCheck;
    const declaration = d ? `; declaration check ${d.status}${d.warnings.length ? ` (${d.warnings.length} warning${d.warnings.length === 1 ? '' : 's'})` : ''}` : '';
    lines.push(`${report.product.id}: ${t.PASSED} passed, ${t.FAILED} failed, ${t.ERROR} error${declaration}${report.run.status === 'complete' ? '' : ' (run incomplete)'} — ${dir}/report.html`);
  }
  return lines.join('\n');
}
