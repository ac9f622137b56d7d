/**
 * Patch documents for the Kubernetes API emulator: JSON merge patch (RFC 7386, content type
 * application/merge-patch+json) and JSON patch (RFC 6902, application/json-patch+json, with the
 * `test` operation that clients use as a precondition). Strategic merge patch (Kubernetes' own, for
 * built-in types) is served as a merge patch: lists are replaced whole rather than merged by key,
 * which is exact for every object this project patches that way (none have keyed lists we patch).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export class PatchError extends Error {
  constructor(message: string, readonly conflict = false) {
    super(message)
    this.name = 'PatchError'
  }
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** RFC 7386 section 2: null deletes a member, objects merge recursively, anything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch)
  const out: Record<string, Json> = isObject(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** RFC 6901 pointer -> reference tokens. */
function tokens(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`)
  return pointer.slice(1).split('/').map(t => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function parentOf(doc: Json, path: string[]): { parent: Json; key: string } {
  let cur: Json = doc
  for (const t of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)] as Json
    else if (isObject(cur)) cur = cur[t] as Json
    else cur = undefined as unknown as Json
    if (cur === undefined) throw new PatchError(`path not found: /${path.join('/')}`)
  }
  return { parent: cur, key: path[path.length - 1] ?? '' }
}

function get(doc: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = doc
  for (const t of path) {
    if (Array.isArray(cur)) cur = cur[Number(t)]
    else if (isObject(cur)) cur = cur[t]
    else return undefined
    if (cur === undefined) return undefined
  }
  return cur
}

function put(doc: Json, path: string[], value: Json, insert: boolean): Json {
  if (path.length === 0) return value
  const { parent, key } = parentOf(doc, path)
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key)
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`array index out of range: ${key}`)
    if (insert) parent.splice(i, 0, value)
    else {
      if (i >= parent.length) throw new PatchError(`array index out of range: ${key}`)
      parent[i] = value
    }
  } else if (isObject(parent)) {
    if (!insert && !(key in parent)) throw new PatchError(`path not found: /${path.join('/')}`)
    parent[key] = value
  } else throw new PatchError(`path not found: /${path.join('/')}`)
  return doc
}

function remove(doc: Json, path: string[]): Json {
  const { parent, key } = parentOf(doc, path)
  if (Array.isArray(parent)) {
    const i = Number(key)
    if (!(i >= 0 && i < parent.length)) throw new PatchError(`array index out of range: ${key}`)
    parent.splice(i, 1)
  } else if (isObject(parent) && key in parent) delete parent[key]
  else throw new PatchError(`path not found: /${path.join('/')}`)
  return doc
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

interface Op { op: string; path: string; from?: string; value?: Json }

/** RFC 6902 section 4; a failed `test` is reported as a conflict (the API server answers 409/422). */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations')
  let doc = structuredClone(target)
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError('each JSON patch operation needs "op" and "path"')
    }
    const op = raw as unknown as Op
    const path = tokens(op.path)
    switch (op.op) {
      case 'add': doc = put(doc, path, structuredClone(op.value ?? null), true); break
      case 'replace': doc = put(doc, path, structuredClone(op.value ?? null), false); break
      case 'remove': doc = remove(doc, path); break
      case 'test':
        if (!deepEqual(get(doc, path), op.value)) throw new PatchError(`test operation failed at ${op.path}`, true)
        break
      case 'move': case 'copy': {
        const from = tokens(op.from ?? '')
        const v = get(doc, from)
        if (v === undefined) throw new PatchError(`path not found: ${op.from ?? ''}`)
        if (op.op === 'move') doc = remove(doc, from)
        doc = put(doc, path, structuredClone(v), true)
        break
      }
      default: throw new PatchError(`unknown JSON patch operation "${op.op}"`)
    }
  }
  return doc
}
