/**
 * Screen-pop.
 *
 * `new ScreenPop({ notifier, crmUrls, resolver, extension, settings, lastCallWith?, onContactResolved?, logger })`
 * - `handle(event, replay)`: call for every bus event first, before slower work.
 *   Live inbound `ringing` for this extension -> `notifier.show(PopNotification)` (once per call,
 *   not under do-not-disturb, never for replay); `answered`/`ended`/`missed` -> `notifier.withdraw(popId)`.
 *   When a remote CRM lookup names an unknown caller later: `withdraw(popId)` then `show()` with the same popId.
 * - `withdrawAll()` on sign-out, quit and resync.
 * Ports for the glue: `Notifier { show(pop), withdraw(popId) }` (clicks open `pop.clickUrl` through the
 * openExternal gate), `CrmUrls { contactUrl(contact), newContactUrl(e164) }` (null when no CRM).
 */
export { ScreenPop, ago, type Notifier, type CrmUrls, type PopNotification, type PopMatch, type ScreenPopOptions } from './screenpop.js';
