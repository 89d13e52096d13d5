import type { NativeAdapter } from './adapter.ts';
import { prosodyAdapter } from './prosody.ts';
import { synapseAdapter } from './synapse.ts';

/** The products the native lab can run, by the `lab.adapter` name a declaration uses. */
export const nativeAdapters: Record<string, NativeAdapter> = {
  synapse: synapseAdapter,
  prosody: prosodyAdapter,
};
