import type { NativeAdapter } from './adapter.ts';
import { createDendriteAdapter } from './dendrite.ts';
import { ejabberdAdapter } from './ejabberd.ts';
import { prosodyAdapter } from './prosody.ts';
import { createSynapseAdapter } from './synapse.ts';

/**
 * The products the native lab can run, by the `lab.adapter` name a declaration uses. `version` is set
 * by `--product <id>@<version>`; products whose source has one version only refuse it.
 */
export const nativeAdapters: Record<string, (version?: string) => NativeAdapter> = {
  synapse: (version) => createSynapseAdapter(version),
  dendrite: (version) => createDendriteAdapter(version),
  prosody: (version) => onlyPackaged(prosodyAdapter, version, 'Debian bookworm packages one Prosody version'),
  ejabberd: (version) => onlyPackaged(ejabberdAdapter, version, 'Debian bookworm packages one ejabberd version'),
};

function onlyPackaged(adapter: NativeAdapter, version: string | undefined, why: string): NativeAdapter {
  if (version !== undefined) throw new Error(`${adapter.id}@${version}: no other version can be installed here (${why}); drop the @${version}`);
  return adapter;
}
