/**
 * Screen-pop.
 *
 * `new ScreenPop({ notifier, crmUrls, resolver, extension, settings, lastCallWith?, onContactResolved?, logger })`
 * - `handle(event, replay)`: call for every bus event first, before slower work.
 *   Pop mode (setting `popMode`): 'ring' pops a live inbound `ringing` for this extension, 'answer'
 *   pops the `answered` this extension took, 'off' never pops (once per call, not under do-not-disturb,
 *   never for replay or a call answered elsewhere); the other events -> `notifier.withdraw(popId)`.
 *   When a remote CRM lookup names an unknown caller later: `withdraw(popId)` then `show()` with the same popId.
 * - `withdrawAll()` on sign-out, quit and resync.
 * Ports for the glue: `Notifier { show(pop), withdraw(popId) }` (clicks open `pop.clickUrl` through the
 * openExternal gate), `CrmUrls { contactUrl(contact), newContactUrl(e164) }` (null when no CRM).
 */
export { ScreenPop, ago, type Notifier, type CrmUrls, type PopNotification, type PopMatch, type PopAction, type ScreenPopOptions } from './screenpop.js';
