/**
 * The set-up shared by the runner and blue/green scenario suites: one
 * environment per suite, runners stopped after each test, read models emptied
 * on demand, unique stream prefixes. Call inside a `describe`.
 */
import { after, afterEach, before } from 'node:test';
import { allProjections } from '../../src/projections/all-projections.js';
import { dropReadModels, migrateReadModels } from '../../src/projections/migrations/migration-source.js';
import type { RowProjection } from '../../src/projections/projection.js';
import { ProjectionRunner, type ProjectionRunnerOptions } from '../../src/projections/projection-runner.js';
import type { RunnerEnvironment } from './runner-scenarios.js';

export interface RunnerFixture {
  /** The suite's environment (open from `before` on). */
  readonly env: RunnerEnvironment;
  /** A runner on the environment, stopped after the test. */
  newRunner(projections?: readonly RowProjection[], options?: ProjectionRunnerOptions): ProjectionRunner;
  /** A stream prefix no other test of the suite uses. */
  newPrefix(): string;
  /** Empty read models (the log itself only grows). */
  emptyReadModels(): Promise<void>;
}

export function useRunnerFixture(openEnvironment: () => Promise<RunnerEnvironment>, prefixStem: string): RunnerFixture {
  let env: RunnerEnvironment | undefined;
  const runners: ProjectionRunner[] = [];
  let prefixCounter = 0;
  before(async () => {
    env = await openEnvironment();
  });
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
  });
  after(async () => {
    await env?.dispose();
  });
  const opened = (): RunnerEnvironment => {
    if (!env) throw new Error('the runner environment is opened in before()');
    return env;
  };
  return {
    get env() {
      return opened();
    },
    newRunner(projections = allProjections, options = {}) {
      const runner = new ProjectionRunner(opened().store, opened().db, [...projections], { retryInitialDelayMs: 20, ...options });
      runners.push(runner);
      return runner;
    },
    newPrefix: () => `${prefixStem}${++prefixCounter}`,
    async emptyReadModels() {
      await dropReadModels(opened().db.knex);
      await migrateReadModels(opened().db.knex);
    },
  };
}
