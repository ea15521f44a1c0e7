/**
 * Request validation with ajv: bodies strictly (no coercion, no unknown fields,
 * every problem reported), query strings and path parameters with type coercion
 * since they arrive as text.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldProblem } from '../domain/decider.js';

// ajv-formats ships CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, coerceTypes, removeAdditional: false, useDefaults: coerceTypes, strict: false });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const validate: ValidateFunction = (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
  return (data: unknown) => (validate(data) ? { value: data } : { error: Object.assign(new Error('invalid request'), { validation: validate.errors ?? [] }) });
};

/** ajv's errors as the `details` of the error shape: a JSON pointer and a sentence. */
export function describeValidationErrors(errors: ErrorObject[], part: string): FieldProblem[] {
  return errors.map((error) => {
    const params = error.params as Record<string, unknown>;
    let path = error.instancePath || '';
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      path = `${path}/${String(params.additionalProperty)}`;
      message = 'unknown field';
    } else if (error.keyword === 'required') {
      path = `${path}/${String(params.missingProperty)}`;
      message = 'is required';
    }
    return { path: part === 'body' ? path || '/' : `${part}:${path || '/'}`, message };
  });
}
