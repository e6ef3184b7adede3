// The JSON Schema of the connection lines (docs/connection-line.schema.json), compiled once with ajv: what the unit
// and integration tests check every emitted line against.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const schema = JSON.parse(readFileSync(resolve(__dirname, '../../docs/connection-line.schema.json'), 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(schema);

/** Undefined when the line is valid, else ajv's errors as text. */
export function connectionLineErrors(line: unknown): string | undefined {
  return validate(line) ? undefined : ajv.errorsText(validate.errors);
}

/** The lines of a JSON-lines file (or text), parsed. */
export const parseLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as unknown);
