/**
 * A turn of the event loop that grew a big table does no more of the work that can wait: the mark
 * set by a large allocation (bgp/session/heavy-turn.ts), its end at the next check phase, and the
 * sessions' read budget pausing a socket for the rest of that turn (bgp/session/read-budget.ts).
 */
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { allocated, grown } from '../../bgp/rib/grow.js'
import { HEAVY_GROWTH_BYTES, heavyGrowthThisTurn } from '../../bgp/session/heavy-turn.js'
import { chargeRead } from '../../bgp/session/read-budget.js'

const nextCheckPhase = (): Promise<void> => new Promise((r) => setImmediate(r))

t.test('a large growth marks the turn heavy until the next check phase; small ones do not', async (t) => {
  await nextCheckPhase()
  t.equal(heavyGrowthThisTurn(), false, 'a fresh turn is not heavy')
  grown(new Int32Array(1024), 2048)
  allocated(new Uint8Array(0), HEAVY_GROWTH_BYTES - 1)
  t.equal(heavyGrowthThisTurn(), false, 'arrays under 1 MiB do not count')
  const big = grown(new Int32Array(HEAVY_GROWTH_BYTES / 8), HEAVY_GROWTH_BYTES / 4)
  t.equal(big.length * 4, HEAVY_GROWTH_BYTES)
  t.equal(heavyGrowthThisTurn(), true, 'a 1 MiB growth marks the turn')
  await nextCheckPhase()
  t.equal(heavyGrowthThisTurn(), false, 'the mark ends at the next check phase')
})

t.test('a session socket read in a heavy turn pauses until the next turn', async (t) => {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const accepted = new Promise<Socket>((r) => server.once('connection', r))
  const client = connect((server.address() as { port: number }).port, '127.0.0.1')
  const peer = await accepted
  t.teardown(() => { client.destroy(); peer.destroy(); server.close() })
  peer.resume()
  await nextCheckPhase()

  chargeRead(peer, 100)
  t.equal(peer.isPaused(), false, 'a small read in an ordinary turn: the socket keeps reading')
  allocated(new Int32Array(0), HEAVY_GROWTH_BYTES)
  chargeRead(peer, 100)
  t.equal(peer.isPaused(), true, 'after a big growth in the same turn the socket is paused')
  await nextCheckPhase()
  await nextCheckPhase()
  t.equal(peer.isPaused(), false, 'resumed at the next turn')
})
