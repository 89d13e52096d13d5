import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../config/input-error.ts';
import { displayPath, readYaml, validateAgainst } from '../config/load.ts';
import { profilesDir } from '../config/paths.ts';
import type { Protocol } from '../lab/types.ts';

export type Level = 'MUST' | 'SHOULD' | 'MAY';

export interface Requirement {
  id: string;
  level: Level;
  title: string;
  sources: string[];
  protocols: Protocol[];
  negativeControl?: string;
  note?: string;
}

interface ProfileFile {
  id: string;
  title: string;
  description?: string;
  sources?: string[];
  suites: string[];
  includes: string[];
  requirements: string[];
}

/** A profile with its includes resolved: every requirement and suite it stands for. */
export interface Profile {
  id: string;
  title: string;
  description: string;
  requirements: Requirement[];
  suites: string[];
}

export interface Catalogue {
  requirements: Map<string, Requirement>;
  profiles: Map<string, Profile>;
}

const schemaDir = join(profilesDir, 'schema');

export function loadCatalogue(dir = profilesDir): Catalogue {
  const requirementsFile = join(dir, 'requirements.yaml');
  const { requirements: list } = validateAgainst<{ requirements: Requirement[] }>(
    join(schemaDir, 'requirements.schema.json'), readYaml(requirementsFile), requirementsFile);
  const requirements = new Map<string, Requirement>();
  for (const [index, requirement] of list.entries()) {
    if (requirements.has(requirement.id)) {
      throw new InputError(displayPath(requirementsFile), [`field requirements.${index}.id: "${requirement.id}" appears twice`]);
    }
    requirements.set(requirement.id, requirement);
  }

  const files = new Map<string, { file: string; data: ProfileFile }>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml') && n !== 'requirements.yaml').sort()) {
    const file = join(dir, name);
    const data = validateAgainst<ProfileFile>(join(schemaDir, 'profile.schema.json'), readYaml(file), file);
    if (`${data.id}.yaml` !== name) throw new InputError(displayPath(file), [`field id: "${data.id}" must match the file name (${name})`]);
    const unknown = data.requirements.filter((id) => !requirements.has(id));
    if (unknown.length) throw new InputError(displayPath(file), unknown.map((id) => `field requirements: "${id}" is not in profiles/requirements.yaml`));
    files.set(data.id, { file, data });
  }

  const profiles = new Map<string, Profile>();
  const resolve = (id: string, trail: string[]): Profile => {
    const done = profiles.get(id);
    if (done) return done;
    const entry = files.get(id);
    if (!entry) throw new InputError(displayPath(files.get(trail.at(-1) ?? '')?.file ?? dir), [`field includes: profile "${id}" does not exist`]);
    if (trail.includes(id)) throw new InputError(displayPath(entry.file), [`field includes: cycle ${[...trail, id].join(' → ')}`]);
    const ids = new Set(entry.data.requirements);
    const suites = new Set(entry.data.suites);
    for (const included of entry.data.includes) {
      const sub = resolve(included, [...trail, id]);
      sub.requirements.forEach((r) => ids.add(r.id));
      sub.suites.forEach((s) => suites.add(s));
    }
    const profile: Profile = {
      id,
      title: entry.data.title,
      description: entry.data.description ?? '',
      requirements: [...requirements.values()].filter((r) => ids.has(r.id)),
      suites: [...suites],
    };
    profiles.set(id, profile);
    return profile;
  };
  for (const id of files.keys()) resolve(id, []);
  return { requirements, profiles };
}

export function getProfile(catalogue: Catalogue, id: string): Profile {
  const profile = catalogue.profiles.get(id);
  if (!profile) {
    throw new InputError('--profile', [`unknown profile "${id}"`], `Known profiles: ${[...catalogue.profiles.keys()].join(', ')} (see \`fedconf profiles\`)`);
  }
  return profile;
}
