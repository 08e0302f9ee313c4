/**
 * The V8 flags the relay runs with: `sfu-relay` (its shebang, bin/sfu-relay.mjs), every worker
 * process (workers/worker-process.ts), `npm start`/`npm run relay`, and the benchmark's relay. An
 * embedder calling startRelay() in its own process passes them to `node` itself.
 *
 * `--max-semi-space-size=16` (MB): V8 grows its young generation with the allocation rate, and a relay
 * allocates with every packet, so at 24,000 forwarded packets/s it grew to 128 MB of RSS that is
 * neither live data nor per participant. Capped at 16 MB, the same fanout of 100 subscribers measured
 * 657 vs 1437 kB of RSS per participant, 17.0 vs 21.1 µs of CPU per forwarded packet and an event loop
 * delay p99 of 52 vs 88 ms (one run each, `RELAY_NODE_FLAGS=... npm run bench -- --servers relay
 * --scenarios fanout --fanout-steps 50,100`): collections are more frequent but smaller and stay in cache.
 */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=16"];
