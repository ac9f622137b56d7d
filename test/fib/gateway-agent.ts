/**
 * Test harness, not a test: the gateway side of the kernel tests, run as a child process inside the
 * gateway's network namespace (`ip netns exec NS node --import tsx test/fib/gateway-agent.ts`). It
 * drives OUR code only (FibWriter, reconcileGre, cleanup over IprouteKernel) and takes commands as
 * JSON lines on stdin, answering one JSON line each on stdout: {id, ok, result | error}.
 * Closing stdin stops it (the FIB writer stops; the kernel state stays, as after a daemon exit).
 */
import { createInterface } from 'node:readline'
import { reconcileGre } from '../../gre/index.js'
import { cleanup, FibWriter, IprouteKernel } from '../../src/fib/index.js'

const localAddress = process.argv[2] ?? '10.0.1.10'
const kernel = new IprouteKernel()
let writer: FibWriter | undefined
const getWriter = (): FibWriter => {
  writer ??= new FibWriter({ kernel, localAddress, resyncIntervalMs: Number(process.env.GSI_RESYNC_MS ?? 0), repairDelayMs: 20, retryMs: 200 })
  return writer
}

type Cmd = { id: number; cmd: string; [k: string]: unknown }

async function handle(c: Cmd): Promise<unknown> {
  const w = getWriter()
  switch (c.cmd) {
    case 'gre': return reconcileGre(kernel, c.peers as never)
    case 'tables': w.setTables(c.tables as never); return null
    case 'start': await w.start(); return w.counters()
    case 'routes': w.replaceAll(c.routes as never); await w.flush(); return w.counters()
    case 'delete': return w.deleteRoute(c.table as number, c.prefix as string)
    case 'flush': await w.flush(); return w.counters()
    case 'ready': await w.markReady(); return w.counters()
    case 'resync': await w.resync(); return w.counters()
    case 'idle': await w.idle(); return w.counters()
    case 'state': return { counters: w.counters(), state: w.state() }
    case 'cleanup': w.stop(); return cleanup(kernel)
    default: throw new Error(`unknown command ${c.cmd}`)
  }
}

const rl = createInterface({ input: process.stdin })
let chain: Promise<void> = Promise.resolve()
rl.on('line', line => {
  chain = chain.then(async () => {
    let c: Cmd
    try { c = JSON.parse(line) as Cmd } catch { return }
    try {
      const result = await handle(c)
      process.stdout.write(JSON.stringify({ id: c.id, ok: true, result }) + '\n')
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: c.id, ok: false, error: e instanceof Error ? e.message : String(e) }) + '\n')
    }
  })
})
rl.on('close', () => { void chain.then(() => { writer?.stop(); process.exit(0) }) })
process.stdout.write(JSON.stringify({ id: 0, ok: true, result: 'ready' }) + '\n')
