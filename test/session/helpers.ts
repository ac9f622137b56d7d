/**
 * Helpers for session tests: wait for a session state or event with a deadline, and pairs of our
 * own sessions over loopback (127.0.0.1 and 127.0.0.2, listener on an ephemeral port).
 */
import { BgpListener, Session } from '../../bgp/session/index.js'
import type { ListenerOptions, SessionConfig } from '../../bgp/session/index.js'
import type { State } from '../../bgp/fsm/index.js'

export function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      setTimeout(tick, 20)
    }
    tick()
  })
}

export function waitState(s: Session, state: State, timeoutMs = 5000): Promise<void> {
  return waitFor(() => s.state === state, timeoutMs, `${s.name} to reach ${state} (is ${s.state})`)
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface Pair {
  a: Session
  b: Session
  listenerA?: BgpListener
  listenerB: BgpListener
  close(): Promise<void>
}

/**
 * A (127.0.0.1) connects to B (127.0.0.2, listening). With `bothActive`, A listens too and B
 * connects as well (collisions).
 */
export async function makePair(
  common: Partial<SessionConfig>,
  a: Partial<SessionConfig> = {},
  b: Partial<SessionConfig> = {},
  opts: { bothActive?: boolean; listenerB?: Partial<ListenerOptions> } = {},
): Promise<Pair> {
  const listenerB = new BgpListener({ host: '127.0.0.2', port: 0, ...opts.listenerB })
  const portB = await listenerB.listen()
  let listenerA: BgpListener | undefined
  let portA = 1
  if (opts.bothActive === true) {
    listenerA = new BgpListener({ host: '127.0.0.1', port: 0 })
    portA = await listenerA.listen()
  }
  const base: Omit<SessionConfig, 'peerAddress' | 'peerAs' | 'localAs' | 'localId'> = {
    holdTime: 9,
    families: [0x0101],
    connectRetryTime: 1,
    idleHoldTime: 0.2 as number,
    ...common,
  }
  const sa = new Session(
    { ...base, name: 'A', localAs: 65001, localId: 0x01010101, peerAs: 65002, peerAddress: '127.0.0.2', peerPort: portB, localAddress: '127.0.0.1', ...a },
    listenerA ? { listener: listenerA } : {},
  )
  const sb = new Session(
    {
      ...base,
      name: 'B',
      localAs: 65002,
      localId: 0x02020202,
      peerAs: 65001,
      peerAddress: '127.0.0.1',
      peerPort: portA,
      localAddress: '127.0.0.2',
      passive: opts.bothActive !== true,
      ...b,
    },
    { listener: listenerB },
  )
  return {
    a: sa,
    b: sb,
    listenerB,
    ...(listenerA ? { listenerA } : {}),
    async close() {
      await Promise.all([sa.destroy(), sb.destroy()])
      await listenerB.close()
      await listenerA?.close()
    },
  }
}
