/**
 * Whether the current turn of the event loop has already paid for a heavy growth: a RIB or gateway
 * table outgrowing its typed arrays or hash slots. At full-table sizes one growth costs tens of ms
 * (the copy, the new pages' faults, the rehash) and cannot be split, but the work that would follow
 * it in the same turn can wait: the sessions stop reading (bgp/session/read-budget.ts) and the
 * speaker's commit slice moves to the next turn, so a growth never adds to a full turn's work and a
 * local API query waits behind one growth at most (the CLI target, 100 ms during a full-table load,
 * was missed by turns that held a growth of the RIB's table and a rehash of the gateway's, 116 ms).
 *
 * The mark clears in the next check phase (setImmediate), after the work already queued there.
 */

/** Arrays of at least this size make a growth heavy: below it a copy is well under a millisecond. */
export const HEAVY_GROWTH_BYTES = 1 << 20

let heavy = false

function clear(): void {
  heavy = false
}

/** Notes an allocation or copy of `bytes` for a growth; marks the turn heavy when it is large. */
export function noteGrowth(bytes: number): void {
  if (bytes < HEAVY_GROWTH_BYTES || heavy) return
  heavy = true
  setImmediate(clear)
}

/** True when a heavy growth happened in this turn of the event loop (see the module doc). */
export function heavyGrowthThisTurn(): boolean {
  return heavy
}

// The mark's branch gets type feedback at load: V8 records none in a function's first calls (lazy
// feedback allocation), and optimized code reaching the setImmediate with none deoptimized the
// rehash it was inlined into, the first time a table grew past 1 MiB (seen with --trace-deopt).
for (let i = 0; i < 64; i++) {
  noteGrowth(HEAVY_GROWTH_BYTES)
  clear()
}
