/**
 * gsi-routerd's configuration: the model (model.ts), loading and validation of a file or object
 * (load.ts, schema.ts), `--check-config` (check.ts), what changed between two configs (diff.ts) and
 * the Kubernetes source built from this node's ConnectedPeer objects (kube.ts, imported on its own so
 * that file mode does not load the Kubernetes client).
 */
export * from './model.js'
export { ConfigError, loadConfigFile, parseConfigText, resolveConfig, type ConfigProblem, type LoadedConfig } from './load.js'
export { CONFIG_SCHEMA, schemaFieldPaths } from './schema.js'
export { checkConfigFile, type CheckResult } from './check.js'
export { diffConfig, type ConfigDiff, type ConnectPeerChange, type ControlNodeChange, type DiffOptions, type ListDelta } from './diff.js'
