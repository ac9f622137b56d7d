/**
 * The RIB: Adj-RIB-In per peer, Loc-RIB per family, interned attribute sets, best path and
 * multipath (RFC 4271 3.2, 9.1), in typed arrays. Public face of bgp/rib.
 */
export * from './api.js'
export { Rib } from './rib.js'
export { AttributeStore, nextHopText } from './attribute-store.js'
export { allocated, externalOfTables, grown, growFields, retire, roomAt, StagedGrowth } from './grow.js'
export { Table, TableBestChange, tableKind, parsePrefixKey, rdFromWords, PathFlag, ChangeKind, type TableKind } from './table.js'
