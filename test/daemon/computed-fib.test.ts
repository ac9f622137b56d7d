/**
 * The computed FIB of `dataplane: none` (ComputedFib, src/daemon/daemon.ts) tells when the kernel route
 * would have changed: a flush that follows route writes logs `computed FIB changed` at debug level
 * with the CLOCK_MONOTONIC time, the route writes since the last such line and the routes held; a
 * flush with nothing written logs nothing. The convergence benchmark (bench/convergence/) times the
 * FIB from these lines.
 */
import t from 'tap'
import type { BgpLogger } from '../../bgp/session/logger.js'
import { ComputedFib } from '../../src/daemon/daemon.js'

interface Rec {
  readonly level: string
  readonly fields: Record<string, unknown>
  readonly msg: string | undefined
}

function recorder(): { log: BgpLogger; recs: Rec[] } {
  const recs: Rec[] = []
  const at = (level: string) => (fields: object, msg?: string): void => {
    recs.push({ level, fields: fields as Record<string, unknown>, msg })
  }
  const log: BgpLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log }
  return { log, recs }
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6

t.test('a flush after route writes is logged with its monotonic time; an empty one is not', async (t) => {
  const { log, recs } = recorder()
  const fib = new ComputedFib('198.18.1.2', log)
  fib.setTables([{ table: 1000, label: 1000 }])
  await fib.flush()
  t.same(recs, [], 'nothing written: nothing logged')

  const before = now()
  fib.setRoute({ table: 1000, prefix: '10.244.1.5/32', nexthops: [{ kind: 'mpls', vrouter: '198.19.0.1', label: 100 }] })
  fib.setRoute({ table: 1000, prefix: '10.244.1.6/32', nexthops: [{ kind: 'mpls', vrouter: '198.19.0.1', label: 100 }] })
  await fib.flush()
  const after = now()
  t.equal(recs.length, 1, 'one line for the flush')
  const r = recs[0] as Rec
  t.equal(r.level, 'debug')
  t.equal(r.msg, 'computed FIB changed')
  t.equal(r.fields.writes, 2, 'the two writes since the last line')
  t.equal(r.fields.routes, 2, 'routes held')
  const at = r.fields.monotonicMs as number
  t.ok(at >= before && at <= after, 'CLOCK_MONOTONIC, taken during the flush')

  await fib.flush()
  t.equal(recs.length, 1, 'a second flush with nothing new: no line')
  t.ok(fib.deleteRoute(1000, '10.244.1.5/32'))
  await fib.flush()
  t.equal(recs.length, 2, 'a deletion is a change too')
  t.equal((recs[1] as Rec).fields.writes, 1)
  t.equal((recs[1] as Rec).fields.routes, 1)
  t.equal(fib.state().flushes, 4, 'every flush still counted')
})

t.test('without a logger the computed FIB works as before', async (t) => {
  const fib = new ComputedFib('198.18.1.2')
  fib.setTables([{ table: 1000, label: 1000 }])
  fib.setRoute({ table: 1000, prefix: '10.244.1.5/32', nexthops: [{ kind: 'mpls', vrouter: '198.19.0.1', label: 100 }] })
  await fib.flush()
  t.equal(fib.state().desiredRoutes, 1)
  t.equal(fib.state().tunnels.length, 1, 'the tunnel the route would need')
})
