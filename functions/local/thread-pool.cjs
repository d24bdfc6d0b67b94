/**
 * Preloaded by `npm start` (`node --require ./functions/local/thread-pool.cjs --import tsx ...`)
 * and by the bench's server: sizes libuv's thread pool to this machine's cores before anything
 * uses it.
 *
 * The pool signs tokens (crypto.sign's callback form) and hashes passwords (argon2). libuv
 * reads UV_THREADPOOL_SIZE once, when the first task is queued, and defaults to 4 threads
 * whatever the machine. Both kinds of work are CPU-bound: on 2 cores, four signatures at once
 * time-slice with each other and with the event loop (more context switches, each one costly
 * on a virtualised host), and on 16 cores twelve threads' worth of cores sit idle. Measured
 * side by side on the 2-core bench host (2026-12-07, bench:clients' load on two servers over
 * one storage, six interleaved pairs of 3 s runs): 2 threads against 4 gave +12% tokens/s, -7%
 * CPU per token and -14% event-loop CPU per token (5 of 6 pairs); 3 against 2 gave nothing.
 *
 * Why a CommonJS preload: on Node 20 an ES module entry point is read through the pool, so by
 * the time its first line runs the pool already exists and setting the variable there changes
 * nothing (Node 22 reads it without the pool, but Node 20 is supported too). `--require` runs
 * first on both (thread counts checked on 20.20 and 22.23).
 *
 * At least 2 threads, so one password hash never holds up every signature (the hashing gate
 * lets cores - 1 hashes run, at least one: functions/config.ts). An operator's own
 * UV_THREADPOOL_SIZE wins. Lambda is not sized here: an instance serves one request at a time
 * and signs on its event loop.
 */
"use strict";
const { availableParallelism } = require("node:os");

process.env.UV_THREADPOOL_SIZE ||= String(Math.max(2, availableParallelism()));
