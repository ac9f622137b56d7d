/**
 * Scenarios: labelled nodes come and go. A node added gets a Connect peer and a ConnectedPeer; one
 * removed loses both; a fifth labelled node is a standby (status.standbyNodes, peers[].role) and takes
 * over when one of the four goes; a node that turns NotReady is replaced the same way.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'

t.test('nodes added, removed, a fifth is standby and takes over', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const n = (x: string): string => `${w.ns}-${x}`
  await w.addNode(n('a'), '10.0.1.11')
  await w.gsi()
  await w.tgw()
  w.replica('r1').start()
  await w.readyTgw()
  t.same((await w.peerList()).map(p => p.spec.nodeName), [n('a')], 'one node, one ConnectedPeer')

  /** Waits until exactly `want` hold available ConnectedPeers (and AWS agrees); returns what was seen. */
  const activeNodes = async (want: string[]): Promise<string[]> => {
    let seen: string[] = []
    try {
      return await waitFor(`ConnectedPeers of ${want.join(',')}`, async () => {
        const l = await w.peerList()
        const tg = await w.get()
        seen = l.map(p => p.spec.nodeName).sort()
        const ok = JSON.stringify(seen) === JSON.stringify([...want].sort()) && l.every(p => p.status?.state === 'available') &&
          JSON.stringify(w.aws().peers.map(p => p.node).sort()) === JSON.stringify(seen) && tg?.status?.activePeers === want.length
        return ok ? seen : undefined
      })
    } catch { return seen }
  }

  await w.addNode(n('b'), '10.0.17.11')
  t.same(await activeNodes([n('a'), n('b')]), [n('a'), n('b')], 'node added: second peer')

  await w.addNode(n('c'), '10.0.33.11')
  await w.addNode(n('d'), '10.0.1.12')
  await new Promise(r => setTimeout(r, 1100)) // a later creationTimestamp (second resolution) for e
  await w.addNode(n('e'), '10.0.17.12')
  t.same(await activeNodes([n('a'), n('b'), n('c'), n('d')]), [n('a'), n('b'), n('c'), n('d')], 'four active')
  let tg = await waitFor('standby listed', async () => {
    const x = await w.get()
    return x?.status?.standbyNodes?.length === 1 ? x : undefined
  })
  t.same(tg.status?.standbyNodes, [n('e')], 'the fifth is standby')
  t.same(tg.status?.peers?.find(p => p.node === n('e'))?.role, 'standby')
  t.match(tg.status?.conditions?.find(c => c.type === 'PeersReady')?.message, /standby: .*-e/)
  t.equal(w.aws().peers.length, 4, 'AWS holds 4 Connect peers, not 5')

  const insideOfB = (await w.peerList()).find(p => p.spec.nodeName === n('b'))!.spec.insideCidrBlocks[0]
  await w.nodes.delete(undefined, n('b'))
  t.same(await activeNodes([n('a'), n('c'), n('d'), n('e')]), [n('a'), n('c'), n('d'), n('e')], 'standby took over from the removed node')
  tg = (await w.get())!
  t.same(tg.status?.standbyNodes, [], 'no standby left')
  t.notOk(w.aws().peers.some(p => p.node === n('b')), 'the removed node lost its Connect peer')
  const eInside = (await w.peerList()).find(p => p.spec.nodeName === n('e'))!.spec.insideCidrBlocks[0]
  t.ok(eInside, `the new peer has an inside CIDR (b had ${insideOfB})`)

  // A node that stops being Ready is replaced by a standby as well.
  await w.addNode(n('f'), '10.0.33.12')
  await waitFor('f standby', async () => (await w.get())?.status?.standbyNodes?.includes(n('f')))
  await w.nodes.mergePatchStatus(undefined, n('c'), { status: { conditions: [{ type: 'Ready', status: 'False' }] } })
  t.same(await activeNodes([n('a'), n('d'), n('e'), n('f')]), [n('a'), n('d'), n('e'), n('f')], 'NotReady node replaced by the standby')

  await w.nodes.delete(undefined, n('a'))
  t.same(await activeNodes([n('d'), n('e'), n('f')]), [n('d'), n('e'), n('f')], 'node removed without standby: three remain')
  const ready = await w.readyTgw()
  t.equal(ready.status?.activePeers, 3)
  for (const x of ['a', 'b', 'c', 'd', 'e', 'f']) await w.nodes.delete(undefined, n(x))
})
