import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`configuration ${JSON.stringify(env)} was accepted`);
}

describe('configuration from the environment', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.deepEqual(
      [config.host, config.port, config.dataDir, config.eventstoreUrl, config.databaseUrl, config.apiTokens, config.logLevel, config.readYourWritesTimeoutMs],
      ['127.0.0.1', 8080, './data', null, null, [], 'info', 5000],
    );
  });

  it('parses API_TOKENS and store URLs', () => {
    const config = loadConfig({
      API_TOKENS: 'ops:operator:0123456789, root:admin:abcdefghij:with-colon',
      HOST: '0.0.0.0',
      EVENTSTORE_URL: 'esdb://localhost:2113?tls=false',
      DATABASE_URL: 'mariadb://u:p@db:3306/scheduler',
    });
    assert.deepEqual(config.apiTokens, [
      { name: 'ops', role: 'operator', token: '0123456789' },
      { name: 'root', role: 'admin', token: 'abcdefghij:with-colon' },
    ]);
    assert.equal(config.databaseUrl, 'mysql://u:p@db:3306/scheduler');
    assert.equal(config.eventstoreUrl, 'esdb://localhost:2113?tls=false');
  });

  it('names the variable of every bad value', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      [{ EVENTSTORE_URL: 'http://localhost:2113' }, 'EVENTSTORE_URL'],
      [{ DATABASE_URL: 'postgres://localhost/db' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
      [{ API_TOKENS: 'ops:operator' }, 'API_TOKENS'],
      [{ API_TOKENS: 'ops:root:0123456789' }, 'API_TOKENS'],
      [{ API_TOKENS: 'ops:operator:short' }, 'API_TOKENS'],
      [{ API_TOKENS: 'ops:operator:0123456789,ops:viewer:9876543210' }, 'API_TOKENS'],
      [{ HOST: '0.0.0.0' }, 'HOST'],
      [{ READ_YOUR_WRITES_TIMEOUT_MS: '-1' }, 'READ_YOUR_WRITES_TIMEOUT_MS'],
    ];
    for (const [env, variable] of cases) {
      const error = refusal(env);
      assert.equal(error.variable, variable, JSON.stringify(env));
      assert.ok(error.message.startsWith(`${variable}:`));
    }
  });

  it('never echoes a token in an error', () => {
    const error = refusal({ API_TOKENS: 'ops:superuser:very-secret-token' });
    assert.ok(!error.message.includes('very-secret-token'));
  });
});
