/**
 * Bearer-token auth with roles (viewer < operator < admin). Without configured
 * tokens auth is off (the service then only listens on loopback, see config.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ApiToken, Role } from '../config.js';
import { ApiError } from './api-error.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export interface Principal {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role a route needs; by default GET/HEAD need viewer and writes operator. */
    minRole?: Role;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin' };

/** The configured tokens as bytes, made once per configuration (not per request). */
const tokenBytes = new WeakMap<ApiToken[], Buffer[]>();

function bytesOf(tokens: ApiToken[]): Buffer[] {
  let bytes = tokenBytes.get(tokens);
  if (!bytes) {
    bytes = tokens.map((candidate) => Buffer.from(candidate.token));
    tokenBytes.set(tokens, bytes);
  }
  return bytes;
}

function sameSecret(known: Buffer, presented: Buffer): boolean {
  return known.length === presented.length && timingSafeEqual(known, presented);
}

export function requiredRole(request: FastifyRequest): Role {
  const configured = request.routeOptions.config?.minRole;
  if (configured) return configured;
  return request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'operator';
}

/** Finds the caller and checks the route's role; throws 401/403 in the error shape. */
export function authenticate(tokens: ApiToken[], request: FastifyRequest): Principal {
  if (tokens.length === 0) return ANONYMOUS;
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw new ApiError('Unauthorized', 'missing or malformed Authorization header (expected "Bearer <token>")');
  const presented = Buffer.from(match[1]);
  const known = bytesOf(tokens);
  const found = tokens.find((_candidate, index) => sameSecret(known[index]!, presented));
  if (!found) throw new ApiError('Unauthorized', 'unknown token');
  const principal = { name: found.name, role: found.role };
  const needed = requiredRole(request);
  if (RANK[principal.role] < RANK[needed]) {
    throw new ApiError('Forbidden', `role ${principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}; it needs ${needed}`);
  }
  return principal;
}
