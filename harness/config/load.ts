import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseDocument } from 'yaml';
import { repoRoot } from './paths.ts';
import { InputError } from './input-error.ts';

const ajv = new Ajv({ allErrors: true, strict: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const compiled = new Map<string, ValidateFunction>();

export function displayPath(file: string): string {
  const rel = relative(repoRoot, file);
  return rel.startsWith('..') ? file : rel;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(displayPath(file), [`cannot read the file: ${(error as Error).message}`]);
  }
}

/** Parse a YAML file; syntax errors name the line and column. */
export function readYaml(file: string): unknown {
  const doc = parseDocument(readText(file), { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new InputError(displayPath(file), doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
  }
  return doc.toJS();
}

export function readJson(file: string): unknown {
  try {
    return JSON.parse(readText(file));
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(displayPath(file), [`JSON syntax: ${(error as Error).message}`]);
  }
}

function describe(error: ErrorObject): string {
  const field = error.instancePath === '' ? '(top level)' : `field ${error.instancePath.slice(1).replaceAll('/', '.')}`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}" (remove it or check its spelling)`;
    case 'required':
      return `${field}: missing required field "${(error.params as { missingProperty: string }).missingProperty}"`;
    case 'enum':
      return `${field}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${field}: ${error.message ?? error.keyword}`;
  }
}

/** Validate `data` (read from `file`) against a JSON Schema file; throws InputError listing every problem. */
export function validateAgainst<T>(schemaFile: string, data: unknown, file: string): T {
  let validate = compiled.get(schemaFile);
  if (!validate) {
    validate = ajv.compile(readJson(schemaFile) as object);
    compiled.set(schemaFile, validate);
  }
  if (!validate(data)) {
    throw new InputError(displayPath(file), (validate.errors ?? []).map(describe), `Schema: ${displayPath(schemaFile)}`);
  }
  return data as T;
}
