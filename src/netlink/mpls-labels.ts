/**
 * MPLS label stack entries as rtnetlink carries them (RFC 3032 section 2.1: label 20 bits, TC 3,
 * bottom-of-stack 1, TTL 8). IP addresses and prefixes are src/lib/address.ts's.
 */

export const MPLS_LABEL_MAX = 0xfffff

/** Encodes a label stack (outermost first) as RFC 3032 entries, bottom-of-stack on the last. */
export function encodeLabelStack(labels: readonly number[], field = 'labels'): Uint8Array {
  if (labels.length === 0) throw new Error(`${field}: an MPLS label stack needs at least one label`)
  const out = new Uint8Array(labels.length * 4)
  const view = new DataView(out.buffer)
  labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l > MPLS_LABEL_MAX) throw new Error(`${field}: label ${l} is not in 0-${MPLS_LABEL_MAX}`)
    view.setUint32(i * 4, ((l << 12) | (i === labels.length - 1 ? 0x100 : 0)) >>> 0)
  })
  return out
}

/** Decodes RFC 3032 label stack entries (TC and TTL dropped). */
export function decodeLabelStack(bytes: Uint8Array): number[] {
  const labels: number[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i + 4 <= bytes.length; i += 4) labels.push(view.getUint32(i) >>> 12)
  return labels
}
