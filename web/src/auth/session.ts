import type { TokenSource } from '../api.js';
import { readJson, type KeyValueStorage } from '../storage.js';
import { decodeClaims, type TokenClaims } from './jwt.js';

/** A signed-in user as the UI and the outbox see them. */
export interface Session {
  /** The bearer token (the ID token in Cognito mode). */
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** The token's `sub`: the user id, and the namespace of this user's local data. */
  sub: string;
  /** What to show: username or email. */
  name: string;
}

export interface Auth extends TokenSource {
  readonly mode: 'local' | 'cognito';
  /** The stored session, even if its token needs a refresh; null when signed out. */
  session(): Session | null;
  /** Called when the API refused a fresh token: forget it and show sign-in. */
  expire(reason: string): void;
  signOut(): void;
  /** Fires on sign-in, refresh, expiry and sign-out, also from other tabs. */
  subscribe(listener: () => void): () => void;
  /** Why the last session ended, for the sign-in screen. */
  notice(): string | null;
}

export function sessionFromToken(token: string, fallbackName = ''): Session {
  const claims = decodeClaims(token);
  if (!claims.sub || typeof claims.exp !== 'number') throw new Error('Token has no sub or exp');
  return {
    token,
    expiresAt: claims.exp * 1000,
    sub: claims.sub,
    name: displayName(claims, fallbackName),
  };
}

/** A Cognito-generated username: a UUID, meaningless to the person it names. */
const GENERATED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who is signed in, as that person would recognise it: a preferred name,
 * then the email (a pool that signs in by email generates `cognito:username`
 * as a UUID), then a username that is not generated, then `fallbackName`.
 */
export function displayName(claims: TokenClaims, fallbackName = ''): string {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
  const username = text(claims['cognito:username']) ?? text(claims.username);
  return (
    text(claims.preferred_username) ??
    text(claims.name) ??
    text(claims.email) ??
    (username && !GENERATED.test(username) ? username : undefined) ??
    (fallbackName || username || '')
  );
}

/** A small listener set, with `storage` events from other tabs fanned in. */
export function changeNotifier(storageKey: string): { notify(): void; subscribe(listener: () => void): () => void } {
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  if (typeof addEventListener === 'function') {
    addEventListener('storage', (e: StorageEvent) => {
      if (e.key === storageKey || e.key === null) notify();
    });
  }
  return {
    notify,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function loadStored<T>(storage: KeyValueStorage, key: string): T | null {
  return readJson<T>(storage, key) ?? null;
}
