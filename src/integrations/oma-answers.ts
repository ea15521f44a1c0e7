/** Reading the OMA's answers into the gateway types (spec/integrations.md, OMA replication and job state). */
import { asRecord, idField, optionalNumberField, optionalStringField, parseJsonText, ShapeError, stringField } from './json-shape.js';
import type { OmaJobState, StartReplicationResult } from './replication-gateway.js';

/**
 * The 201 answer of a creation. Only `job_id` is required: with it the job can
 * be followed, so a missing status or message must not lose it.
 */
export function readStartedJob(json: unknown): Extract<StartReplicationResult, { kind: 'started' }> {
  const answer = asRecord(json, '$');
  return {
    kind: 'started',
    jobId: idField(answer, 'job_id', '$'),
    status: optionalStringField(answer, 'status', '$') ?? 'pending',
    progressPercent: optionalNumberField(answer, 'progress_percent', '$', 0),
    startedAt: optionalStringField(answer, 'started_at', '$'),
    message: optionalStringField(answer, 'message', '$') ?? '',
  };
}

/** The active job a 409 answer names (`{"job_id": ...}`), when it names one; plain text or no id: null. */
export function readActiveJobId(text: string): string | null {
  try {
    const id = optionalStringField(asRecord(parseJsonText(text), '$'), 'job_id', '$');
    return id === null || id.trim() === '' ? null : id;
  } catch (error) {
    if (error instanceof ShapeError) return null;
    throw error;
  }
}

/** `GET /api/v1/replications/{job_id}` answer. */
export function readOmaJobState(json: unknown): OmaJobState {
  const state = asRecord(json, '$');
  return {
    jobId: idField(state, 'id', '$'),
    status: stringField(state, 'status', '$'),
    progressPercent: optionalNumberField(state, 'progress_percent', '$', 0),
    errorMessage: optionalStringField(state, 'error_message', '$'),
    startedAt: optionalStringField(state, 'started_at', '$'),
    completedAt: optionalStringField(state, 'completed_at', '$'),
    updatedAt: optionalStringField(state, 'updated_at', '$'),
  };
}
