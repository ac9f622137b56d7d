/**
 * A budget of bytes read from BGP sockets per turn of the event loop, shared by every session of the
 * process. libuv reads a readable TCP socket up to 32 times 64 KiB in one go, and the session decodes
 * and ingests each chunk at once: a peer sending a full table would hold the loop for hundreds of ms
 * per turn (2 MB is about 125,000 VPN routes), and the local API, the other sessions' keepalives and
 * the RIB's commit slices would wait behind it. Past the budget the socket is paused (libuv stops
 * reading it; the bytes wait in the kernel, which is TCP's own flow control toward the peer) and
 * resumed after the other ready sockets and the check phase have had their turn.
 *
 * A turn that has paid for a big table's growth stops reading too (bgp/session/heavy-turn.ts).
 *
 * 64 KiB is about 4,000 packed VPN routes, a few ms of decoding and RIB work: the figure keeps a
 * query's wait under the 100 ms the CLI target allows while costing two system calls per 64 KiB.
 */
import type { Socket } from 'node:net'
import { heavyGrowthThisTurn } from './heavy-turn.js'

export const READ_BUDGET_BYTES = 64 * 1024

let used = 0
let scheduled = false
const paused = new Set<Socket>()

function endTurn(): void {
  scheduled = false
  used = 0
  const resume = [...paused]
  paused.clear()
  for (const s of resume) if (!s.destroyed) s.resume()
}

/** Counts `bytes` just read from `socket`; pauses it until the next turn when the budget is spent. */
export function chargeRead(socket: Socket, bytes: number): void {
  used += bytes
  if (!scheduled) {
    scheduled = true
    setImmediate(endTurn)
  }
  // A turn that already grew a big table reads no more (bgp/session/heavy-turn.ts): this chunk is the last
  if ((used >= READ_BUDGET_BYTES || heavyGrowthThisTurn()) && !paused.has(socket)) {
    socket.pause()
    paused.add(socket)
  }
}
