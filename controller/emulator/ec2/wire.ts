/**
 * EC2 Query API wire format, both directions, for the EC2 emulator.
 *
 * Requests: POST, application/x-www-form-urlencoded, `Action=...&Version=2016-11-15&...`, with
 * structures flattened into dotted keys and lists numbered from 1 (`Filter.1.Value.2=x`,
 * `TagSpecification.1.Tag.1.Key=k`). parseQuery turns that back into a tree whose numbered
 * segments become arrays.
 *
 * Responses: XML in the namespace http://ec2.amazonaws.com/doc/2016-11-15/, root element
 * `<ActionResponse>`, a `<requestId>`, members in lowerCamel XML names, list members as `<item>`.
 * Errors: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`
 * (EC2's own error envelope, not the generic AWS Query one).
 */

export type QueryValue = string | QueryTree | QueryValue[]
export interface QueryTree { [key: string]: QueryValue }

/** Parses a form-encoded EC2 Query body into a tree. Lists (numbered keys) become dense arrays in index order. */
export function parseQuery(body: string): QueryTree {
  const root: QueryTree = {}
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.')
    let node: QueryTree = root
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string
      const last = i === parts.length - 1
      if (last) { node[part] = value; break }
      let child = node[part]
      if (child === undefined || typeof child === 'string' || Array.isArray(child)) {
        child = {}
        node[part] = child
      }
      node = child
    }
  }
  return arrayify(root) as QueryTree
}

/** Turns objects whose keys are all positive integers into arrays ordered by index. */
function arrayify(v: QueryValue): QueryValue {
  if (typeof v === 'string' || Array.isArray(v)) return v
  const keys = Object.keys(v)
  for (const k of keys) v[k] = arrayify(v[k] as QueryValue)
  if (keys.length > 0 && keys.every((k) => /^[1-9][0-9]*$/.test(k))) {
    return keys.map(Number).sort((a, b) => a - b).map((n) => v[String(n)] as QueryValue)
  }
  return v
}

/** Accessors that never throw on shape surprises: a missing or oddly shaped member reads as absent. */
export function qStr(t: QueryValue | undefined, ...path: string[]): string | undefined {
  const v = qGet(t, path)
  return typeof v === 'string' ? v : undefined
}
export function qList(t: QueryValue | undefined, ...path: string[]): QueryValue[] {
  const v = qGet(t, path)
  if (v === undefined) return []
  return Array.isArray(v) ? v : [v]
}
export function qStrList(t: QueryValue | undefined, ...path: string[]): string[] {
  return qList(t, ...path).filter((x): x is string => typeof x === 'string')
}
function qGet(t: QueryValue | undefined, path: string[]): QueryValue | undefined {
  let cur: QueryValue | undefined = t
  for (const p of path) {
    if (cur === undefined || typeof cur === 'string' || Array.isArray(cur)) return undefined
    cur = cur[p]
  }
  return cur
}

/** An XML value: scalars become text, arrays become `<item>` lists, objects become child elements (in insertion order). */
export type XmlValue = string | number | boolean | undefined | null | XmlValue[] | { [k: string]: XmlValue }

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string)
}

function element(name: string, v: XmlValue): string {
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) return `<${name}>${v.map((x) => element('item', x)).join('')}</${name}>`
  if (typeof v === 'object') {
    return `<${name}>${Object.entries(v).map(([k, x]) => element(k, x)).join('')}</${name}>`
  }
  return `<${name}>${escapeXml(String(v))}</${name}>`
}

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/'

/** `<{Action}Response xmlns=...><requestId/>...members</{Action}Response>` */
export function responseXml(action: string, requestId: string, body: Record<string, XmlValue>): string {
  const inner = Object.entries(body).map(([k, v]) => element(k, v)).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}"><requestId>${requestId}</requestId>${inner}</${action}Response>`
}

export function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
}
