import { catchEach, controls } from './controls.ts';

// The negative controls of the federation and baseline profiles (the table is tests/e2e/controls.ts).
catchEach(controls.filter((c) => c.profile === undefined || c.profile === 'baseline'));
