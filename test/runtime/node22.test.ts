/**
 * The project runs on Node 22 (package.json engines; scripts/setup.sh provides it where the machine's
 * Node is older): the test process itself, the `node` its children find first in PATH, the native
 * modules (built for Node 22's ABI: a module built for another Node refuses to load), and the AWS
 * SDK's start-up check, which warns on anything older. A control under an older Node, where the
 * machine has one, shows the warning check would see the warning.
 */
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { nativeAvailable } from '../../native/index.js'

const require = createRequire(import.meta.url)
const ec2 = fileURLToPath(new URL('../../node_modules/@aws-sdk/client-ec2/dist-cjs/index.js', import.meta.url))
const makeClient = `const { EC2Client } = require(${JSON.stringify(ec2)});
new EC2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
setTimeout(() => console.log('client made'), 200)`

t.test('the tests run on Node 22', async t => {
  t.match(process.version, /^v22\./, `process.version ${process.version}`)
  const onPath = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim()
  t.match(onPath, /^v22\./, `\`node\` first in PATH is ${onPath}`)
})

t.test('native modules load under this Node (built for its ABI)', async t => {
  t.ok(nativeAvailable(), 'native/build/Release/gsi_native.node')
  t.doesNotThrow(() => require('sockopt'), 'sockopt')
  t.doesNotThrow(() => require('raw-socket'), 'raw-socket')
})

t.test('no AWS SDK Node version warning at start', async t => {
  const r = spawnSync(process.execPath, ['-e', makeClient], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /client made/)
  t.notMatch(r.stderr, /NodeVersionSupportWarning|will require node/, 'stderr has no Node version warning')
})

const oldNode = '/usr/bin/node'
const oldVersion = existsSync(oldNode) ? execFileSync(oldNode, ['-p', 'process.version'], { encoding: 'utf8' }).trim() : ''
t.test('control: the machine\'s older Node gets the warning', { skip: /^v(1\d|2[01])\./.test(oldVersion) ? false : `no Node older than 22 at ${oldNode}` }, async t => {
  const r = spawnSync(oldNode, ['-e', makeClient], { encoding: 'utf8', timeout: 60_000 })
  t.match(r.stderr, /NodeVersionSupportWarning/, `${oldVersion} is warned about`)
})
