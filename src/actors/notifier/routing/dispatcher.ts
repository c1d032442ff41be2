import type { ActorContext } from '../../actor.js';
import { envelope, type MessagePayloads } from '../../../bus/messages.js';
import type { VigilConfig } from '../../../config/load.js';
import type { DeliveryRecord } from '../../../store/store.js';
import { addAlert, flushMessageId, groupDeliverySource, groupId, groupOf, planFlush, routeApplies, type GroupRecord } from '../grouping.js';
import type { Notification } from '../notify.js';
import { deliveryId } from '../outbox.js';
import { compileRouteTree, findRoute, implicitRootRoute, matchRoutes, routeSettings, type CompiledRoute, type RouteSettings } from './route-tree.js';

/** The outbox as the dispatcher uses it: write a delivery first, send it once the group state is stored. */
export interface OutboxWriter {
  /** Stores a pending delivery unless one with this id exists; returns the stored record either way. */
  write(source: string, notification: Notification): Promise<DeliveryRecord>;
  /** Sends a written delivery, or finishes whatever an earlier handling of it left undone. */
  settle(record: DeliveryRecord): Promise<void>;
  /** Whether the receiver wants resolved notifications (send_resolved). */
  sendsResolved(receiver: string): boolean;
}

/** What the dispatcher tells escalation (escalation.ts): it is idempotent, as every call may be repeated. */
export interface EscalationHooks {
  start(groupKey: string, policy: string, notification: Notification): Promise<void>;
  acknowledge(fingerprint: string, by: string): Promise<void>;
  resolve(groupKey: string): Promise<void>;
}

export interface DispatcherDeps extends Pick<ActorContext, 'store' | 'bus' | 'clock' | 'logger'> {
  config(): VigilConfig;
  outbox: OutboxWriter;
  escalations?: EscalationHooks;
}

export interface Dispatcher {
  /** `messageId` names a flush the message makes due at once (see createDispatcher). */
  onNotify(payload: MessagePayloads['alert.notify'], raisedAt: number, messageId: string): Promise<void>;
  onFlush(payload: MessagePayloads['group.flush']): Promise<void>;
  onAcknowledged(payload: MessagePayloads['alert.acknowledged']): Promise<void>;
  /** Re-publishes every stored group's next flush (a crash may have lost it); duplicates are dropped by id. */
  resume(): Promise<void>;
}

/**
 * Routes alerts into aggregation groups and flushes them into the outbox (Alertmanager's dispatcher).
 * A group lives in store.notifierState (kind 'group'); its timer is a delayed `group.flush` named after
 * the group and due time, so a restart resumes it and a stale or repeated timer does nothing twice.
 * A flush a message makes due now (group_wait 0s, or a change after group_interval has passed) runs at
 * once instead of through the bus, and its deliveries are named after that message rather than the due
 * time: its due time is then never stored before the flush, so the group is written once per message.
 *
 * Order within a flush: deliveries are written, escalation started, the group stored, its next timer
 * published, and only then are the deliveries sent. A crash before the group is stored repeats the flush
 * when its message or timer comes again (same delivery ids, nothing twice); after it, a redelivered
 * message or timer only settles those deliveries.
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const log = deps.logger.child({ component: 'dispatcher' });
  const groups = deps.store.notifierState;

  // Recompiled whenever the config object changes (reload); the loader has checked that it compiles.
  let compiled: { config: VigilConfig; tree: CompiledRoute } | undefined;
  const tree = (): CompiledRoute => {
    const config = deps.config();
    if (compiled?.config !== config) compiled = { config, tree: compileRouteTree(config.notifier) };
    return compiled.tree;
  };

  // Updates of one group are serialised in this process: alerts of one group arrive under different keys.
  const locks = new Map<string, Promise<void>>();
  function exclusive(id: string, work: () => Promise<void>): Promise<void> {
    const run = (locks.get(id) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    locks.set(id, tail);
    void tail.then(() => locks.get(id) === tail && locks.delete(id));
    return run;
  }

  /** A message that names its receiver skips the tree: that receiver, at once, grouped by alertname. */
  function explicitRoute(receiver: string): RouteSettings {
    const implicit = compileRouteTree({ route: implicitRootRoute(receiver), default_receiver: receiver });
    return { ...routeSettings(implicit), key: `{}/receiver=${JSON.stringify(receiver)}` };
  }

  /** The group's route as configured now, or as it was stored if a reload removed it. */
  function liveRoute(group: GroupRecord): RouteSettings {
    const live = findRoute(tree(), group.route.key);
    return live ? routeSettings(live) : group.route;
  }

  async function load(id: string): Promise<GroupRecord | undefined> {
    return (await groups.get(id)) as GroupRecord | undefined;
  }

  async function publishFlush(group: GroupRecord): Promise<void> {
    const now = deps.clock.now();
    const message = envelope('group.flush', flushMessageId(group.id, group.dueAt), { groupKey: group.groupKey, due: group.dueAt }, group.id, now);
    await deps.bus.publish([message], { delayMs: Math.max(0, group.dueAt - now) });
  }

  /** The deliveries a completed flush wrote (those that exist), to send or finish. */
  async function deliveriesOf(group: GroupRecord, source: string): Promise<DeliveryRecord[]> {
    const found = await Promise.all(liveRoute(group).receivers.map((r) => deps.store.deliveries.get(deliveryId(source, r))));
    return found.filter((d): d is DeliveryRecord => d !== undefined);
  }

  /** `occasion` names the flush's deliveries: its due time, or the message that made it due at once. */
  async function flush(group: GroupRecord, due: number, occasion: number | string = due): Promise<void> {
    const route = liveRoute(group);
    const config = deps.config();
    const applies = routeApplies(route, group, config.notifier.time_intervals, due);
    const receivers = route.receivers.map((name) => ({ name, sendResolved: deps.outbox.sendsResolved(name) }));
    const plan = planFlush(group, route, applies, receivers, due);
    if (!applies) log.debug({ groupKey: group.groupKey, due }, 'group held back by its route conditions');

    const notifications = plan.notifications.map(
      (n): Notification => ({ receiver: n.receiver, rule: n.rule, groupKey: group.groupKey, groupLabels: group.groupLabels, raisedAt: n.raisedAt, alerts: n.alerts }),
    );
    // An escalated group's first page goes out through escalation step 0, addressed to the people on
    // call; writing it here as well would page the same receiver twice.
    const escalation = plan.firstFiring && route.escalation && deps.escalations && notifications[0] ? route.escalation : undefined;
    const direct = escalation ? [] : notifications;
    const source = groupDeliverySource(group.id, occasion);
    const written = await Promise.all(direct.map((n) => deps.outbox.write(source, n)));
    if (escalation && notifications[0]) await deps.escalations?.start(group.groupKey, escalation, notifications[0]);
    if (plan.next) {
      const next: GroupRecord = { ...plan.next, lastFlushSource: source };
      await groups.put(next);
      await publishFlush(next);
    } else {
      if (route.escalation && group.firstNotifiedAt !== undefined) await deps.escalations?.resolve(group.groupKey);
      await groups.delete(group.id);
    }
    await Promise.all(written.map((d) => deps.outbox.settle(d)));
  }

  /** After a redelivery: the next timer and the last flush's sends may have been cut short by a crash. */
  async function finish(group: GroupRecord): Promise<void> {
    await publishFlush(group);
    if (group.lastFlushSource !== undefined) await Promise.all((await deliveriesOf(group, group.lastFlushSource)).map((d) => deps.outbox.settle(d)));
  }

  return {
    async onNotify({ alert, rule, receiver }, raisedAt, messageId) {
      const routes = receiver !== undefined ? [explicitRoute(receiver)] : matchRoutes(tree(), alert.labels).map(routeSettings);
      for (const route of routes) {
        const { groupKey, groupLabels } = groupOf(route, alert.labels);
        const id = groupId(groupKey);
        await exclusive(id, async () => {
          const now = deps.clock.now();
          const result = addAlert(await load(id), { groupKey, groupLabels, route }, { alert, rule, raisedAt }, now);
          if (!result) {
            log.debug({ groupKey, fingerprint: alert.fingerprint }, 'resolution of an alert no group notified: nothing to send');
            return;
          }
          const { group, changed } = result;
          // Due at once because of this message: the flush stores the group (a redelivery recomputes it).
          if (changed && group.dueAt <= now) return flush(group, group.dueAt, `notify-${messageId}`);
          if (group.dueAt <= now) return flush(group, group.dueAt);
          if (!changed) return finish(group);
          await groups.put(group);
          return publishFlush(group);
        });
      }
    },

    async onFlush({ groupKey, due }) {
      const id = groupId(groupKey);
      await exclusive(id, async () => {
        const group = await load(id);
        if (!group) return;
        if (due === group.dueAt) return flush(group, due);
        // A copy of the flush already done finishes it; any other due time is a stale timer.
        if (due === group.lastFlushAt) return finish(group);
      });
    },

    async onAcknowledged({ fingerprint, by, at }) {
      const all = (await groups.find({ where: { kind: 'group' } })) as GroupRecord[];
      for (const found of all.filter((g) => g.alerts[fingerprint])) {
        await exclusive(found.id, async () => {
          const group = await load(found.id);
          if (!group) return;
          const alerts = Object.values(group.alerts).map((a) => a.alert);
          // Only receivers that were told about the group hear it was acknowledged.
          const told = liveRoute(group).receivers.filter((r) => group.sent[r] !== undefined);
          const written = await Promise.all(
            told.map((receiver) =>
              deps.outbox.write(groupDeliverySource(group.id, `ack-${fingerprint}-${at}`), {
                receiver,
                rule: group.alerts[fingerprint]!.rule,
                groupKey: group.groupKey,
                groupLabels: group.groupLabels,
                acknowledged: { by, at },
                raisedAt: at,
                alerts,
              }),
            ),
          );
          await Promise.all(written.map((d) => deps.outbox.settle(d)));
        });
      }
      await deps.escalations?.acknowledge(fingerprint, by);
    },

    async resume() {
      const all = (await groups.find({ where: { kind: 'group' } })) as GroupRecord[];
      for (const group of all) await publishFlush(group);
      if (all.length) log.info({ count: all.length }, 'aggregation group timers re-published');
    },
  };
}
