import { catchEach, controls } from './controls.ts';

// The negative controls of the guest-access, e2ee, audit and retention profiles (the table is tests/e2e/controls.ts).
catchEach(controls.filter((c) => c.profile !== undefined && c.profile !== 'baseline'));
