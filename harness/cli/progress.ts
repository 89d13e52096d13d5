import ora, { type Ora } from 'ora';

/**
 * Progress on the terminal: a spinner with the current step when stdout is a terminal,
 * plain time-stamped lines otherwise (CI logs). Finished things are printed as lasting lines.
 */
export class ProgressDisplay {
  private readonly spinner: Ora | undefined;

  constructor(interactive = Boolean(process.stderr.isTTY) && !process.env.CI) {
    this.spinner = interactive ? ora({ stream: process.stderr }) : undefined;
  }

  /** The current step (replaces the previous one on a terminal). */
  step = (text: string): void => {
    if (this.spinner) {
      this.spinner.text = text;
      if (!this.spinner.isSpinning) this.spinner.start();
    } else {
      process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
    }
  };

  /** A line that stays (a finished test, a warning). */
  line(text: string): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      process.stderr.write(`${text}\n`);
      this.spinner.render();
    } else {
      process.stderr.write(`${text}\n`);
    }
  }

  done(): void {
    this.spinner?.stop();
  }
}
