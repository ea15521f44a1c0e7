/**
 * The VMA client over HTTP (spec/integrations.md): discovery and the VMA's view
 * of a job. Discovery is a POST but only reads vCenter, so, like the status GET,
 * it is retried on transport failures and 5xx. vCenter credentials come from
 * configuration by host and appear in no message.
 */
import { MissingCredentialsError } from './gateway-errors.js';
import { applianceUrl, DEFAULT_READ_RETRIES, exchangeWithRetries, readOkAnswer, type Appliance, type ExchangeRequest, type RetryPolicy } from './http-exchange.js';
import type { VcenterCredentials } from './integration-config.js';
import type { DiscoveredVm, DiscoveryRequest, VmaDiscovery, VmaJobStatus } from './replication-gateway.js';
import { readDiscoveryAnswer, readVmaJobStatus } from './vma-answers.js';

export interface VmaClientOptions {
  baseUrl: string;
  /** By vCenter host; looked up case-insensitively. */
  vcenterCredentials: Readonly<Record<string, VcenterCredentials>>;
  requestTimeoutMs: number;
  readRetries?: RetryPolicy;
}

export function createVmaDiscoveryClient(options: VmaClientOptions): VmaDiscovery {
  const credentialsByHost = new Map(Object.entries(options.vcenterCredentials).map(([host, credentials]) => [host.trim().toLowerCase(), credentials]));
  const vma: Appliance = { label: 'VMA', secrets: [...credentialsByHost.values()].map((credentials) => credentials.password) };
  const readRetries = options.readRetries ?? DEFAULT_READ_RETRIES;

  async function discover(request: DiscoveryRequest): Promise<DiscoveredVm[]> {
    const credentials = credentialsByHost.get(request.vcenter.trim().toLowerCase());
    if (credentials === undefined) throw new MissingCredentialsError(request.vcenter);
    const post: ExchangeRequest = {
      method: 'POST',
      url: applianceUrl(options.baseUrl, '/api/v1/discover'),
      json: {
        vcenter: request.vcenter,
        username: credentials.username,
        password: credentials.password,
        datacenter: request.datacenter,
        ...(request.filter === undefined ? {} : { filter: request.filter }),
      },
      timeoutMs: options.requestTimeoutMs,
    };
    return readOkAnswer(vma, post, await exchangeWithRetries(vma, post, readRetries), readDiscoveryAnswer);
  }

  async function jobStatus(jobId: string): Promise<VmaJobStatus | 'unknown'> {
    const get: ExchangeRequest = {
      method: 'GET',
      url: applianceUrl(options.baseUrl, `/api/v1/status/${encodeURIComponent(jobId)}`),
      timeoutMs: options.requestTimeoutMs,
    };
    const answer = await exchangeWithRetries(vma, get, readRetries);
    // 404: the VMA does not know the job (phantom rule 1).
    if (answer.status === 404) return 'unknown';
    return readOkAnswer(vma, get, answer, readVmaJobStatus);
  }

  return { discover, jobStatus };
}
