/**
 * BGP session scenarios that run INSIDE a test's network namespace (called through NsWorker from
 * test/session/bind-device.test.ts): our Session and BgpListener with `bindDevice`, left running
 * between calls (module state) and reported as plain JSON facts.
 */
import { BgpListener, Session } from '../../bgp/session/index.js'
import type { State } from '../../bgp/fsm/index.js'

const sessions: Session[] = []
const listeners: BgpListener[] = []

/** A listener on `port` (bound to `bindDevice` if given) with a passive session for `peerAddress`. */
export async function listen(o: { port: number; bindDevice?: string; peerAddress: string }): Promise<{ port: number }> {
  const listener = new BgpListener({ port: o.port, ...(o.bindDevice !== undefined ? { bindDevice: o.bindDevice } : {}) })
  const port = await listener.listen()
  listeners.push(listener)
  const s = new Session(
    { name: `passive-${port}`, localAs: 65002, localId: 0x02020202, peerAs: 65001, peerAddress: o.peerAddress, holdTime: 9, families: [0x0101], passive: true },
    { listener },
  )
  sessions.push(s)
  s.start()
  return { port }
}

/**
 * An active session to `peerAddress:port` (bound to `bindDevice` if given); waits up to `waitMs`
 * for Established and reports the state, the device its socket was bound to, and the last error.
 */
export async function connect(o: { peerAddress: string; port: number; bindDevice?: string; waitMs: number }): Promise<{
  state: State; device: string | null; error: string | null
}> {
  const s = new Session({
    name: `active-${o.port}`, localAs: 65001, localId: 0x01010101, peerAs: 65002, peerAddress: o.peerAddress, peerPort: o.port,
    holdTime: 9, families: [0x0101], connectRetryTime: 1, idleHoldTime: 0.2,
    ...(o.bindDevice !== undefined ? { bindDevice: o.bindDevice } : {}),
  })
  sessions.push(s)
  s.start()
  const deadline = Date.now() + o.waitMs
  while (s.state !== 'Established' && Date.now() < deadline) await new Promise(r => setTimeout(r, 25))
  const st = s.stats()
  return { state: s.state, device: st.connection?.device ?? null, error: st.lastError?.detail ?? null }
}

/** The state and bound device of the passive session listening on `port`. */
export function passive(port: number): { state: State; device: string | null } {
  const s = sessions.find(x => x.name === `passive-${port}`)
  if (s === undefined) throw new Error(`no passive session on port ${port}`)
  return { state: s.state, device: s.stats().connection?.device ?? null }
}

export async function stopAll(): Promise<void> {
  await Promise.all(sessions.splice(0).map(s => s.destroy()))
  await Promise.all(listeners.splice(0).map(l => l.close()))
}
