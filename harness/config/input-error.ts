/**
 * Bad input from a user (a declaration, a profile, a command-line value). The message names the file,
 * the field and what to do; the CLI prints it without a stack trace.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(readonly file: string, readonly problems: string[], readonly hint?: string) {
    super(`${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}${hint ? `\n  ${hint}` : ''}`);
  }
}
