/**
 * The points at which the user's hooks run. A hook is an executable in
 * migration.hooksPath named rds-live-migrate-on-<event>, optionally followed
 * by -<suffix>; several for one event run in name order (docs/hooks.md).
 */
export const HOOK_EVENTS = {
  startup: 'a command starts, before it changes anything',
  'phase-change': 'a journaled step changed the migration phase (RLM_PREVIOUS_PHASE → RLM_PHASE)',
  'before-verify': 'verify starts comparing',
  'after-verify': 'verify finished (RLM_VERIFY_OK, RLM_VERIFY_VERDICT)',
  'before-cutover': 'cutover is ready and about to freeze the source; a non-zero exit stops it with nothing changed',
  'switch-traffic':
    'the switch-traffic step of cutover or rollback, after migration.trafficSwitchCommand: move the application (RLM_DIRECTION, RLM_HOST, RLM_PORT)',
  'after-switch': 'the application was switched (cutover:switch-traffic or rollback:switch-traffic)',
  'before-rollback': 'rollback is about to start',
  status: 'the status command read the state (lag in RLM_LAG_SECONDS, RLM_LAG_BYTES)',
  success: 'the command finished',
  failure: 'the command failed (RLM_ERROR holds the message)',
} as const;

export type HookEvent = keyof typeof HOOK_EVENTS;
export const HOOK_EVENT_NAMES = Object.keys(HOOK_EVENTS) as HookEvent[];

export const HOOK_PREFIX = 'rds-live-migrate-on-';

/** The event a file is a hook for; the longest event name wins, so an event's suffix never reads as another event. */
export function eventOfFile(file: string): HookEvent | undefined {
  if (!file.startsWith(HOOK_PREFIX)) return undefined;
  const rest = file.slice(HOOK_PREFIX.length);
  const matches = HOOK_EVENT_NAMES.filter((e) => rest === e || rest.startsWith(`${e}-`));
  return matches.sort((a, b) => b.length - a.length)[0];
}
