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

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
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
  const presented = match[1];
  const found = tokens.find((candidate) => sameSecret(candidate.token, presented));
  if (!found) throw new ApiError('Unauthorized', 'unknown token');
  const principal = { name: found.name, role: found.role };
  const needed = requiredRole(request);
  if (RANK[principal.role] < RANK[needed]) {
    throw new ApiError('Forbidden', `role ${principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}; it needs ${needed}`);
  }
  return principal;
}
