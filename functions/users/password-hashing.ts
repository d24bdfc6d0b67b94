/**
 * Admission for argon2id work. Hashing runs on libuv's thread pool (4 threads by default),
 * which RSA signing of access tokens shares (functions/tokens/access-token.ts): unbounded
 * password hashing starves token issuance. At most `concurrency` hashes run at once per
 * process, at most `queue` more wait for a slot, and anything beyond that is refused at once
 * with 503 and Retry-After, so machine tokens keep flowing while password routes are flooded.
 *
 * A caller takes its place with `enter()` before any other work: a login that will be refused
 * is refused before it reads storage or reserves an attempt against the username's lockout,
 * and one that is admitted keeps its place while it does both.
 *
 * Parameters are OWASP's for argon2id (m=19456 KiB, t=2, p=1).
 */
import argon2 from "./argon2.js"; // loaded on first hash, not at cold start
import { TemporarilyUnavailable } from "../errors.js";

export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface HashingLimits {
  /** Hashes running at once in this process. */
  concurrency: number;
  /** Callers holding a place beyond the running ones before new ones get 503. */
  queue: number;
}

/** A place at the gate, used once: `run` waits for a slot and runs the hash; `release` gives an unused place back. */
export interface HashingPlace {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Idempotent; `run` releases by itself when its work settles. */
  release(): void;
}

export class PasswordHashing {
  /** Places handed out and not yet released (running, waiting for a slot, or about to). */
  #admitted = 0;
  #running = 0;
  #waiting: (() => void)[] = [];

  constructor(private readonly limits: HashingLimits) {}

  async hash(password: string, place: HashingPlace = this.enter()): Promise<string> {
    return place.run(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /**
   * A hash outside the gate, for the one dummy hash an instance makes (users.ts): the login
   * that needs it already holds a place, and with a single slot it would wait for itself.
   */
  hashOnce(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  /** False for a wrong password and for a malformed stored hash. */
  async verify(hash: string, password: string, place: HashingPlace = this.enter()): Promise<boolean> {
    return place.run(() => argon2.verify(hash, password).catch(() => false));
  }

  /** Takes a place now, or throws 503 with Retry-After when every slot and queue place is taken. */
  enter(): HashingPlace {
    if (this.#admitted >= this.limits.concurrency + this.limits.queue) {
      throw new TemporarilyUnavailable("too many password checks in progress; try again shortly", 1);
    }
    this.#admitted++;
    let held = true;
    const release = () => {
      if (held) {
        held = false;
        this.#admitted--;
      }
    };
    return {
      run: async (work) => {
        try {
          return await this.#inSlot(work);
        } finally {
          release();
        }
      },
      release,
    };
  }

  /** Runs `work` in a hashing slot: now, after waiting in the queue, or not at all (a 503 rejection). */
  async admit<T>(work: () => Promise<T>): Promise<T> {
    return this.enter().run(work);
  }

  async #inSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.limits.concurrency) {
      this.#running++;
    } else {
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
