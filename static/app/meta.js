// What the server knows about its own enumerations and limits (GET /v2/meta):
// goal types with their tracking defaults, roles (lowest first), grantable
// scopes, webhook events, devices, tracking modes, days of the week (rule
// conditions), body limits. Loaded once
// at boot; the page keeps no copy of its own.
import { request } from './api.js';

let meta = null;

/** Load the catalog (once; later calls return the cached copy). */
export async function loadMeta() {
  if (!meta) meta = await request('GET', '/v2/meta', { auth: false });
  return meta;
}

const need = () => {
  if (!meta) throw new Error('The server catalog (/v2/meta) is not loaded yet.');
  return meta;
};

/** [{goalType, label, trackingPreset, conversionEventType}] */
export const goalTypes = () => need().goalTypes || [];
export const goalOf = (t) => goalTypes().find((g) => g.goalType === t);
export const scopes = () => need().scopes || [];
export const webhookEvents = () => need().webhookEvents || [];
export const devices = () => need().devices || [];
export const trackingModes = () => need().trackingModes || [];
export const daysOfWeek = () => need().daysOfWeek || [];
export const structureLimit = () => need().limits?.structureBytes;

/** Whether `role` ranks at least `min` in the server's order (lowest first). */
export function roleAtLeast(role, min) {
  const roles = need().roles || [];
  const have = roles.indexOf(String(role || '').toUpperCase());
  return have >= 0 && have >= roles.indexOf(min);
}
