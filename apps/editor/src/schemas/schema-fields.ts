import type { JsonValue } from '@policy-logic-studio/shared';

/** A JSON Schema as the backend stores it with a policy. */
export interface PolicySchema {
  $id?: string;
  iri?: string;
  title?: string;
  name?: string;
  type?: string;
  properties?: Record<string, JsonSchemaProperty>;
  required?: string[];
  [key: string]: unknown;
}

export interface JsonSchemaProperty {
  type?: string | string[];
  format?: string;
  enum?: JsonValue[];
  readOnly?: boolean;
  $comment?: string;
  properties?: Record<string, JsonSchemaProperty>;
  required?: string[];
  items?: JsonSchemaProperty;
  [key: string]: unknown;
}

export interface SchemaField {
  name: string;
  type: string;
  required: boolean;
  /** Whether the backend adds this default field to every schema, which makes it read-only. */
  system: boolean;
}

export function schemaTitle(schema: PolicySchema): string {
  return schema.title ?? schema.name ?? schema.iri ?? schema.$id ?? 'Untitled schema';
}

/** Returns the schema id, with its leading `#`, that a block's `outputSchema` and the delete route use. */
export function schemaIri(schema: PolicySchema): string {
  return schema.iri ?? schema.$id ?? '';
}

function commentMarksSystemField(comment: string | undefined): boolean {
  if (comment === undefined) {
    return false;
  }
  try {
    const parsed = JSON.parse(comment) as unknown;
    return typeof parsed === 'object' && parsed !== null && (parsed as { isSystemField?: unknown }).isSystemField === true;
  } catch {
    // Guardian's comments are JSON, but a hand-written schema may hold any text.
    return false;
  }
}

export function isSystemField(property: JsonSchemaProperty): boolean {
  return property.readOnly === true || commentMarksSystemField(property.$comment);
}

function typeLabel(property: JsonSchemaProperty): string {
  if (Array.isArray(property.type)) {
    return property.type.join(' | ');
  }
  if (property.type) {
    return property.format ? `${property.type} (${property.format})` : property.type;
  }
  return property.enum ? 'enum' : 'any';
}

export function schemaFields(schema: PolicySchema): SchemaField[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    type: typeLabel(property),
    required: required.has(name),
    system: isSystemField(property),
  }));
}

function todayIsoDate(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** Builds a sample value of the property's type and format, or its first enum value. */
export function sampleValue(property: JsonSchemaProperty, now: Date = new Date()): JsonValue {
  if (property.enum && property.enum.length > 0) {
    return property.enum[0] ?? null;
  }
  const type = Array.isArray(property.type) ? property.type.find((candidate) => candidate !== 'null') : property.type;
  switch (type) {
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return sampleObject(property, now);
    case 'string':
      if (property.format === 'date') {
        return todayIsoDate(now);
      }
      if (property.format === 'date-time') {
        return now.toISOString();
      }
      return 'example';
    default:
      return null;
  }
}

/**
 * Builds one sample object: the required fields when the schema lists any, else all
 * fields. Default system fields are left out, because the backend fills them in.
 */
export function sampleObject(schema: Pick<PolicySchema, 'properties' | 'required'>, now: Date = new Date()): Record<string, JsonValue> {
  const properties = schema.properties ?? {};
  const required = (schema.required ?? []).filter((name) => name in properties);
  const names = required.length > 0 ? required : Object.keys(properties);
  const sample: Record<string, JsonValue> = {};
  for (const name of names) {
    const property = properties[name];
    if (property && !isSystemField(property)) {
      sample[name] = sampleValue(property, now);
    }
  }
  return sample;
}

export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'date', 'array', 'object'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldRow {
  name: string;
  type: FieldType;
  required: boolean;
}

export type SchemaDraftResult = { ok: true; schema: PolicySchema } | { ok: false; error: string };

function propertyFor(type: FieldType): JsonSchemaProperty {
  return type === 'date' ? { type: 'string', format: 'date' } : { type };
}

/** Turns the form's title and field rows into the body of a schema create request. */
export function schemaFromRows(title: string, rows: FieldRow[]): SchemaDraftResult {
  if (title.trim() === '') {
    return { ok: false, error: 'The schema needs a title.' };
  }
  const properties: Record<string, JsonSchemaProperty> = {};
  const required: string[] = [];
  for (const [index, row] of rows.entries()) {
    const name = row.name.trim();
    if (name === '') {
      return { ok: false, error: `Field ${index + 1} has no name. Give it a name or remove the row.` };
    }
    if (name in properties) {
      return { ok: false, error: `The field name “${name}” appears twice. Field names must be unique.` };
    }
    properties[name] = propertyFor(row.type);
    if (row.required) {
      required.push(name);
    }
  }
  const schema: PolicySchema = { title: title.trim(), type: 'object', properties };
  if (required.length > 0) {
    schema.required = required;
  }
  return { ok: true, schema };
}

/** Parses the JSON textarea of the create form. The backend validates the schema itself. */
export function schemaFromJson(text: string): SchemaDraftResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `The schema is not valid JSON: ${reason}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: 'The schema must be a JSON object with title, type "object" and properties.' };
  }
  return { ok: true, schema: parsed as PolicySchema };
}
