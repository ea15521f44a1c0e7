import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';

const APPLIANCES = {
  OMA_API_URL: 'https://oma.example:8082/',
  OMA_API_TOKEN: 'oma-secret-token',
  OMA_OSSEA_CONFIG_ID: '7',
  VMA_API_URL: 'http://vma.example:8081',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadIntegrationConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`configuration ${JSON.stringify(env)} was accepted`);
}

describe('integration configuration from the environment', () => {
  it('defaults to the simulator with the documented timings', () => {
    assert.deepEqual(loadIntegrationConfig({}), {
      omaApiUrl: null,
      omaApiToken: null,
      omaOsseaConfigId: null,
      omaTargetNetwork: null,
      vmaApiUrl: null,
      vcenterCredentials: {},
      jobPollIntervalSeconds: 30,
      requestTimeoutMs: 10000,
      createTimeoutMs: 120000,
      phantom: { noProgressHours: 2, zeroProgressMinutes: 30 },
      phantomScanIntervalSeconds: 300,
      simulator: { jobDurationSeconds: 60, failureRate: 0.1 },
    });
  });

  it('reads a full appliance configuration', () => {
    const config = loadIntegrationConfig({
      ...APPLIANCES,
      OMA_TARGET_NETWORK: 'replication-net',
      VCENTER_CREDENTIALS: JSON.stringify({ 'VC1.Example': { username: 'svc-repl', password: 'p@ss:word' } }),
      JOB_POLL_INTERVAL_SECONDS: '15',
      OMA_REQUEST_TIMEOUT_MS: '5000',
      OMA_CREATE_TIMEOUT_MS: '90000',
      PHANTOM_NO_PROGRESS_HOURS: '3',
      PHANTOM_ZERO_PROGRESS_MINUTES: '45',
      PHANTOM_SCAN_INTERVAL_SECONDS: '600',
      SIMULATOR_JOB_DURATION_SECONDS: '120',
      SIMULATOR_FAILURE_RATE: '0.25',
    });
    assert.equal(config.omaApiUrl, 'https://oma.example:8082');
    assert.equal(config.vmaApiUrl, 'http://vma.example:8081');
    assert.equal(config.omaApiToken, 'oma-secret-token');
    assert.equal(config.omaOsseaConfigId, 7);
    assert.equal(config.omaTargetNetwork, 'replication-net');
    assert.equal(config.phantomScanIntervalSeconds, 600);
    assert.deepEqual(config.vcenterCredentials, { 'vc1.example': { username: 'svc-repl', password: 'p@ss:word' } });
    assert.deepEqual(
      [config.jobPollIntervalSeconds, config.requestTimeoutMs, config.createTimeoutMs, config.phantom, config.simulator],
      [15, 5000, 90000, { noProgressHours: 3, zeroProgressMinutes: 45 }, { jobDurationSeconds: 120, failureRate: 0.25 }],
    );
  });

  it('names the variable of every bad value', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ OMA_API_URL: APPLIANCES.OMA_API_URL, OMA_API_TOKEN: 't', OMA_OSSEA_CONFIG_ID: '1' }, 'VMA_API_URL'],
      [{ VMA_API_URL: APPLIANCES.VMA_API_URL }, 'OMA_API_URL'],
      [{ ...APPLIANCES, OMA_API_URL: 'ftp://oma' }, 'OMA_API_URL'],
      [{ ...APPLIANCES, VMA_API_URL: 'not a url' }, 'VMA_API_URL'],
      [{ ...APPLIANCES, OMA_API_URL: 'https://user:pw@oma.example' }, 'OMA_API_URL'],
      [{ ...APPLIANCES, OMA_API_TOKEN: '' }, 'OMA_API_TOKEN'],
      [{ ...APPLIANCES, OMA_OSSEA_CONFIG_ID: '' }, 'OMA_OSSEA_CONFIG_ID'],
      [{ ...APPLIANCES, OMA_OSSEA_CONFIG_ID: 'one' }, 'OMA_OSSEA_CONFIG_ID'],
      [{ ...APPLIANCES, OMA_OSSEA_CONFIG_ID: '0' }, 'OMA_OSSEA_CONFIG_ID'],
      [{ VCENTER_CREDENTIALS: '[]' }, 'VCENTER_CREDENTIALS'],
      [{ VCENTER_CREDENTIALS: '{"vc1": "user:pass"}' }, 'VCENTER_CREDENTIALS'],
      [{ VCENTER_CREDENTIALS: '{"vc1": {"username": "u"}}' }, 'VCENTER_CREDENTIALS'],
      [{ VCENTER_CREDENTIALS: '{"vc1": {"username": "", "password": "p"}}' }, 'VCENTER_CREDENTIALS'],
      [{ VCENTER_CREDENTIALS: '{"VC1": {"username": "u", "password": "p"}, "vc1": {"username": "u", "password": "p"}}' }, 'VCENTER_CREDENTIALS'],
      [{ JOB_POLL_INTERVAL_SECONDS: '0' }, 'JOB_POLL_INTERVAL_SECONDS'],
      [{ JOB_POLL_INTERVAL_SECONDS: '1.5' }, 'JOB_POLL_INTERVAL_SECONDS'],
      [{ OMA_REQUEST_TIMEOUT_MS: 'ten' }, 'OMA_REQUEST_TIMEOUT_MS'],
      [{ OMA_CREATE_TIMEOUT_MS: '-5' }, 'OMA_CREATE_TIMEOUT_MS'],
      [{ PHANTOM_NO_PROGRESS_HOURS: '0' }, 'PHANTOM_NO_PROGRESS_HOURS'],
      [{ PHANTOM_ZERO_PROGRESS_MINUTES: 'x' }, 'PHANTOM_ZERO_PROGRESS_MINUTES'],
      [{ PHANTOM_SCAN_INTERVAL_SECONDS: '0' }, 'PHANTOM_SCAN_INTERVAL_SECONDS'],
      [{ PHANTOM_SCAN_INTERVAL_SECONDS: 'five' }, 'PHANTOM_SCAN_INTERVAL_SECONDS'],
      [{ SIMULATOR_JOB_DURATION_SECONDS: '0' }, 'SIMULATOR_JOB_DURATION_SECONDS'],
      [{ SIMULATOR_FAILURE_RATE: '1.5' }, 'SIMULATOR_FAILURE_RATE'],
      [{ SIMULATOR_FAILURE_RATE: '-0.1' }, 'SIMULATOR_FAILURE_RATE'],
    ];
    for (const [env, variable] of cases) {
      const error = refusal(env);
      assert.equal(error.variable, variable, JSON.stringify(env));
      assert.ok(error.message.startsWith(`${variable}:`), error.message);
    }
  });

  it('never echoes a password or the token', () => {
    const password = 'Sup3r-Secret-Pass';
    const broken = [
      `{"vc1": {"username": "u", "password": "${password}"`, // truncated JSON: the parser's message would quote it
      `{"vc1": {"username": 42, "password": "${password}"}}`,
      `["${password}"]`,
      `{"vc1": "${password}"}`,
    ];
    for (const raw of broken) {
      const error = refusal({ VCENTER_CREDENTIALS: raw });
      assert.ok(!error.message.includes(password), error.message);
    }
    const tokenError = refusal({ ...APPLIANCES, VMA_API_URL: '', OMA_API_TOKEN: 'oma-secret-token' });
    assert.ok(!tokenError.message.includes('oma-secret-token'));
  });
});
