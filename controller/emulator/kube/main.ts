/**
 * The Kubernetes API emulator as a program, for the lab:
 *   node dist/controller/emulator/kube/main.js --port 8001 [--host 127.0.0.1] [--crds DIR_OR_FILE]...
 *     [--history N] [--no-cn2]
 * Serves our CRDs from deploy/crds (found next to the package) unless --crds is given. Prints
 * `kube emulator listening on http://HOST:PORT` once ready; SIGINT/SIGTERM stop it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KubeEmulator } from './server.js'

/** deploy/crds of this package, whether running from source or from dist/. */
export function defaultCrdDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const c = join(dir, 'deploy', 'crds')
    if (existsSync(c)) return c
    dir = dirname(dir)
  }
  throw new Error('deploy/crds not found above ' + dirname(fileURLToPath(import.meta.url)))
}

export function readCrds(paths: string[]): string[] {
  const out: string[] = []
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f)) out.push(readFileSync(join(p, f), 'utf8'))
    } else out.push(readFileSync(p, 'utf8'))
  }
  return out
}

async function main(argv: string[]): Promise<void> {
  let port = 8001, host = '127.0.0.1', history = 1000, cn2 = true
  const crdPaths: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const val = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--port') port = Number(val())
    else if (a === '--host') host = val()
    else if (a === '--crds') crdPaths.push(resolve(val()))
    else if (a === '--history') history = Number(val())
    else if (a === '--no-cn2') cn2 = false
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: kube-emulator [--port N] [--host ADDR] [--crds PATH]... [--history N] [--no-cn2]\n')
      return
    } else throw new Error(`unknown argument ${a}`)
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${port}`)
  const emu = new KubeEmulator({ crds: readCrds(crdPaths.length ? crdPaths : [defaultCrdDir()]), historyLimit: history, cn2 })
  const url = await emu.start(port, host)
  process.stdout.write(`kube emulator listening on ${url}\n`)
  const stop = (): void => { void emu.stop().then(() => process.exit(0)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`kube-emulator: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(2)
  })
}
