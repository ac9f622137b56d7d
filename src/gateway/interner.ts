/**
 * Small integer ids for strings that recur on many routes (vRouter addresses): the gateway and the
 * computed FIB keep the id in their typed arrays instead of a string per route, and turn it back into
 * the address only where a route leaves them. Ids start at 0 and are never reused (a gateway sees a
 * few hundred vRouters, not millions).
 */
export class Interner {
  private readonly byId: string[] = []
  private readonly ids = new Map<string, number>()

  /** The id of `s`, given a new one on first sight. */
  id(s: string): number {
    let id = this.ids.get(s)
    if (id === undefined) {
      id = this.byId.length
      this.byId.push(s)
      this.ids.set(s, id)
    }
    return id
  }

  /** The string of an id `id()` gave. */
  at(id: number): string {
    return this.byId[id] as string
  }
}
