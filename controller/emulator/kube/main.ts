/**
 * The Kubernetes API emulator as a program, for the lab:
 *   node dist/controller/emulator/kube/main.js --port 8001 [--host 127.0.0.1] [--crds DIR_OR_FILE]...
 *     [--history N] [--no-cn2] [--kubeconfig PATH]
 * Serves our CRDs from deploy/crds (found next to the package) unless --crds is given. Prints
 * `kube emulator listening on http://HOST:PORT` once ready (and, with --kubeconfig, writes a
 * kubeconfig there and prints the kubectl command that uses it); SIGINT/SIGTERM stop it. A wrong command
 * line exits 2 with the usage, a failure to start exits 1.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KubeEmulator } from './server.js'
import { kubectlHint, writeKubeconfig } from './kubeconfig.js'
import { defaultCrdDir, readCrds } from './crds.js'
import { numberOption, runCommandLine, type CommandLine, type OptionSpecs, type OptionValues } from '../../../src/lib/args.js'

const commandLine = {
  program: 'kube-emulator',
  usage: `usage: kube-emulator [--port N] [--host ADDR] [--crds PATH]... [--history N] [--no-cn2] [--kubeconfig PATH]

the Kubernetes API emulator: serves our CRDs (deploy/crds unless --crds) and CN2's VirtualNetwork and
Subnet, with list/watch, leases and server-side validation against the CRD schemas

  --port N        listening port (default 8001; 0 = any free port)
  --host ADDR     listening address (default 127.0.0.1)
  --crds PATH     a CRD file or a directory of them; repeatable
  --history N     watch events kept for resuming watches (default 1000)
  --no-cn2        do not serve CN2's VirtualNetwork and Subnet
  --kubeconfig PATH  write a kubeconfig for kubectl pointing at the emulator
  --help`,
  options: {
    port: { type: 'string', default: '8001' },
    host: { type: 'string', default: '127.0.0.1' },
    crds: { type: 'string', multiple: true, default: [] },
    history: { type: 'string', default: '1000' },
    'no-cn2': { type: 'boolean', default: false },
    kubeconfig: { type: 'string', default: '' },
  },
} as const satisfies CommandLine<OptionSpecs>

async function main(v: OptionValues<typeof commandLine.options>): Promise<number> {
  const port = numberOption('--port', v.port, { min: 0, max: 65535 })
  const history = numberOption('--history', v.history, { min: 1, max: 1_000_000 })
  const crdPaths = v.crds.map(p => resolve(p))
  const emu = new KubeEmulator({ crds: readCrds(crdPaths.length ? crdPaths : [defaultCrdDir()]), historyLimit: history, cn2: !v['no-cn2'] })
  const url = await emu.start(port, v.host)
  process.stdout.write(`kube emulator listening on ${url}\n`)
  if (v.kubeconfig) process.stdout.write(`kubectl: ${kubectlHint(writeKubeconfig(resolve(v.kubeconfig), { server: url }))}\n`)
  await new Promise<void>(done => {
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  await emu.stop()
  return 0
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  runCommandLine(commandLine, process.argv.slice(2), main).then(code => process.exit(code), (e: unknown) => {
    process.stderr.write(`kube-emulator: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
