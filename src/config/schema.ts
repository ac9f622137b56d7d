/**
 * JSON schema (draft-07, checked with ajv) of what an operator writes for gsi-routerd: the shape of
 * `DaemonConfigInput` in model.ts. It checks structure only: known keys (additionalProperties false
 * everywhere, so a misspelt key is an error naming its path, not a silently ignored field), types,
 * enums and plain numeric ranges. Everything that needs parsing or relates fields (addresses,
 * prefixes, route targets, ASN rules, label in range) is load.ts's semantic pass, which words its
 * reasons in AWS and CN2 terms.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

const int = (minimum: number, maximum: number): Record<string, unknown> => ({ type: 'integer', minimum, maximum })
const str = { type: 'string' } as const
const strList = { type: 'array', items: str } as const
const asn = int(1, 4294967295)
const port = int(1, 65535)
const obj = (properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> =>
  ({ type: 'object', additionalProperties: false, properties, ...(required.length > 0 ? { required } : {}) })

export const CONFIG_SCHEMA = obj({
  nodeName: str,
  nodeAddress: str,
  routerId: str,
  dataplane: { enum: ['kernel', 'none'] },
  gatewayTable: obj({
    table: int(1, 4294967295),
    label: int(0, 1048575),
    labelRange: { type: 'array', minItems: 2, maxItems: 2, items: int(0, 1048575) },
    vrf: str,
  }),
  routeDistinguisherIndex: int(0, 65535),
  exposed: obj({ routeTargets: strList, cidrs: strList }),
  advertiseMoreSpecifics: { type: 'boolean' },
  tgw: obj({
    localAsn: asn,
    maxPrefixesAdvertised: int(1, 4294967295),
    maxPrefixesReceived: int(1, 4294967295),
    holdTime: int(0, 65535),
    gracefulRestart: { type: 'boolean' },
    connectPeers: {
      type: 'array',
      items: obj({
        id: { type: 'string', minLength: 1 },
        transitGatewayAddress: str,
        insideCidrBlocks: { type: 'array', minItems: 1, maxItems: 2, items: str },
        transitGatewayAsn: asn,
        peerAsn: asn,
        mtu: int(0, 65535),
        ttl: int(1, 255),
      }, ['id', 'transitGatewayAddress', 'insideCidrBlocks', 'transitGatewayAsn']),
    },
  }, ['localAsn']),
  controlNodes: obj({
    localAsn: asn,
    peers: { type: 'array', items: obj({ address: str, asn, port }, ['address', 'asn']) },
    md5: obj({
      secretRef: obj({ name: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } }, ['name', 'key']),
      file: { type: 'string', minLength: 1 },
    }),
    holdTime: int(0, 65535),
    gracefulRestart: { type: 'boolean' },
  }, ['peers']),
  gracefulRestart: obj({ restartTime: int(0, 4095), staleRoutesTime: int(1, 65535), deferralTime: int(1, 65535) }),
  listen: obj({ address: str, port }),
  http: obj({ address: str, port }),
  api: obj({ socket: { type: 'string', minLength: 1 } }),
  log: obj({ level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] } }),
  shutdownPolicy: { enum: ['graceful', 'withdraw'] },
  probes: obj({
    enabled: { type: 'boolean' },
    interval: { type: 'number', minimum: 0.2, maximum: 60 },
    timeout: { type: 'number', minimum: 0.1, maximum: 30 },
    failAfter: int(1, 100),
    lossWindow: int(1, 1000),
    withdrawOnFailure: { type: 'boolean' },
    source: str,
    sourceIpv6: str,
    targets: { type: 'array', maxItems: 64, items: obj({ address: str, vrouter: str }, ['address', 'vrouter']) },
  }),
}, ['nodeAddress', 'tgw', 'controlNodes'])

let compiled: ValidateFunction | undefined
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true, verbose: true }).compile(CONFIG_SCHEMA)
  return compiled
}

/** `/tgw/connectPeers/0/id` -> `tgw.connectPeers[0].id` (JSON pointer unescaping included). */
export function pointerToPath(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1).map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (child !== undefined) parts.push(child)
  let out = ''
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : (out === '' ? p : `.${p}`)
  return out === '' ? '(top level)' : out
}

function describe(e: ErrorObject): { path: string; reason: string } {
  const at = pointerToPath(e.instancePath)
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'additionalProperties': return { path: pointerToPath(e.instancePath, String(p.additionalProperty)), reason: 'unknown field' }
    case 'required': return { path: pointerToPath(e.instancePath, String(p.missingProperty)), reason: 'required' }
    case 'type': return { path: at, reason: `expected ${String(p.type)}, got ${JSON.stringify(e.data) ?? 'undefined'}` }
    case 'enum': return { path: at, reason: `${JSON.stringify(e.data)} is not one of ${(p.allowedValues as unknown[]).join(', ')}` }
    case 'minimum': case 'maximum': {
      const s = e.parentSchema as { minimum: number; maximum: number }
      return { path: at, reason: `${String(e.data)} is not in ${s.minimum}-${s.maximum}` }
    }
    case 'minItems': case 'maxItems': {
      const s = e.parentSchema as { minItems?: number; maxItems?: number }
      const n = s.minItems === s.maxItems ? `exactly ${s.minItems}` : s.maxItems === undefined ? `at least ${s.minItems}` : s.minItems === undefined ? `at most ${s.maxItems}` : `${s.minItems}-${s.maxItems}`
      return { path: at, reason: `has ${(e.data as unknown[]).length} items, expected ${n}` }
    }
    case 'minLength': return { path: at, reason: 'must not be empty' }
    default: return { path: at, reason: e.message ?? e.keyword }
  }
}

/** Structural problems of a raw config object (empty when it has the right shape). */
export function schemaProblems(input: unknown): { path: string; reason: string }[] {
  const v = validator()
  if (v(input)) return []
  const out: { path: string; reason: string }[] = []
  const seen = new Set<string>()
  for (const e of v.errors ?? []) {
    const d = describe(e)
    const k = `${d.path}: ${d.reason}`
    if (!seen.has(k)) { seen.add(k); out.push(d) }
  }
  return out
}

/** Every leaf field path of the schema (`tgw.connectPeers[].id`), for the documentation test. */
export function schemaFieldPaths(schema: Record<string, unknown> = CONFIG_SCHEMA, prefix = ''): string[] {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined
  if (!props) return []
  const out: string[] = []
  for (const [k, s] of Object.entries(props)) {
    const p = prefix === '' ? k : `${prefix}.${k}`
    if (s.type === 'object') out.push(...schemaFieldPaths(s, p))
    else if (s.type === 'array' && (s.items as Record<string, unknown> | undefined)?.type === 'object') out.push(...schemaFieldPaths(s.items as Record<string, unknown>, `${p}[]`))
    else out.push(p)
  }
  return out
}
