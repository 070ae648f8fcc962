import { createHash } from "node:crypto";
import type { SagaPlan } from "../domain/plan.js";

/**
 * A hash of a definition's shape: its steps, in order, with what each is (a call, a wait, an
 * event, a sleep, in a group, pivot, with a compensation). Retry policies and timeouts are left
 * out: changing them is safe for running instances. An instance records the hash it started with,
 * so a worker whose code has a different shape under the same `name@version` (a deploy that
 * changed the steps without a new version) does not run it.
 */
export function planShapeHash(plan: SagaPlan): string {
  const shape = plan.steps.map((step) => [
    step.name,
    step.pivot,
    step.hasCompensation,
    step.wait === true,
    step.event ?? null,
    step.sleep?.kind ?? null,
    step.group?.name ?? null,
  ]);
  return createHash("sha256").update(JSON.stringify([plan.name, plan.version, shape])).digest("hex").slice(0, 16);
}

const cache = new WeakMap<SagaPlan, string>();

/** `planShapeHash`, computed once per plan object (definitions are frozen). */
export function shapeOf(definition: { readonly plan: SagaPlan }): string {
  let shape = cache.get(definition.plan);
  if (shape === undefined) {
    shape = planShapeHash(definition.plan);
    cache.set(definition.plan, shape);
  }
  return shape;
}
