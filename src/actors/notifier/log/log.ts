import type { ReceiverConfig } from '../../../config/schema.js';
import type { Logger } from '../../../observability/logger.js';
import { notificationStatus, type Integration } from '../notify.js';

type LogReceiver = Extract<ReceiverConfig, { kind: 'log' }>;

/** Writes each notification to the log: the receiver that works with no configuration at all. */
export function createLogNotifier(receiver: LogReceiver, deps: { logger: Logger }): Pick<Integration, 'target' | 'notifier'> {
  const log = deps.logger.child({ receiver: receiver.name });
  return {
    target: 'log',
    notifier: {
      async send(notification, ctx) {
        log.info(
          { deliveryId: ctx.deliveryId, rule: notification.rule, status: notificationStatus(notification.alerts), alerts: notification.alerts },
          `alert ${notification.rule} ${notificationStatus(notification.alerts)}`,
        );
        return { ok: true };
      },
    },
  };
}
