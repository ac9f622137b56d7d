/**
 * The BGP finite state machine (RFC 4271 section 8, RFC 6608, RFC 4486, RFC 6286 collisions):
 * a pure `step(state, event, config) -> { state, actions }`, with the types the session runner
 * uses to drive it. Public face of bgp/fsm.
 */
export { step } from './machine.js'
export { collisionLoser, takesPartInCollision } from './collision.js'
export type { CollisionLoser } from './collision.js'
export { States, defaultFsmConfig, initialFsmState } from './types.js'
export type {
  FsmAction,
  FsmConfig,
  FsmEvent,
  FsmEventType,
  FsmState,
  NotificationSpec,
  State,
  StepResult,
  StopReason,
  TimerName,
} from './types.js'
