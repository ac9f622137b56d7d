/**
 * Child side of NsWorker (ns-worker.ts): runs inside a network namespace (started under
 * `ip netns exec`), reads JSON-lines requests { id, module, fn, args } on stdin, calls the exported
 * function `fn` of `module` and writes { id, ok, value } or { id, ok: false, error } on fd 3 (stdout
 * stays free for whatever the called code prints).
 */
import { createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'

const out = createWriteStream('', { fd: 3 })
const reply = (msg: unknown): void => { out.write(`${JSON.stringify(msg)}\n`) }

const rl = createInterface({ input: process.stdin })
rl.on('line', line => {
  void (async () => {
    let id = -1
    try {
      const req = JSON.parse(line) as { id: number; module: string; fn: string; args: unknown[] }
      id = req.id
      const mod = (await import(req.module.startsWith('/') ? pathToFileURL(req.module).href : req.module)) as Record<string, unknown>
      const f = mod[req.fn]
      if (typeof f !== 'function') throw new Error(`${req.module} exports no function ${req.fn}`)
      const value: unknown = await (f as (...a: unknown[]) => unknown)(...req.args)
      reply({ id, ok: true, value: value === undefined ? null : value })
    } catch (e) {
      const err = e as Error & { code?: unknown }
      reply({ id, ok: false, error: { message: err.message ?? String(e), name: err.name, code: err.code ?? null } })
    }
  })()
})
rl.on('close', () => { out.end(() => process.exit(0)) })
reply({ id: 0, ok: true, value: 'ready' })
