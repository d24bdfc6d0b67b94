/**
 * Run as a local server's entry point would be (test/unit/thread-pool.test.ts): queues more
 * work on libuv's thread pool than any pool size in the tests, then prints the process's
 * thread count (Linux) and the pool size it was started with, as JSON.
 */
import { readdirSync } from "node:fs";
import { pbkdf2 } from "node:crypto";

await Promise.all(Array.from({ length: 32 }, () => new Promise((done) => pbkdf2("probe", "salt", 1000, 32, "sha256", done))));
process.stdout.write(JSON.stringify({ threads: readdirSync("/proc/self/task").length, size: process.env.UV_THREADPOOL_SIZE ?? null }));
