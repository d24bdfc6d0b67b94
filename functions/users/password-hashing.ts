/**
 * Admission for argon2id work. Hashing runs on libuv's thread pool (4 threads by default),
 * which RSA signing of access tokens shares (functions/tokens/access-token.ts): unbounded
 * password hashing starves token issuance. At most `concurrency` hashes run at once per
 * process, at most `queue` more wait for a slot, and anything beyond that is refused at once
 * with 503 and Retry-After, so machine tokens keep flowing while password routes are flooded.
 *
 * Parameters are OWASP's for argon2id (m=19456 KiB, t=2, p=1).
 */
import argon2 from "./argon2.js"; // loaded on first hash, not at cold start
import { TemporarilyUnavailable } from "../errors.js";

export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface HashingLimits {
  /** Hashes running at once in this process. */
  concurrency: number;
  /** Callers waiting for a slot before new ones get 503. */
  queue: number;
}

export class PasswordHashing {
  #running = 0;
  #waiting: (() => void)[] = [];

  constructor(private readonly limits: HashingLimits) {}

  hash(password: string): Promise<string> {
    return this.admit(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /** False for a wrong password and for a malformed stored hash. */
  verify(hash: string, password: string): Promise<boolean> {
    return this.admit(() => argon2.verify(hash, password).catch(() => false));
  }

  /**
   * Throws the 503 `admit` would give if a check arrived now: every slot busy and the queue
   * full. Password routes call it before their storage reads, so a sustained flood is turned
   * away without the reads it would otherwise make before reaching the gate (under a 64-login
   * flood those reads, not the hashing, kept the local server's event loop busy; issue 15).
   */
  refuseWhenFull(): void {
    if (this.#running >= this.limits.concurrency && this.#waiting.length >= this.limits.queue) {
      throw new TemporarilyUnavailable("too many password checks in progress; try again shortly", 1);
    }
  }

  /** Runs `work` in a hashing slot: now, after waiting in the queue, or not at all (503). */
  async admit<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.limits.concurrency) {
      this.#running++;
    } else {
      this.refuseWhenFull();
      await new Promise<void>((resolve) => this.#waiting.push(resolve)); // the releasing caller hands its slot over
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
