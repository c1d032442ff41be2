import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const ROLES = ['viewer', 'responder', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  name: string;
  role: Role;
}

export interface TokenEntry {
  name: string;
  role: Role;
  token: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role allowed to call the route. */
    role?: Role;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Resolves bearer tokens to principals. Tokens are compared as SHA-256 digests in constant time,
 * so neither a token's length nor its prefix leaks through timing.
 */
export function createAuthenticator(tokens: readonly TokenEntry[]) {
  const entries = tokens.map((t) => ({ principal: { name: t.name, role: t.role }, hash: digest(t.token) }));
  return (header: string | undefined): Principal | undefined => {
    if (!header?.startsWith('Bearer ')) return undefined;
    const presented = digest(header.slice(7).trim());
    let found: Principal | undefined;
    for (const e of entries) if (timingSafeEqual(e.hash, presented)) found = e.principal;
    return found;
  };
}

export function hasRole(principal: Principal, needed: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}

/** An onRequest hook: 401 without a valid token, 403 when the token's role is below the route's. */
export function requireRole(authenticate: () => (header: string | undefined) => Principal | undefined, onReject: (reason: string) => void) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const needed = request.routeOptions.config.role ?? 'admin';
    const principal = authenticate()(request.headers.authorization);
    if (!principal) {
      onReject('unauthenticated');
      return reply.code(401).header('WWW-Authenticate', 'Bearer realm="vigil"').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
    }
    if (!hasRole(principal, needed)) {
      onReject('forbidden');
      return reply.code(403).send({ error: 'forbidden', message: `role ${principal.role} may not do this; it needs ${needed}` });
    }
    request.principal = principal;
  };
}
