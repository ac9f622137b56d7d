/**
 * metav1.LabelSelector matching (matchLabels and matchExpressions with In, NotIn, Exists,
 * DoesNotExist), as the API server applies it, for selectors held in our own specs (the
 * VirtualNetwork selector of a TransitGateway). An empty selector matches everything; an absent one
 * is the caller's business.
 */
import type { LabelSelector } from '../types.js'

export function matchesSelector(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {}
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false
  for (const e of sel.matchExpressions ?? []) {
    const v = l[e.key]
    switch (e.operator) {
      case 'In': if (v === undefined || !(e.values ?? []).includes(v)) return false; break
      case 'NotIn': if (v !== undefined && (e.values ?? []).includes(v)) return false; break
      case 'Exists': if (v === undefined) return false; break
      case 'DoesNotExist': if (v !== undefined) return false; break
    }
  }
  return true
}
