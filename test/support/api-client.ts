/** A small client over app.inject for API tests: JSON in, status and JSON out. */
import type { FastifyInstance } from 'fastify';

export interface Answer<T = Record<string, any>> {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
  body: T;
  headers: Record<string, unknown>;
}

export function apiClient(app: FastifyInstance, defaults: { token?: string } = {}) {
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await app.inject({
      method,
      url: url.startsWith('/api/') || url.startsWith('/health') || url.startsWith('/docs') ? url : `/api/v1${url}`,
      payload: payload === undefined ? undefined : JSON.stringify(payload),
      headers: {
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...(defaults.token ? { authorization: `Bearer ${defaults.token}` } : {}),
        ...headers,
      },
    });
    let body: Record<string, any> = {};
    try {
      body = response.body === '' ? {} : (JSON.parse(response.body) as Record<string, any>);
    } catch {
      body = { raw: response.body };
    }
    return { status: response.statusCode, body, headers: response.headers };
  };
  return {
    get: (url: string, headers?: Record<string, string>) => call('GET', url, undefined, headers),
    post: (url: string, payload?: unknown, headers?: Record<string, string>) => call('POST', url, payload ?? {}, headers),
    put: (url: string, payload: unknown, headers?: Record<string, string>) => call('PUT', url, payload, headers),
    patch: (url: string, payload: unknown, headers?: Record<string, string>) => call('PATCH', url, payload, headers),
    delete: (url: string, headers?: Record<string, string>) => call('DELETE', url, undefined, headers),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
