/**
 * The lab's `--keep` console: the lab stays up and runs what the operator types, one line at a time,
 * until `exit` or the end of its input (Ctrl-D), then goes on to delete the TransitGateway.
 *
 * Why a console of its own rather than "open another terminal": where this kernel lacks GRE, fou, MPLS
 * or VRF the lab lives inside the qemu VM, whose namespaces no host shell can enter; the VM runner
 * feeds the host's standard input to the lab (scripts/vm/run.mjs, a fourth serial port). The same
 * console serves a lab on this kernel, so both behave alike.
 *
 * Each line runs under `sh -c` in the lab's own namespace (where the Kubernetes API and EC2 emulators
 * listen) with:
 * - KUBECONFIG pointing at the Kubernetes API emulator, and Debian's kubectl first in PATH, so that
 *   `kubectl get transitgateways,connectedpeers` works as on a cluster;
 * - small commands in PATH: `gsictl-nK ...` (gsictl on node K's daemon), `nK CMD` (a command in node
 *   K's namespace), `tgw`, `vpc`, `cn`, `vr1`, `vr2` likewise, `tgw-birdc` / `tgw-birdc-b` (the TGW's
 *   two BIRD processes, .2 and .3 sides) and `cn-gobgp` (the CN2 control node's gobgp).
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { debianKubectl, writeKubeconfig } from '../../controller/emulator/kube/kubeconfig.js'
import type { GatewayNet } from './net.js'

export interface ConsoleWorld {
  readonly net: GatewayNet
  /** Per labelled node, in net.nodes order: its gsi-routerd's API socket. */
  readonly sockets: readonly string[]
  /** gsictl's program file (the lab runs its programs as it runs itself: bundled or not). */
  readonly gsictl: string
  /** The Kubernetes API emulator's URL as seen from the lab's namespace. */
  readonly kubeUrl: string
  /** The TGW's BIRD directory (its control sockets bird-a.ctl, bird-b.ctl). */
  readonly birdDir: string
  /** Scratch directory for the kubeconfig and the commands. */
  readonly work: string
}

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`

/** Writes the console's commands and kubeconfig; returns the environment its lines run with. */
export function prepareConsole(w: ConsoleWorld): NodeJS.ProcessEnv {
  const bin = join(w.work, 'bin')
  mkdirSync(bin, { recursive: true })
  const command = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`)
    chmodSync(join(bin, name), 0o755)
  }
  const inNs = (ns: string): string => `exec ip netns exec ${q(ns)} "$@"`
  w.net.nodes.forEach((g, k) => {
    command(`n${g.index}`, inNs(g.ns))
    const socket = w.sockets[k]
    if (socket !== undefined) command(`gsictl-n${g.index}`, `exec ${q(process.execPath)} ${q(w.gsictl)} --socket ${q(socket)} "$@"`)
  })
  command('tgw', inNs(w.net.tgw))
  command('vpc', inNs(w.net.vpc))
  command('cn', inNs(w.net.fabric))
  for (const v of w.net.vrouters) command(`vr${v.index}`, inNs(v.ns))
  command('tgw-birdc', `exec ip netns exec ${q(w.net.tgw)} birdc -s ${q(join(w.birdDir, 'bird-a.ctl'))} "$@"`)
  command('tgw-birdc-b', `exec ip netns exec ${q(w.net.tgw)} birdc -s ${q(join(w.birdDir, 'bird-b.ctl'))} "$@"`)
  command('cn-gobgp', `exec ip netns exec ${q(w.net.fabric)} gobgp -u 127.0.0.1 -p 50051 "$@"`)
  const kubectl = debianKubectl()
  const path = [bin, ...(kubectl !== undefined ? [dirname(kubectl)] : []), dirname(process.execPath), process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(':')
  return { ...process.env, PATH: path, KUBECONFIG: writeKubeconfig(join(w.work, 'kubeconfig'), { server: w.kubeUrl }), HOME: w.work }
}

/** The lines the console prints before its first prompt. */
export function consoleHelp(w: ConsoleWorld): string[] {
  const n = w.net.nodes.map(g => g.index)
  return [
    '--keep: the lab stays up. Type commands (they run in the lab\'s API namespace); for example:',
    '  kubectl get transitgateways,connectedpeers           (Debian\'s kubectl at the Kubernetes API emulator)',
    `  gsictl-n${n[0] ?? 1} show bgp summary                         (gsictl on node 1's gsi-routerd; gsictl-n1 .. gsictl-n${n.at(-1) ?? 1})`,
    `  n${n[0] ?? 1} ip route show table 1000                        (a command in node 1's namespace; n1 .. n${n.at(-1) ?? 1}, tgw, vpc, cn, vr1, vr2)`,
    '  tgw ip route; tgw-birdc show protocols; cn-gobgp global rib -a vpnv4',
    '  vpc ping -c 3 10.244.1.10',
    '  exit (or Ctrl-D): delete the TransitGateway and check that everything goes',
  ]
}

/**
 * Runs the console until `exit` or the end of `input`. `write` prints (the prompt, and each
 * command's output goes to this process's stdout and stderr directly). Never blocks the event loop:
 * the lab serves its emulators from the same process.
 */
export async function runConsole(input: NodeJS.ReadableStream, env: NodeJS.ProcessEnv, write: (text: string) => void): Promise<void> {
  const lines: string[] = []
  let ended = false
  let wake: (() => void) | undefined
  let partial = ''
  const onData = (d: Buffer | string): void => {
    let text = String(d)
    // a raw tty (the VM's serial port) has no end of input of its own: ^D stands for it
    const eot = text.indexOf('\x04')
    if (eot >= 0) { text = text.slice(0, eot); ended = true }
    partial += text.replaceAll('\r\n', '\n').replaceAll('\r', '\n')
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
    if (ended && partial !== '') { lines.push(partial); partial = '' }
    wake?.()
  }
  const onEnd = (): void => { ended = true; wake?.() }
  input.on('data', onData)
  input.once('end', onEnd)
  try {
    for (;;) {
      write('lab> ')
      while (lines.length === 0 && !ended) await new Promise<void>(r => { wake = r })
      const line = lines.shift()
      if (line === undefined) { write('\n'); return }
      const cmd = line.trim()
      if (cmd === 'exit' || cmd === 'quit') return
      if (cmd === '') continue
      const child = spawn('sh', ['-c', cmd], { env, stdio: ['ignore', 'inherit', 'inherit'] })
      const code = await new Promise<number | null>(r => {
        child.once('error', () => r(127))
        child.once('exit', c => r(c))
      })
      if (code !== 0) write(`(exit ${code ?? 'signal'})\n`)
    }
  } finally {
    input.off('data', onData)
    input.off('end', onEnd)
    input.pause?.()
  }
}
