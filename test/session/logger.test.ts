/**
 * bgp/'s logger interface: a pino logger and its children fit BgpLogger as they are (checked by the
 * compiler here, and by writing through one), the silent default's children are silent, and
 * LogLimiter lets one line per key per interval through, then reports how many it left out.
 */
import t from 'tap'
import { pino } from 'pino'
import { LogLimiter, silentLogger, type BgpLogger } from '../../bgp/session/logger.js'

t.test('a pino logger is a BgpLogger; child bindings reach the line', async (t) => {
  const lines: Record<string, unknown>[] = []
  const root: BgpLogger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) })
  const peer = root.child({ peer: 'tgw-a' })
  peer.debug({ n: 1 }, 'debug line')
  peer.info({ n: 2 }, 'info line')
  peer.warn({ n: 3 }, 'warn line')
  peer.error({ n: 4 }, 'error line')
  t.same(lines.map((l) => [l.level, l.peer, l.n, l.msg]), [
    [20, 'tgw-a', 1, 'debug line'],
    [30, 'tgw-a', 2, 'info line'],
    [40, 'tgw-a', 3, 'warn line'],
    [50, 'tgw-a', 4, 'error line'],
  ])
})

t.test('the silent logger and its children write nothing and do not throw', async (t) => {
  const c = silentLogger.child({ peer: 'x' })
  t.equal(c, silentLogger)
  c.error({ err: 'e' }, 'nothing')
  t.pass('no output, no throw')
})

t.test('LogLimiter: one line per key per interval, then the count left out', async (t) => {
  let now = 1000
  const l = new LogLimiter(10_000, () => now)
  t.equal(l.admit('a'), 0, 'first event of a key: logged')
  t.equal(l.admit('a'), -1, 'within the interval: left out')
  t.equal(l.admit('a'), -1)
  t.equal(l.admit('b'), 0, 'another key has its own interval')
  now += 9_999
  t.equal(l.admit('a'), -1, 'still within the interval')
  now += 1
  t.equal(l.admit('a'), 3, 'after the interval: logged, saying 3 were left out')
  t.equal(l.admit('a'), -1)
  now += 10_000
  t.equal(l.admit('a'), 1)
  now += 10_000
  t.equal(l.admit('a'), 0, 'nothing left out since')
})
