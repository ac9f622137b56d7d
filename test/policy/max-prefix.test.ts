/**
 * Maximum prefixes (bgp/policy/max-prefix.ts): warning reported once per upward crossing of the
 * threshold, exceeded once per crossing of the limit (count > limit), warning-only vs tear-down,
 * reset, option validation, and the RFC 4486 NOTIFICATION data (AFI, SAFI, limit) through the codec.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { decodeNotification, encodeNotification, notificationEncodingLength } from '../../bgp/codec/notification.js'
import { MaxPrefix, PolicyError, maxPrefixNotification, maxPrefixNotificationData } from '../../bgp/policy/index.js'

t.test('crossings: warning at 75% once, exceeded above the limit once, re-armed below', async (t) => {
  const m = new MaxPrefix({ limit: 100 })
  t.equal(m.warningAt, 75)
  t.equal(m.tearDown, true)
  const seq = [10, 74, 75, 80, 100, 101, 150, 90, 120, 50, 76, 76, 101]
  const got = seq.map((n) => m.check(n))
  t.same(got, ['ok', 'ok', 'warning', 'ok', 'ok', 'exceeded', 'ok', 'ok', 'exceeded', 'ok', 'warning', 'ok', 'exceeded'])
  t.equal(m.state, 'exceeded')
  m.reset()
  t.equal(m.state, 'below')
  t.equal(m.check(101), 'exceeded', 'a jump straight over the limit reports exceeded')
  t.equal(m.check(80), 'ok', 'falling from exceeded into the warning band is not news')
  t.equal(m.state, 'warning')
})

t.test('options: threshold, warning-only, restart time', async (t) => {
  const m = new MaxPrefix({ limit: 10, warningThresholdPercent: 50, warningOnly: true, restartTime: 30 })
  t.equal(m.warningAt, 5)
  t.equal(m.tearDown, false)
  t.equal(m.restartTime, 30)
  t.same([4, 5, 11, 12, 3, 11].map((n) => m.check(n)), ['ok', 'warning', 'exceeded', 'ok', 'ok', 'exceeded'])
  t.equal(new MaxPrefix({ limit: 3 }).warningAt, 3, 'ceil(2.25)')
  t.equal(new MaxPrefix({ limit: 1, warningThresholdPercent: 100 }).check(1), 'warning')
  t.equal(new MaxPrefix({ limit: 5 }).restartTime, undefined)
  t.throws(() => new MaxPrefix({ limit: 0 }, 'peers[1].maxPrefix'), PolicyError)
  t.throws(() => new MaxPrefix({ limit: 0 }, 'peers[1].maxPrefix'), /^peers\[1\]\.maxPrefix\.limit: expected an integer 1\.\.4294967295, got 0$/)
  t.throws(() => new MaxPrefix({ limit: 10, warningThresholdPercent: 101 }), /warningThresholdPercent: expected an integer 1\.\.100/)
  t.throws(() => new MaxPrefix({ limit: 10, restartTime: 1.5 }), /restartTime/)
})

t.test('NOTIFICATION data: AFI(2) SAFI(1) limit(4), Cease subcode 1', async (t) => {
  t.same([...maxPrefixNotificationData(Family.Ipv4Vpn, 0x01020304)], [0, 1, 128, 1, 2, 3, 4])
  t.same([...maxPrefixNotificationData(Family.Ipv6Unicast, 4294967295)], [0, 2, 1, 255, 255, 255, 255])
  const n = maxPrefixNotification(Family.Ipv4Unicast, 5000)
  const buf = new Uint8Array(notificationEncodingLength(n))
  encodeNotification(n, buf, 0)
  const back = decodeNotification(buf, 0, buf.length)
  t.equal(back.code, 6)
  t.equal(back.subcode, 1)
  t.same([...back.data], [0, 1, 1, 0, 0, 0x13, 0x88])
})
