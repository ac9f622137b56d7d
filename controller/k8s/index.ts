/**
 * The Kubernetes side of gsi-controller: client wrappers over @kubernetes/client-node, list-then-watch
 * informers, the keyed work queue, Lease leader election and the Event recorder.
 */
export * from './client.js'
export * from './informer.js'
export * from './workqueue.js'
export * from './leader.js'
export * from './events.js'
export * from './selector.js'
